//! Typed errors of ddcl-hier.

/// Everything that can go wrong in ddcl-hier.
///
/// Settings out of range come from [`ddcl_readout::check`] as
/// [`ddcl_readout::Error::OutOfRange`] (or [`ddcl_readout::Error::Config`]) naming the key:
///
/// ```
/// use ddcl_hier::{ChunkConfig, Error};
/// let err = ChunkConfig::new(8, 8).unwrap_err();
/// assert!(matches!(&err, Error::Readout(ddcl_readout::Error::OutOfRange { key, .. }) if key == "chunk.overlap"));
/// assert_eq!(err.to_string(), "chunk.overlap must be < chunk.window = 8, got 8");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A setting, the readout layer, an encoder or a file failed (names the key or the path).
    #[error(transparent)]
    Readout(#[from] ddcl_readout::Error),
    /// The prototype mathematics rejected its input.
    #[error(transparent)]
    Core(#[from] ddcl_core::Error),
    /// A candle operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A chunk of `window` content tokens plus the special tokens does not fit the encoder.
    #[error(
        "chunk.window = {window} plus {specials} special tokens exceeds the encoder's max_len {max_len}"
    )]
    Window {
        /// The configured window (content tokens).
        window: usize,
        /// Special tokens added to each chunk (`[CLS]`, `[SEP]`).
        specials: usize,
        /// The encoder's truncation length.
        max_len: usize,
    },
    /// A level was given inputs of another width than the one it was built for.
    #[error("level {level}: inputs of width {got}, expected {expected}")]
    Width {
        /// 1-based level.
        level: usize,
        /// The width the level reads.
        expected: usize,
        /// The width received.
        got: usize,
    },
    /// A token id is not below the encoder's vocabulary size.
    #[error("document {document}: token id {id} out of range for a vocabulary of {vocab}")]
    TokenId {
        /// Index of the document in the call.
        document: usize,
        /// The offending id.
        id: u32,
        /// The vocabulary size.
        vocab: usize,
    },
    /// A call that needs at least one document got none.
    #[error("{what} is empty")]
    Empty {
        /// What was empty.
        what: &'static str,
    },
}

/// The result type of ddcl-hier.
pub type Result<T> = std::result::Result<T, Error>;
