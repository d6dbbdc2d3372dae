//! DDCL as a differentiable codebook: soft codes in training, hard codes at inference.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use ddcl_core::{assign, hard_assignment, AssignConfig, Assignment};

use crate::bank::{Bank, Spec};
use crate::banked::Banked;
use crate::host;
use crate::init::cluster_sizes;
use crate::nearest::nearest;
use crate::quantizer::{hard_code, LossParts, QuantOutput};
use crate::{CodeInit, DdclConfig, Result};

/// A codebook of K codes `e_k` (K, D) trained by the DDCL loss.
///
/// In training each latent `z` (a row of (B, N, D)) is softly assigned to every code,
/// `q_k = softmax_k(-||z - e_k||^2 / tau)`, and replaced by the soft code `z_q = sum_k q_k e_k`:
/// the decoder's gradient reaches the encoder and the codes through `q`, with no
/// straight-through estimator. The loss `beta L_SQ`, `L_SQ = sum_k q_k ||z - e_k||^2`, splits
/// exactly into `L_OLS + V` (reported in [`LossParts`]). At inference a latent gets the hard
/// index `argmax_k q_k = argmin_k ||z - e_k||^2` (the same for every tau) and its code.
///
/// Built the candle way: the variables `codes` (K, D), `usage` (K, the EMA of hits per batch) and
/// `initialised` (1) come from the `VarBuilder`, so a `VarMap` trains and saves them. Only `codes`
/// receives gradients. See [`DdclConfig`] for the temperature and the anti-collapse settings.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_codebook::{DdclCodebook, DdclConfig, Quantizer};
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let mut codebook = DdclCodebook::new(8, &DdclConfig::new(16), vb.pp("codebook"))?;
/// let z = Tensor::randn(0f32, 1., (2, 5, 8), &Device::Cpu)?;   // (B, N, D)
/// let out = codebook.quantize(&z, true)?;                       // soft code, loss, parts
/// let (sq, ols, var) = (out.parts.sq.unwrap(), out.parts.ols.unwrap(), out.parts.var.unwrap());
/// assert!((sq - ols - var).abs() <= 1e-5 * sq);                 // L_SQ = L_OLS + V
/// let hard = codebook.decode(&codebook.encode(&z)?)?;           // (B, N, D), hard codes
/// assert_eq!(hard.dims(), &[2, 5, 8]);
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug)]
pub struct DdclCodebook {
    bank: Bank,
    cfg: DdclConfig,
    step: usize,
}

impl DdclCodebook {
    /// A codebook for latents of width `dim` with the settings `cfg`, its variables under `vb`.
    pub fn new(dim: usize, cfg: &DdclConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let spec = Spec {
            k: cfg.codes,
            init: cfg.init,
            decay: cfg.decay,
            cosine: cfg.cosine,
            seed: cfg.seed,
            ready: matches!(cfg.init, CodeInit::Uniform),
        };
        Ok(Self {
            bank: Bank::new(dim, spec, &vb)?,
            cfg: cfg.clone(),
            step: 0,
        })
    }

    /// The codes (K, D) as stored (not normalised, also with cosine distance).
    pub fn codes(&self) -> &Tensor {
        self.bank.codes().as_tensor()
    }

    /// The EMA of each code's hits per training batch, (K).
    pub fn usage(&self) -> &Tensor {
        self.bank.usage().tensor()
    }

    /// The settings.
    pub fn config(&self) -> &DdclConfig {
        &self.cfg
    }

    /// Training steps taken (calls of `quantize` with `train`).
    pub fn step(&self) -> usize {
        self.step
    }

    /// Whether the codes hold their initial values already (always with [`CodeInit::Uniform`];
    /// with k-means once the first training batch, or [`DdclCodebook::init_from`], set them).
    pub fn is_initialised(&self) -> Result<bool> {
        self.bank.is_initialised()
    }

    /// Sets the codes by k-means on the latents `z` (B, N, D) (the settings of
    /// [`CodeInit::KMeans`], or 10 iterations and seed 0 with a uniform init), and the usage to
    /// the cluster sizes. Needs at least K latents.
    pub fn init_from(&mut self, z: &Tensor) -> Result<()> {
        self.bank.kmeans_init(z).map(|_| ())
    }

    /// The temperature the next training step would use on the latents `z` (B, N, D).
    pub fn tau(&self, z: &Tensor) -> Result<f64> {
        self.bank.check(z)?;
        let (zc, codes) = self.framed(z)?;
        self.tau_of(&zc, &codes)
    }

