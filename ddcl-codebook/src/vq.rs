//! Hard vector quantisation: the VQ-VAE codebook with the options of the usual practice.

use candle_core::{Tensor, Var};
use candle_nn::VarBuilder;

use crate::bank::{Bank, Spec};
use crate::banked::Banked;
use crate::host;
use crate::init::cluster_sizes;
use crate::nearest::{nearest, unit};
use crate::quantizer::{hard_code, LossParts, QuantOutput};
use crate::reseed::write_rows;
use crate::{Result, VqConfig};

/// A hard VQ codebook of K codes (K, D): each latent is replaced by its nearest code.
///
/// In training the decoder's gradient passes to the encoder straight through the rounding
/// (`z + sg(e - z)`, a setting); the codes learn from the codebook loss, or with `ema` from
/// exponential moving averages of the latents they hold:
///
/// ```text
/// n_k <- decay n_k + (1 - decay) hits_k          s_k <- decay s_k + (1 - decay) sum of its latents
/// e_k  = s_k / ((n_k + eps) / (sum_j n_j + K eps) * sum_j n_j)      (Laplace-smoothed sizes)
/// ```
///
/// as vector-quantize-pytorch does. With `dead_threshold > 0`, codes whose `n_k` (the EMA of
/// hits per batch) is below it are replaced, at the start of the next training step, by
/// distinct latents of that step's batch, and their `n_k` restarts at the threshold. Variables:
/// `codes`, `usage` (`n_k`), `initialised`, and with EMA `code_sums` (`s_k`).
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_codebook::{Quantizer, VectorQuantizer, VqConfig};
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let mut cfg = VqConfig::new(16);
/// cfg.ema = true;
/// let mut vq = VectorQuantizer::new(8, &cfg, vb)?;
/// let z = Tensor::randn(0f32, 1., (2, 5, 8), &Device::Cpu)?;
/// let out = vq.quantize(&z, true)?;                       // straight-through, commitment loss
/// assert!(out.parts.commitment.is_some() && out.parts.codebook.is_none());
/// assert_eq!(vq.decode(&out.indices)?.dims(), &[2, 5, 8]);
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug)]
pub struct VectorQuantizer {
    bank: Bank,
    sums: Option<Var>,
    cfg: VqConfig,
}

impl VectorQuantizer {
    /// A quantiser for latents of width `dim` with the settings `cfg`, its variables under `vb`.
    pub fn new(dim: usize, cfg: &VqConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let spec = Spec {
            k: cfg.codes,
            init: cfg.init,
            decay: cfg.decay,
            cosine: cfg.cosine,
            seed: cfg.seed,
            // EMA sums start as the initial codes (with zero sizes), set on the first batch
            ready: !cfg.ema && matches!(cfg.init, crate::CodeInit::Uniform),
        };
        let bank = Bank::new(dim, spec, &vb)?;
        let sums = if cfg.ema {
            let t =
                vb.get_with_hints((cfg.codes, dim), "code_sums", candle_nn::Init::Const(0.0))?;
            Some(Var::from_tensor(&t)?)
        } else {
            None
        };
        Ok(Self {
            bank,
            sums,
            cfg: cfg.clone(),
        })
    }

    /// The codes (K, D) as stored.
    pub fn codes(&self) -> &Tensor {
        self.bank.codes().as_tensor()
    }

    /// The EMA of each code's hits per training batch, (K) (the EMA cluster sizes).
    pub fn usage(&self) -> &Tensor {
        self.bank.usage().tensor()
    }

    /// With EMA, the EMA sums of each code's latents (K, D).
    pub fn code_sums(&self) -> Option<&Tensor> {
        self.sums.as_ref().map(|v| v.as_tensor())
    }

    /// The settings.
    pub fn config(&self) -> &VqConfig {
        &self.cfg
    }

    /// Sets the codes by k-means on the latents `z` (B, N, D), the usage to the cluster sizes
    /// and, with EMA, the sums to codes x sizes.
    pub fn init_from(&mut self, z: &Tensor) -> Result<()> {
        let counts = self.bank.kmeans_init(z)?;
        if let Some(sums) = &self.sums {
            sums.set(&self.codes().broadcast_mul(&counts.unsqueeze(1)?)?)?;
        }
        Ok(())
    }

