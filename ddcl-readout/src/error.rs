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
    /// A JSON file (a model's config, a sentence-transformers pooling config) is malformed.
    #[error("{}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// What serde_json said, with line and column.
        message: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("config: {0}")]
    Config(String),
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
    /// Input given to a layer or the trainer is inconsistent.
    #[error("{0}")]
    Input(String),
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

    pub(crate) fn checkpoint(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::Checkpoint {
            path: path.into(),
            message: message.to_string(),
        }
    }
}

/// The result type of ddcl-readout.
pub type Result<T> = std::result::Result<T, Error>;
