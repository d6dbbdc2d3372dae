//! How an assignment is computed: temperature, implementation and input checks.

use crate::{Error, Result};

/// Which implementation computes the assignment. Both give the same values and gradients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Backend {
    /// Plain candle ops straight from the definitions (autograd through candle's own ops).
    /// Materialises (B, T, K, D) differences: the ground truth for tests and small inputs.
    Reference,
    /// Fused CPU custom ops with their own forward and backward: one GEMM-shaped pass over the
    /// tokens, no (B, T, K, D) intermediate, multi-threaded. f32 and f64 on CPU.
    #[default]
    Fused,
}

/// The smallest temperature accepted: `1 / MIN_TAU` is finite in f32 with a margin, so that
/// `-d / tau` never turns a zero distance into NaN (`0 * inf`). Far below any useful
/// temperature (distances of order 1 at `tau = 1e-30` already give hard assignments).
///
/// ```
/// assert!((1.0 / ddcl_core::MIN_TAU as f32).is_finite());
/// ```
pub const MIN_TAU: f64 = 1e-30;

/// Settings of one soft assignment of tokens to prototypes.
///
/// ```
/// use ddcl_core::{AssignConfig, Backend};
/// let cfg = AssignConfig::new(0.5)?.with_backend(Backend::Reference).with_check_finite(false);
/// assert_eq!(cfg.tau(), 0.5);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AssignConfig {
    tau: f64,
    backend: Backend,
    check_finite: bool,
    simd: bool,
}

impl AssignConfig {
    /// A configuration with temperature `tau` (finite, at least [`MIN_TAU`]), the fused backend
    /// and finiteness checks on.
    ///
    /// ```
    /// use ddcl_core::{AssignConfig, Error, MIN_TAU};
    /// assert!(AssignConfig::new(MIN_TAU).is_ok());
    /// assert!(matches!(AssignConfig::new(1e-45), Err(Error::Temperature { .. })));
    /// ```
    pub fn new(tau: f64) -> Result<Self> {
        if !(tau.is_finite() && tau >= MIN_TAU) {
            return Err(Error::Temperature { tau, min: MIN_TAU });
        }
        Ok(Self {
            tau,
            backend: Backend::default(),
            check_finite: true,
            simd: true,
        })
    }

    /// Chooses the implementation.
    pub fn with_backend(self, backend: Backend) -> Self {
        Self { backend, ..self }
    }

    /// Turns the input checks on or off (on by default). On, the real tokens and the
    /// prototypes are scanned once before any work: NaN or infinity is an
    /// [`Error::NonFinite`], and finite values so large that squared distances could overflow
    /// the dtype (`4 D (max |h| + max |p|)^2` above its largest value, or B·T times it above
    /// f64's, the loss means' accumulator) an [`Error::Overflow`],
    /// so that both backends return finite results for every input they accept. Off, inputs
    /// are not scanned and non-finite results are returned as they come.
    pub fn with_check_finite(self, check_finite: bool) -> Self {
        Self {
            check_finite,
            ..self
        }
    }

    /// Lets the fused backend run its vectorised forward kernel where the CPU has one (on by
    /// default; today AVX-512 for f32 and K <= 64). Off, the portable kernel runs: the same
    /// values to rounding, for comparison and for tests of both.
    ///
    /// ```
    /// use ddcl_core::AssignConfig;
    /// let portable = AssignConfig::new(1.0)?.with_simd(false);
    /// assert!(!portable.simd());
    /// # Ok::<(), ddcl_core::Error>(())
    /// ```
    pub fn with_simd(self, simd: bool) -> Self {
        Self { simd, ..self }
    }

    /// The temperature.
    pub fn tau(&self) -> f64 {
        self.tau
    }

    /// The implementation.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the fused backend may run its vectorised kernel.
    pub fn simd(&self) -> bool {
        self.simd
    }

    /// Whether inputs are checked for NaN and infinity.
    pub fn check_finite(&self) -> bool {
        self.check_finite
    }
}