    /// The first training batch: k-means, or with a uniform init the EMA sums = the codes.
    fn first_batch(&mut self, z: &Tensor) -> Result<()> {
        if self.bank.wants_kmeans()? {
            return self.init_from(z);
        }
        if let Some(sums) = &self.sums {
            sums.set(&self.codes().copy()?)?;
        }
        self.bank.mark_initialised()
    }

    /// Expires dead codes (start of a step); returns how many.
    fn expire(&mut self, z: &Tensor) -> Result<usize> {
        let threshold = self.cfg.dead_threshold;
        if threshold <= 0.0 {
            return Ok(0);
        }
        let zc = self.bank.frame(&z.detach())?;
        let replaced = self.bank.replace_dead(&zc, threshold)?;
        if let Some(sums) = &self.sums {
            write_rows(sums, &replaced.rows, &(&replaced.values * threshold)?)?;
        }
        Ok(replaced.rows.len())
    }

    /// The EMA update of sizes, sums and codes from this batch's framed latents `flat` (M, D)
    /// and their codes `idx` (M).
    fn ema_update(&self, sums: &Var, flat: &Tensor, idx: &Tensor) -> Result<()> {
        let (k, decay, eps) = (self.cfg.codes, self.cfg.decay, self.cfg.eps);
        let usage = self.bank.usage();
        usage.update(&cluster_sizes(idx, k, flat.dtype())?)?;
        let batch_sums = Tensor::zeros((k, flat.dim(1)?), flat.dtype(), flat.device())?
            .index_add(idx, flat, 0)?;
        let next = ((sums.as_tensor() * decay)? + (batch_sums * (1.0 - decay))?)?;
        sums.set(&next)?;
        let n = usage.tensor();
        let total = n.sum_all()?;
        let smoothed =
            ((n + eps)?.broadcast_div(&(&total + k as f64 * eps)?)?).broadcast_mul(&total)?;
        let codes = next.broadcast_div(&smoothed.unsqueeze(1)?)?;
        let codes = if self.cfg.cosine {
            unit(&codes)?
        } else {
            codes
        };
        Ok(self.bank.codes().set(&codes)?)
    }
}

impl Banked for VectorQuantizer {
    fn bank(&self) -> &Bank {
        &self.bank
    }

    /// One training pass: the straight-through (or plain hard) code, the nearest indices, the
    /// codebook and commitment losses; EMA, usage and expiry advance.
    fn train_step(&mut self, z: &Tensor, b: usize, n: usize) -> Result<QuantOutput> {
        if !self.bank.is_initialised()? {
            self.first_batch(z)?;
        }
        let replaced = self.expire(z)?;
        let zc = self.bank.frame(z)?;
        let stored = self.bank.codes().as_tensor();
        let codes = if self.cfg.ema {
            self.bank.frame_codes(&stored.detach())?
        } else {
            self.bank.frame_codes(stored)?
        };
        let flat = zc.flatten_to(1)?;
        let (idx, _) = nearest(&flat, &codes)?;
        let e = codes
            .index_select(&idx, 0)?
            .reshape((b, n, self.bank.dim()))?;
        let commitment = (&zc - e.detach())?.sqr()?.mean_all()?;
        let mut loss = (&commitment * self.cfg.beta)?;
        let codebook = if self.cfg.ema {
            None
        } else {
            let term = (zc.detach() - &e)?.sqr()?.mean_all()?;
            loss = (loss + &term)?;
            Some(host::scalar(&term)?)
        };
        let z_q = if self.cfg.straight_through {
            (&zc + (&e - &zc)?.detach())?
        } else {
            e
        };
        match &self.sums {
            Some(sums) => self.ema_update(sums, &flat.detach(), &idx)?,
            None => {
                let counts = cluster_sizes(&idx, self.cfg.codes, z.dtype())?;
                self.bank.usage().update(&counts)?
            }
        }
        let parts = LossParts {
            commitment: Some(host::scalar(&commitment)?),
            codebook,
            replaced: Some(replaced),
            ..LossParts::default()
        };
        Ok(QuantOutput {
            z_q,
            indices: idx.reshape((b, n))?,
            loss,
            parts,
        })
    }
}

impl candle_nn::Module for VectorQuantizer {
    /// The hard code (B, N, D) of each latent of `z` (B, N, D).
    fn forward(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        hard_code(self, z)
    }
}
