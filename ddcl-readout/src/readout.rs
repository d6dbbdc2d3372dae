//! The DDCL readout layer: K learned prototypes that pool token states.

use candle_core::Tensor;
use candle_nn::{Init as Hint, VarBuilder, VarMap};
use ddcl_core::{assign, AssignConfig, Assignment, Backend, Losses};

use crate::check::at_least;
use crate::{Error, Pooling, ReadoutConfig, Result};

/// DDCL-Attention readout: tokens are softly assigned to K prototypes; the summary pools the
/// assignment (and optionally classic modes) over each sequence's real tokens.
///
/// Built the candle way from a `VarBuilder`: the same code initialises a fresh layer (from a
/// `VarMap`, with the config's init hint) or loads one from a checkpoint. Variables:
/// `prototypes` (K, D) and, with a learnable temperature, `log_tau` (1).
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_readout::{DdclReadout, ReadoutConfig};
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let readout = DdclReadout::new(8, &ReadoutConfig::new(4, 1.0)?, vb.pp("readout"))?;
/// let h = Tensor::randn(0f32, 1., (2, 5, 8), &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u8, 1, 1, 0, 0], [1, 1, 1, 1, 1]], &Device::Cpu)?;
/// let out = readout.forward_masked(&h, Some(&mask))?;
/// assert_eq!(out.summary.dims(), &[2, 8]);         // mixture: (B, D)
/// assert_eq!(out.assignment.q.dims(), &[2, 5, 4]);  // q: (B, T, K)
/// assert_eq!(out.reconstruction()?.dims(), &[2, 5, 8]);
/// // as a `candle_nn::Module`: the summary, every token real
/// use candle_nn::Module;
/// assert_eq!(readout.forward(&h)?.dims(), &[2, 8]);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct DdclReadout {
    prototypes: Tensor,
    log_tau: Option<Tensor>,
    cfg: ReadoutConfig,
    hidden: usize,
    name: String,
}

/// What a forward pass gives: the summary, the assignment (q, distances, loss terms) and the
/// prototypes it used.
#[derive(Debug, Clone)]
pub struct ReadoutOutput {
    /// The pooled sequences, (B, width): the configured modes, flattened and concatenated.
    pub summary: Tensor,
    /// Soft assignment q (B, T, K), distances, per-token and mean losses L_SQ, L_OLS, V.
    pub assignment: Assignment,
    /// The prototypes (K, D).
    pub prototypes: Tensor,
    /// The temperature used.
    pub tau: f64,
}

impl ReadoutOutput {
    /// The per-token reconstruction `hhat = q P`, (B, T, D); zero on padding.
    pub fn reconstruction(&self) -> Result<Tensor> {
        Ok(self.assignment.reconstruction(&self.prototypes)?)
    }

    /// The mean loss terms `L_SQ`, `L_OLS`, `V`.
    pub fn losses(&self) -> &Losses {
        &self.assignment.losses
    }
}

impl DdclReadout {
    /// A readout over hidden states of size `hidden` with the settings in `cfg`.
    pub fn new(hidden: usize, cfg: &ReadoutConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        at_least("readout: hidden size", hidden, 1)?;
        // K x D is checked before the variable builder allocates it
        ddcl_core::check_bank(cfg.prototypes, hidden)?;
        let hint = Hint::Randn {
            mean: 0.0,
            stdev: cfg.init_std,
        };
        let prototypes = vb.get_with_hints((cfg.prototypes, hidden), "prototypes", hint)?;
        let log_tau = if cfg.learn_tau {
            Some(vb.get_with_hints(1, "log_tau", Hint::Const(cfg.tau.ln()))?)
        } else {
            None
        };
        Ok(Self {
            prototypes,
            log_tau,
            cfg: cfg.clone(),
            hidden,
            name: format!("{}prototypes", prefix(&vb)),
        })
    }

    /// The same layer returning other pooling modes.
    pub fn with_pooling(mut self, pooling: Vec<Pooling>) -> Result<Self> {
        self.cfg.pooling = pooling;
        self.cfg.validate()?;
        Ok(self)
    }

    /// The prototypes (K, D).
    pub fn prototypes(&self) -> &Tensor {
        &self.prototypes
    }

    /// The settings.
    pub fn config(&self) -> &ReadoutConfig {
        &self.cfg
    }

    /// Hidden size D.
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Width of the summary per sequence.
    pub fn width(&self) -> usize {
        self.cfg.width(self.hidden)
    }

    /// The current temperature.
    pub fn tau(&self) -> Result<f64> {
        match &self.log_tau {
            Some(t) => Ok(t
                .exp()?
                .to_dtype(candle_core::DType::F64)?
                .to_vec1::<f64>()?[0]),
            None => Ok(self.cfg.tau),
        }
    }

    /// Full name of the prototype variable in its `VarMap` (`<prefix>.prototypes`).
    pub fn prototypes_name(&self) -> &str {
        &self.name
    }

