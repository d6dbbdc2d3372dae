//! Codebook usage over an evaluation pass: utilisation, perplexity, dead codes, bits.

use candle_core::Tensor;

use crate::{check, Error, Result};

/// Counts how often each code is used over any number of batches of indices.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_codebook::CodebookStats;
/// let mut stats = CodebookStats::new(4)?;
/// stats.add(&Tensor::new(&[[0u32, 1], [1, 1]], &Device::Cpu)?)?;
/// let r = stats.report();
/// assert_eq!((r.used, r.dead, r.utilisation), (2, 2, 0.5));
/// assert_eq!(r.used_bits, 1.0);                                   // log2 of 2 codes used
/// assert!((r.entropy_bits - 0.811_278).abs() < 1e-6);             // H(1/4, 3/4) in bits
/// assert!((r.perplexity - 2f64.powf(r.entropy_bits)).abs() < 1e-12);
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct CodebookStats {
    counts: Vec<u64>,
}

/// What a [`CodebookStats`] saw.
#[derive(Debug, Clone, PartialEq)]
pub struct StatsReport {
    /// Codebook size K.
    pub codes: usize,
    /// Latents counted.
    pub tokens: u64,
    /// Codes used at least once.
    pub used: usize,
    /// `used / K`.
    pub utilisation: f64,
    /// Codes never used: `K - used`.
    pub dead: usize,
    /// `exp(H(p))` of the average usage `p` (1 to K; 0 before any latent).
    pub perplexity: f64,
    /// `H(p)` in bits: the bits per code the usage actually carries.
    pub entropy_bits: f64,
    /// `log2(used)`: the bits per code of the codes used (0 before any latent).
    pub used_bits: f64,
}

impl CodebookStats {
    /// Tracks a codebook of `k` codes.
    pub fn new(k: usize) -> Result<Self> {
        if k == 0 {
            return Err(Error::EmptyCodebook);
        }
        Ok(Self { counts: vec![0; k] })
    }

    /// Counts the code indices of one batch (any shape, integer dtype, each < K).
    pub fn add(&mut self, indices: &Tensor) -> Result<()> {
        let k = self.counts.len();
        for i in check::index_values(indices, k)? {
            self.counts[i as usize] += 1;
        }
        Ok(())
    }

    /// How often each code was used.
    pub fn counts(&self) -> &[u64] {
        &self.counts
    }

    /// The report over everything added so far.
    pub fn report(&self) -> StatsReport {
        let codes = self.counts.len();
        let tokens: u64 = self.counts.iter().sum();
        let used = self.counts.iter().filter(|&&c| c > 0).count();
        let entropy_bits: f64 = self
            .counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / tokens as f64;
                -p * p.log2()
            })
            .sum();
        StatsReport {
            codes,
            tokens,
            used,
            utilisation: used as f64 / codes as f64,
            dead: codes - used,
            perplexity: if tokens == 0 {
                0.0
            } else {
                entropy_bits.exp2()
            },
            entropy_bits,
            used_bits: if used == 0 { 0.0 } else { (used as f64).log2() },
        }
    }
}