    /// The soft code `sum_k q_k e_k` (B, N, D) of `z` at the next step's temperature, without
    /// changing any state: what training decodes, for the train/inference gap at evaluation.
    pub fn soft(&self, z: &Tensor) -> Result<Tensor> {
        self.bank.check(z)?;
        let (zc, codes) = self.framed(z)?;
        let (a, _) = self.assignment(&zc, &codes)?;
        Ok(a.reconstruction(&codes)?)
    }

    /// Latents and codes in the frame the distances are taken in.
    fn framed(&self, z: &Tensor) -> Result<(Tensor, Tensor)> {
        Ok((
            self.bank.frame(z)?,
            self.bank.frame_codes(self.bank.codes().as_tensor())?,
        ))
    }

    /// The temperature at the current step for framed latents `zc` and codes.
    fn tau_of(&self, zc: &Tensor, codes: &Tensor) -> Result<f64> {
        let temperature = &self.cfg.temperature;
        let scale = if temperature.relative {
            host::scalar(&nearest(&zc.flatten_to(1)?, codes)?.1.mean_all()?)?
        } else {
            0.0
        };
        Ok(temperature.at(self.step, scale))
    }

    /// The assignment of framed latents to framed codes at the current temperature.
    fn assignment(&self, zc: &Tensor, codes: &Tensor) -> Result<(Assignment, f64)> {
        let tau = self.tau_of(zc, codes)?;
        let cfg = AssignConfig::new(tau)?.with_backend(self.cfg.backend);
        Ok((assign(zc, None, codes, &cfg)?, tau))
    }
}

impl Banked for DdclCodebook {
    fn bank(&self) -> &Bank {
        &self.bank
    }

    /// One training pass: init, re-seeding, soft assignment, loss, usage.
    ///
    /// Dead codes are re-seeded at the start of a step, before the codes enter this step's
    /// graph: changing a variable between a forward pass and its backward would corrupt the
    /// gradients that read it. (The optimiser's moments of a re-seeded code are kept.)
    fn train_step(&mut self, z: &Tensor, b: usize, n: usize) -> Result<QuantOutput> {
        if self.bank.wants_kmeans()? {
            self.bank.kmeans_init(z)?;
        }
        let replaced = if self.cfg.dead_threshold > 0.0 {
            let zc = self.bank.frame(&z.detach())?;
            self.bank
                .replace_dead(&zc, self.cfg.dead_threshold)?
                .rows
                .len()
        } else {
            0
        };
        let (zc, codes) = self.framed(z)?;
        let (a, tau) = self.assignment(&zc, &codes)?;
        let z_q = a.reconstruction(&codes)?;
        let k = self.cfg.codes;
        let scale = if self.cfg.per_dim {
            1.0 / self.bank.dim() as f64
        } else {
            1.0
        };
        let losses = &a.losses;
        let weighted = ((&losses.sq * self.cfg.beta)? + (&losses.var * self.cfg.var_weight)?)?;
        let mut loss = (weighted * scale)?;
        let qbar = a.q.reshape((b * n, k))?.mean(0)?;
        let entropy = qbar
            .clamp(1e-30, 1.0)?
            .log()?
            .mul(&qbar)?
            .sum_all()?
            .neg()?;
        if self.cfg.entropy_weight > 0.0 && k > 1 {
            let weight = self.cfg.entropy_weight / (k as f64).ln();
            loss = (loss - (&entropy * weight)?)?;
        }
        let indices = hard_assignment(&a)?;
        let counts = cluster_sizes(&indices.flatten_all()?, k, z.dtype())?;
        self.bank.usage().update(&counts)?;
        self.step += 1;
        let parts = LossParts {
            sq: Some(host::scalar(&losses.sq)? * scale),
            ols: Some(host::scalar(&losses.ols)? * scale),
            var: Some(host::scalar(&losses.var)? * scale),
            usage_entropy: Some(host::scalar(&entropy)?),
            tau: Some(tau),
            replaced: Some(replaced),
            ..LossParts::default()
        };
        Ok(QuantOutput {
            z_q,
            indices,
            loss,
            parts,
        })
    }
}

impl candle_nn::Module for DdclCodebook {
    /// The hard code (B, N, D) of each latent of `z` (B, N, D).
    fn forward(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        hard_code(self, z)
    }
}