    /// Seeds the prototypes by k-means++ on a sample of encoder outputs `h` (B, T, D) with its
    /// `mask`, writing them into `varmap` (the map this layer was built from).
    pub fn init_kmeans_pp(
        &self,
        varmap: &mut VarMap,
        h: &Tensor,
        mask: Option<&Tensor>,
        seed: u64,
    ) -> Result<()> {
        self.check_hidden(h)?;
        let p = ddcl_core::kmeans_pp(h, mask, self.cfg.prototypes, seed)?
            .to_dtype(self.prototypes.dtype())?;
        let known = varmap
            .data()
            .lock()
            .map_err(|_| Error::Poisoned)?
            .contains_key(&self.name);
        if !known {
            return Err(Error::Missing {
                what: "k-means++: the given VarMap",
                name: self.name.clone(),
            });
        }
        varmap.set_one(&self.name, p)?;
        Ok(())
    }

    /// Reads out `h` (B, T, D): `mask` (B, T) marks real tokens (any dtype, non-zero = real);
    /// `None` means every token is real. `candle_nn::Module::forward` gives the summary of
    /// this with `None`.
    pub fn forward_masked(&self, h: &Tensor, mask: Option<&Tensor>) -> Result<ReadoutOutput> {
        self.check_hidden(h)?;
        let backend = if h.device().is_cpu() {
            Backend::Fused
        } else {
            Backend::Reference
        };
        let (assignment, tau) = match &self.log_tau {
            None => {
                let cfg = AssignConfig::new(self.cfg.tau)?
                    .with_backend(backend)
                    .with_check_finite(self.cfg.check_finite);
                (assign(h, mask, &self.prototypes, &cfg)?, self.cfg.tau)
            }
            Some(log_tau) => self.assign_learnable(h, mask, log_tau, backend)?,
        };
        let parts = self
            .cfg
            .pooling
            .iter()
            .map(|&mode| self.pool(mode, h, &assignment))
            .collect::<Result<Vec<_>>>()?;
        Ok(ReadoutOutput {
            summary: Tensor::cat(&parts, 1)?,
            assignment,
            prototypes: self.prototypes.clone(),
            tau,
        })
    }

    /// A learnable temperature through the scaling `d / tau = ||h s - p s||^2` with
    /// `s = tau^(-1/2)`: the assignment is taken at temperature 1 on scaled inputs and the
    /// distances and losses scaled back, so gradients reach `log_tau` through candle's autograd.
    fn assign_learnable(
        &self,
        h: &Tensor,
        mask: Option<&Tensor>,
        log_tau: &Tensor,
        backend: Backend,
    ) -> Result<(Assignment, f64)> {
        let log_tau = log_tau.to_dtype(h.dtype())?;
        let scale = (&log_tau * -0.5)?.exp()?;
        let tau = log_tau.exp()?;
        let cfg = AssignConfig::new(1.0)?
            .with_backend(backend)
            .with_check_finite(self.cfg.check_finite);
        let a = assign(
            &h.broadcast_mul(&scale)?,
            mask,
            &self.prototypes.broadcast_mul(&scale)?,
            &cfg,
        )?;
        let up = |t: &Tensor| t.broadcast_mul(&tau);
        let scalar = |t: &Tensor| -> Result<Tensor> { Ok(up(&t.unsqueeze(0)?)?.squeeze(0)?) };
        let assignment = Assignment {
            dist: up(&a.dist)?,
            token_losses: up(&a.token_losses)?,
            losses: Losses {
                sq: scalar(&a.losses.sq)?,
                ols: scalar(&a.losses.ols)?,
                var: scalar(&a.losses.var)?,
            },
            ..a
        };
        Ok((assignment, self.tau()?))
    }

    fn pool(&self, mode: Pooling, h: &Tensor, a: &Assignment) -> Result<Tensor> {
        let p = &self.prototypes;
        let pooled = match mode.summary() {
            Some(s) => a.summary(s, h, p)?,
            None => mode.pool(h, &a.mask)?,
        };
        Ok(pooled.flatten_from(1)?)
    }

    fn check_hidden(&self, h: &Tensor) -> Result<()> {
        match h.dims() {
            [_, _, d] if *d == self.hidden => Ok(()),
            dims => Err(ddcl_core::Error::Shape {
                name: "hidden",
                expected: format!("(B, T, D) with D = {}", self.hidden),
                got: dims.to_vec(),
            }
            .into()),
        }
    }
}

/// `vb.prefix()` with a trailing dot when non-empty.
fn prefix(vb: &VarBuilder) -> String {
    let p = vb.prefix();
    if p.is_empty() {
        p
    } else {
        format!("{p}.")
    }
}

impl candle_nn::Module for DdclReadout {
    /// The summary of `xs` (B, T, D) with every token real.
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        self.forward_masked(xs, None)
            .map(|o| o.summary)
            .map_err(candle_core::Error::wrap)
    }
}
