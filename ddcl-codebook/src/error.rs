//! Typed errors of ddcl-codebook.

use candle_core::DType;

/// Everything that can go wrong in ddcl-codebook, naming what was wrong and where.
///
/// Settings are checked when a quantiser is built, inputs before any work on them starts.
///
/// ```
/// use ddcl_codebook::{DdclConfig, Error};
/// let err = DdclConfig::new(0).validate().unwrap_err();
/// assert!(matches!(err, Error::EmptyCodebook));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A codebook with no codes (K = 0).
    #[error("codebook size K must be at least 1, got 0")]
    EmptyCodebook,
    /// A temperature (or temperature factor) that is not finite and > 0.
    #[error("{name} must be finite and > 0, got {value}")]
    Temperature {
        /// Which temperature setting.
        name: &'static str,
        /// The value received.
        value: f64,
    },
    /// A numeric setting outside its allowed range.
    #[error("{name} must be {expected}, got {value}")]
    OutOfRange {
        /// Which setting.
        name: &'static str,
        /// The allowed range, in words, e.g. `in [0, 1)`.
        expected: &'static str,
        /// The value received.
        value: f64,
    },
    /// FSQ levels: an empty list.
    #[error("FSQ needs at least one level")]
    NoLevels,
    /// FSQ levels: a level below 2.
    #[error("FSQ level {index} must be at least 2, got {level}")]
    Level {
        /// Position of the level in the list.
        index: usize,
        /// The level received.
        level: u32,
    },
    /// FSQ levels whose product (the codebook size) is too large for exact index arithmetic.
    #[error("FSQ codebook size {size} exceeds {max}")]
    TooManyCodes {
        /// The product of the levels.
        size: u64,
        /// The largest size supported.
        max: u64,
    },
    /// A tensor has the wrong rank or size.
    #[error("{name}: expected shape {expected}, got {got:?}")]
    Shape {
        /// Which argument.
        name: &'static str,
        /// The expected shape, in words.
        expected: String,
        /// The shape received.
        got: Vec<usize>,
    },
    /// A tensor has a dtype that is not allowed here.
    #[error("{name}: dtype {got:?} not allowed here, expected {expected}")]
    DType {
        /// Which argument.
        name: &'static str,
        /// What is accepted, in words.
        expected: &'static str,
        /// The dtype received.
        got: DType,
    },
    /// A tensor lives on another device than the codebook.
    #[error("{name}: on {got}, the codebook is on {expected}")]
    Device {
        /// Which argument.
        name: &'static str,
        /// The codebook's device, in words.
        expected: String,
        /// The argument's device, in words.
        got: String,
    },
    /// A code index at or above the codebook size.
    #[error("{name}: index {index} out of range for a codebook of {size} codes")]
    Index {
        /// Which argument.
        name: &'static str,
        /// The first offending index.
        index: i64,
        /// The codebook size K.
        size: usize,
    },
    /// An error of the prototype mathematics (assignment, k-means++).
    #[error(transparent)]
    Core(#[from] ddcl_core::Error),
    /// An error raised by candle itself.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
}

/// Result type of ddcl-codebook.
pub type Result<T> = std::result::Result<T, Error>;
