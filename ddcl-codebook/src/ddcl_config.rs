//! Settings of the DDCL codebook.

use ddcl_core::Backend;

use crate::check;
use crate::{CodeInit, Error, Result, TauSchedule, Temperature};

/// Settings of a [`DdclCodebook`](crate::DdclCodebook). Every anti-collapse mechanism is its own
/// setting, off by default, so that an experiment can report each variant.
///
/// The loss is `s (beta L_SQ + var_weight V) - entropy_weight H(qbar) / ln K`, where
/// `s = 1 / D` with `per_dim` (the per-element scale of a VQ commitment loss) and 1 otherwise,
/// and `H(qbar)` is the entropy of the batch's mean assignment.
///
/// ```
/// use ddcl_codebook::{DdclConfig, TauSchedule, Temperature};
/// let mut cfg = DdclConfig::new(256);
/// cfg.temperature = Temperature::relative(TauSchedule::Constant(0.5), 1e-6);
/// cfg.dead_threshold = 1.0;
/// cfg.validate()?;
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct DdclConfig {
    /// Codebook size K (>= 1).
    pub codes: usize,
    /// Weight beta on `L_SQ` (>= 0).
    pub beta: f64,
    /// Extra weight on `V` (>= -beta): negative values weaken the pull of a latent's codes
    /// toward each other; `-beta` leaves `beta L_OLS`.
    pub var_weight: f64,
    /// The temperature over training.
    pub temperature: Temperature,
    /// Divide `L_SQ` and its parts by D (default on).
    pub per_dim: bool,
    /// Cosine distance: latents and codes are unit-normalised before the assignment.
    pub cosine: bool,
    /// Initial codes.
    pub init: CodeInit,
    /// Weight on the (normalised) entropy of the mean assignment, to be maximised (>= 0; 0 off).
    pub entropy_weight: f64,
    /// Re-seed codes whose EMA hits per batch fall below this from the batch's latents
    /// (>= 0; 0 off).
    pub dead_threshold: f64,
    /// Decay of the EMA of hits per batch, in [0, 1).
    pub decay: f64,
    /// The assignment's implementation.
    pub backend: Backend,
    /// Seed of the re-seeding draws.
    pub seed: u64,
}

impl DdclConfig {
    /// K codes, `beta = 1`, a constant temperature of 1, losses per dimension, Euclidean, uniform
    /// init, no entropy term, no re-seeding, usage decay 0.8, the fused backend, seed 0.
    pub fn new(codes: usize) -> Self {
        Self {
            codes,
            beta: 1.0,
            var_weight: 0.0,
            temperature: Temperature::fixed(TauSchedule::Constant(1.0)),
            per_dim: true,
            cosine: false,
            init: CodeInit::Uniform,
            entropy_weight: 0.0,
            dead_threshold: 0.0,
            decay: 0.8,
            backend: Backend::Fused,
            seed: 0,
        }
    }

    /// Checks every setting.
    ///
    /// ```
    /// use ddcl_codebook::{DdclConfig, Error};
    /// let mut cfg = DdclConfig::new(16);
    /// cfg.beta = -1.0;
    /// assert!(matches!(cfg.validate(), Err(Error::OutOfRange { name: "beta", .. })));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.codes == 0 {
            return Err(Error::EmptyCodebook);
        }
        check::non_negative("beta", self.beta)?;
        if !(self.var_weight.is_finite() && self.var_weight >= -self.beta) {
            return Err(Error::OutOfRange {
                name: "var_weight",
                expected: "finite and >= -beta",
                value: self.var_weight,
            });
        }
        self.temperature.validate()?;
        check::non_negative("entropy_weight", self.entropy_weight)?;
        check::non_negative("dead_threshold", self.dead_threshold)?;
        check::decay("decay", self.decay)
    }
}
