//! Settings of the hard vector quantiser.

use crate::check;
use crate::{CodeInit, Error, Result};

/// Settings of a [`VectorQuantizer`](crate::VectorQuantizer), each option of the usual
/// practice its own setting (defaults: the plain VQ-VAE of van den Oord et al.).
///
/// Losses are means over elements, as `torch.nn.functional.mse_loss` takes them:
/// `codebook = mean ||sg(z) - e||^2 / D` (without EMA) plus `beta * commitment`,
/// `commitment = mean ||z - sg(e)||^2 / D`.
///
/// ```
/// use ddcl_codebook::{CodeInit, VqConfig};
/// let mut cfg = VqConfig::new(1024);
/// cfg.ema = true;                                   // EMA codebook, decay 0.8
/// cfg.init = CodeInit::KMeans { iters: 10, seed: 0 };
/// cfg.dead_threshold = 2.0;                         // expire codes under 2 hits per batch
/// cfg.validate()?;
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct VqConfig {
    /// Codebook size K (>= 1).
    pub codes: usize,
    /// Weight beta of the commitment loss (>= 0; default 0.25).
    pub beta: f64,
    /// Pass the decoder's gradient to the encoder straight through the rounding (default on).
    /// Off, the hard code is returned as it is and the encoder learns from the commitment loss
    /// only.
    pub straight_through: bool,
    /// Update the codes by exponential moving averages of their latents instead of a codebook
    /// loss (default off).
    pub ema: bool,
    /// Decay of the EMA of hits per batch (and, with `ema`, of the latents' sums), in [0, 1)
    /// (default 0.8).
    pub decay: f64,
    /// Laplace smoothing of the EMA cluster sizes (> 0; default 1e-5).
    pub eps: f64,
    /// Initial codes.
    pub init: CodeInit,
    /// Replace codes whose EMA hits per batch fall below this by latents of the batch (>= 0;
    /// 0 off, the default).
    pub dead_threshold: f64,
    /// Cosine codebook: latents and codes unit-normalised (default off).
    pub cosine: bool,
    /// Seed of the replacement draws.
    pub seed: u64,
}

impl VqConfig {
    /// Plain VQ with K codes: straight-through, codebook loss, `beta = 0.25`, uniform init, no
    /// expiry, Euclidean; decay 0.8 and eps 1e-5 for when EMA is turned on.
    pub fn new(codes: usize) -> Self {
        Self {
            codes,
            beta: 0.25,
            straight_through: true,
            ema: false,
            decay: 0.8,
            eps: 1e-5,
            init: CodeInit::Uniform,
            dead_threshold: 0.0,
            cosine: false,
            seed: 0,
        }
    }

    /// Checks every setting.
    ///
    /// ```
    /// use ddcl_codebook::{Error, VqConfig};
    /// let mut cfg = VqConfig::new(16);
    /// cfg.decay = 1.0;
    /// assert!(matches!(cfg.validate(), Err(Error::OutOfRange { name: "decay", .. })));
    /// ```
    pub fn validate(&self) -> Result<()> {
        if self.codes == 0 {
            return Err(Error::EmptyCodebook);
        }
        check::non_negative("beta", self.beta)?;
        check::decay("decay", self.decay)?;
        check::positive("eps", self.eps)?;
        check::non_negative("dead_threshold", self.dead_threshold)
    }
}
