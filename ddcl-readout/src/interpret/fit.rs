//! Prototypes fitted on token states without labels, for reading a frozen encoder: the
//! crate's [`fit_prototypes`] on the full batch at a tenth of the nearest-distance scale.

use candle_core::Tensor;
use candle_nn::{VarBuilder, VarMap};

use crate::check::at_least;
use crate::{fit_prototypes, Batching, DdclReadout, PrototypeFit, ReadoutConfig, Result};

/// How [`fit_readout`] fits the prototypes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitSettings {
    /// Number of prototypes K.
    pub prototypes: usize,
    /// The temperature; `None`: a tenth of [`crate::nearest_sq_distance`] of the tokens to the
    /// k-means++ seeds ([`AUTO_TAU_SHARE`]).
    pub tau: Option<f64>,
    /// AdamW steps on L_SQ after the seeding (0: the k-means++ seeds themselves).
    pub steps: usize,
    /// Learning rate of the prototypes.
    pub lr: f64,
    /// Seed of the k-means++ seeding.
    pub seed: u64,
}

impl Default for FitSettings {
    /// K = 8, automatic temperature, 200 steps at 0.05, seed 0.
    fn default() -> Self {
        Self {
            prototypes: 8,
            tau: None,
            steps: 200,
            lr: 0.05,
            seed: 0,
        }
    }
}

/// The share of [`crate::nearest_sq_distance`] that the automatic temperature is. At the full
/// distance scale every `q` lies near `1/K` (MiniLM on 30 Rotten Tomatoes sentences, K = 8:
/// the largest `q` of every token about 0.14) and the steps on L_SQ pull all prototypes toward
/// the token mean, one of them out of use; at a tenth the assignments are sharp and the
/// prototypes gather distinct groups of tokens.
pub const AUTO_TAU_SHARE: f64 = 0.1;

/// A readout of `settings.prototypes` prototypes fitted on token states `h` (B, T, D) with
/// `mask` (B, T; `None`: all real): k-means++ seeds, then `steps` full-batch AdamW steps on
/// L_SQ.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_readout::interpret::{fit_readout, FitSettings};
/// let h = Tensor::randn(0f32, 1., (4, 6, 8), &Device::Cpu)?;
/// let s = FitSettings { prototypes: 3, steps: 5, ..FitSettings::default() };
/// let readout = fit_readout(&h, None, &s)?;
/// assert_eq!(readout.prototypes().dims(), &[3, 8]);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn fit_readout(
    h: &Tensor,
    mask: Option<&Tensor>,
    settings: &FitSettings,
) -> Result<DdclReadout> {
    at_least("fit: prototypes", settings.prototypes, 1)?;
    let fit = PrototypeFit {
        steps: settings.steps,
        lr: settings.lr,
        batching: Batching::Full,
        tau: settings.tau,
        tau_share: AUTO_TAU_SHARE,
        seeding_rows: None,
        seed: settings.seed,
    };
    // the temperature given here is replaced by the fit's
    let cfg = ReadoutConfig::new(settings.prototypes, 1.0)?;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, h.dtype(), h.device());
    fit_prototypes(h, mask, &cfg, &varmap, vb.pp("readout"), &fit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{DType, Device};

    #[test]
    fn full_batch_at_a_tenth_of_the_nearest_distance() {
        let v: Vec<f32> = (0..6 * 7 * 8).map(|i| (i as f32 * 0.37).sin()).collect();
        let h = Tensor::from_vec(v, (6, 7, 8), &Device::Cpu).unwrap();
        let settings = FitSettings {
            prototypes: 3,
            steps: 20,
            ..FitSettings::default()
        };
        let readout = fit_readout(&h, None, &settings).unwrap();
        let seeds = crate::seed_prototypes(&h, None, 3, &PrototypeFit::default()).unwrap();
        assert_eq!(readout.config().tau, (AUTO_TAU_SHARE * seeds.tau).max(1e-6));
        let fit = PrototypeFit {
            steps: 20,
            tau_share: AUTO_TAU_SHARE,
            ..PrototypeFit::default()
        };
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let cfg = ReadoutConfig::new(3, 1.0).unwrap();
        let expected = fit_prototypes(&h, None, &cfg, &varmap, vb, &fit).unwrap();
        let bits = |t: &Tensor| {
            let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            v.into_iter().map(f32::to_bits).collect::<Vec<_>>()
        };
        assert_eq!(bits(readout.prototypes()), bits(expected.prototypes()));
    }
}
