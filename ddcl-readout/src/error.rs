//! Typed errors of ddcl-readout.

use std::path::PathBuf;

/// Everything that can go wrong in ddcl-readout, naming what was wrong and where.
///
/// ```
/// use ddcl_readout::{Error, ReadoutConfig};
/// let err = ReadoutConfig::from_yaml("prototypes: 4\ntau: 1.0\ntemprature: 2.0\n").unwrap_err();
/// assert!(matches!(err, Error::Yaml { .. }));
/// assert!(err.to_string().contains("temprature"));
/// ```
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The prototype mathematics rejected its input.
    #[error(transparent)]
    Core(#[from] ddcl_core::Error),
    /// A candle operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A YAML document is malformed, has an unknown key or a value of the wrong type.
    #[error("{where_}: {message}")]
    Yaml {
        /// The file, or `<string>`.
        where_: String,
        /// What serde_yaml said, with line and column.
        message: String,
    },
    /// A JSON file (a model's config, a sentence-transformers pooling config) is malformed, or
    /// a record cannot be written as JSON.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde_json said, with line and column.
        message: String,
    },
    /// A setting is missing or inconsistent with another, in a way [`Error::OutOfRange`] does
    /// not describe.
    #[error("config: {key}: {message}")]
    Config {
        /// The setting, e.g. `train.checkpoint`.
        key: String,
        /// What is wrong and how to fix it.
        message: String,
    },
    /// A number (a setting, a size, a length) is outside the range it must lie in.
    ///
    /// ```
    /// use ddcl_readout::{Error, ReadoutConfig};
    /// let mut cfg = ReadoutConfig::new(4, 1.0)?;
    /// cfg.init_std = 0.0;
    /// let err = cfg.validate().unwrap_err();
    /// assert!(matches!(&err, Error::OutOfRange { key, value, .. } if key == "readout.init_std" && *value == 0.0));
    /// assert_eq!(err.to_string(), "readout.init_std must be finite and > 0, got 0");
    /// # Ok::<(), Error>(())
    /// ```
    #[error("{key} must be {expected}, got {value}")]
    OutOfRange {
        /// What the number is, e.g. `train.lr_head`.
        key: String,
        /// The number received (counts and sizes as they are, in f64).
        value: f64,
        /// The range, in words, e.g. `finite and > 0` or `in 1..=512`.
        expected: String,
    },
    /// A list that needs at least one element (pooling modes, a batch) has none.
    #[error("{what} is empty")]
    Empty {
        /// The list, e.g. `readout.pooling` or `tokenize: the batch`.
        what: String,
    },
    /// A name is not one of those known.
    #[error("unknown {kind} `{name}`, expected one of {}", known.join(", "))]
    Unknown {
        /// What kind of name, e.g. `pooling`.
        kind: &'static str,
        /// The name received.
        name: String,
        /// The names accepted.
        known: Vec<&'static str>,
    },
    /// A named variable or tensor is missing where it is needed.
    #[error("{what} has no `{name}`")]
    Missing {
        /// Where it was looked for, e.g. `the optimiser state`.
        what: &'static str,
        /// The variable's or tensor's name.
        name: String,
    },
    /// A named tensor has another shape than the one it must have.
    #[error("{name}: shape {got:?}, expected {expected:?}")]
    ShapeMismatch {
        /// The tensor, e.g. `optimiser state optim.m.head.weight`.
        name: String,
        /// The shape it must have.
        expected: Vec<usize>,
        /// The shape it has.
        got: Vec<usize>,
    },
    /// A readout and an encoder disagree on the hidden size D.
    #[error("readout hidden size {readout} != encoder hidden size {encoder}")]
    HiddenSize {
        /// The readout's D.
        readout: usize,
        /// The encoder's D.
        encoder: usize,
    },
    /// A DDCL pooling mode was asked of something without prototypes.
    #[error(
        "pooling `{mode}` needs the prototypes: use a DdclReadout (e.g. one from a training checkpoint)"
    )]
    NeedsPrototypes {
        /// The mode.
        mode: crate::Pooling,
    },
    /// A class label is not below the number of classes.
    #[error("labels: class {class} out of range for {classes} classes")]
    Label {
        /// The largest label of the batch.
        class: usize,
        /// The number of classes.
        classes: usize,
    },
    /// A `VarMap`'s lock is poisoned: a thread panicked while holding it.
    #[error("VarMap lock poisoned (a thread panicked while holding it)")]
    Poisoned,
    /// A model could not be resolved or loaded.
    #[error("model {id}: {message}")]
    Model {
        /// The hub repo id or local directory.
        id: String,
        /// What is missing or wrong.
        message: String,
    },
    /// The tokenizer failed.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// An image could not be read or decoded.
    #[error("image {}: {message}", path.display())]
    Image {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        message: String,
    },
    /// A checkpoint is truncated, corrupt, or does not fit the model.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The timescale condition fails and the policy is to refuse.
    #[error("timescale condition violated: {0}")]
    Timescale(String),
    /// A user data file (CSV, JSON Lines, an image, a class folder) is missing, malformed or
    /// unusable.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(": line {l}")).unwrap_or_default())]
    Data {
        /// The file or folder.
        path: PathBuf,
        /// 1-based line, where one applies.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
}

impl Error {
    pub(crate) fn data(
        path: impl Into<PathBuf>,
        line: Option<usize>,
        message: impl std::fmt::Display,
    ) -> Self {
        Self::Data {
            path: path.into(),
            line,
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn model(id: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Model {
            id: id.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn config(key: impl Into<String>, message: impl std::fmt::Display) -> Self {
        Self::Config {
            key: key.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn empty(what: impl Into<String>) -> Self {
        Self::Empty { what: what.into() }
    }

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::Checkpoint {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// The result type of ddcl-readout.
pub type Result<T> = std::result::Result<T, Error>;
