//! Typed errors of ddcl-core.

use candle_core::DType;

/// Everything that can go wrong in ddcl-core, naming what was wrong and where.
///
/// ```
/// use ddcl_core::{AssignConfig, Error};
/// let err = AssignConfig::new(0.0).unwrap_err();
/// assert!(matches!(err, Error::Temperature { tau, .. } if tau == 0.0));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A tensor has the wrong rank or size.
    #[error("{name}: expected shape {expected}, got {got:?}")]
    Shape {
        /// Which argument.
        name: &'static str,
        /// The expected shape, in words, e.g. `(B, T, D) with D = 384`.
        expected: String,
        /// The shape received.
        got: Vec<usize>,
    },
    /// Two tensors that must share a dtype do not, or a dtype is not supported.
    #[error("{name}: dtype {got:?} not allowed here, expected {expected}")]
    DType {
        /// Which argument.
        name: &'static str,
        /// What is accepted, in words.
        expected: &'static str,
        /// The dtype received.
        got: DType,
    },
    /// Tensors live on different devices, or the chosen path cannot run on this device.
    #[error("{name}: {reason}")]
    Device {
        /// Which argument or path.
        name: &'static str,
        /// What is wrong with the device.
        reason: String,
    },
    /// The temperature is not a finite number of at least [`MIN_TAU`](crate::MIN_TAU) (and,
    /// for a dtype narrower than f32, one whose inverse the dtype holds).
    #[error("temperature must be finite and >= {min:e}, got {tau}")]
    Temperature {
        /// The temperature received.
        tau: f64,
        /// The smallest temperature accepted here.
        min: f64,
    },
    /// A learning rate or another positive hyper-parameter is not a finite positive number.
    #[error("{name} must be finite and > 0, got {value}")]
    NotPositive {
        /// Which parameter.
        name: &'static str,
        /// The value received.
        value: f64,
    },
    /// An input holds NaN or infinite values (reported only when finiteness checks are on).
    #[error("{name} holds {count} non-finite value(s), the first at flat index {first}")]
    NonFinite {
        /// Which argument.
        name: &'static str,
        /// How many values are NaN or infinite.
        count: usize,
        /// Row-major index of the first one.
        first: usize,
    },
    /// There are no prototypes (K = 0).
    #[error("prototypes: K must be at least 1, got 0")]
    NoPrototypes,
    /// A size (prototypes, elements of a bank) is larger than ddcl-core allocates: see
    /// [`MAX_PROTOTYPES`](crate::MAX_PROTOTYPES) and [`MAX_ELEMENTS`](crate::MAX_ELEMENTS).
    #[error("{name}: {value} is more than the {max} allowed")]
    TooLarge {
        /// What was counted, e.g. `prototypes (K)` or `prototype bank K x D`.
        name: &'static str,
        /// The size asked for (saturated at `u128::MAX` where it overflows).
        value: u128,
        /// The largest size allowed.
        max: u128,
    },
    /// Finite inputs whose squared distances could overflow the dtype: with the finiteness
    /// check on, inputs are refused when a per-token term `4 D (max |h| + max |p|)^2` exceeds
    /// the dtype's largest value, or the sum of N = B·T such terms (the loss means' f64
    /// accumulator) exceeds f64's (see the numerics section of [`math`](crate::math)).
    #[error(
        "{dtype:?} inputs too large: {bound:e} (4 D (max|hidden| + max|prototypes|)^2, times the \
         B·T tokens summed when above f64's range) exceeds {max:e}; rescale the hidden states or \
         prototypes"
    )]
    Overflow {
        /// The dtype of the inputs.
        dtype: DType,
        /// The bound exceeded: `4 D (max |h| + max |p|)^2`, or B·T times it.
        bound: f64,
        /// The largest finite value it was held to: the dtype's, or f64's for the sum.
        max: f64,
    },
    /// k-means++ seeding was asked for more prototypes than its sample has real tokens.
    #[error("k-means++ needs at least K = {k} real tokens, the sample has {real}")]
    TooFewTokens {
        /// The number of prototypes asked for.
        k: usize,
        /// The real tokens in the sample.
        real: usize,
    },
    /// An error raised by candle itself.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Result type of ddcl-core.
pub type Result<T> = std::result::Result<T, Error>;
