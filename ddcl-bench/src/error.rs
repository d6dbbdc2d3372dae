//! Typed errors of ddcl-bench.

use std::path::PathBuf;

/// Everything that can go wrong in a bench run, naming the file and line where there is one.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The readout crate failed (models, training, YAML).
    #[error(transparent)]
    Readout(#[from] ddcl_readout::Error),
    /// The prototype mathematics failed.
    #[error(transparent)]
    Core(#[from] ddcl_core::Error),
    /// A quantiser or the autoencoder of the codebook experiment failed.
    #[error(transparent)]
    Codebook(#[from] ddcl_codebook::Error),
    /// The hierarchical compressor failed.
    #[error(transparent)]
    Hier(#[from] ddcl_hier::Error),
    /// A candle operation failed.
    #[error(transparent)]
    Candle(#[from] candle_core::Error),
    /// A data file is missing, malformed or unusable.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(": line {l}")).unwrap_or_default())]
    Data {
        /// The file or folder.
        path: PathBuf,
        /// 1-based line, where one applies.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },
    /// A setting is out of range or inconsistent.
    #[error("config: {0}")]
    Config(String),
    /// The output folder cannot be written or replaced.
    #[error("--out {}: {message}", path.display())]
    Output {
        /// The folder.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The probe's L-BFGS solver failed (argmin's message), e.g. a line search that found no
    /// point of sufficient decrease.
    #[error("probe solver: {0}")]
    Solver(String),
    /// Things that must pair up or be present do not: predictions and labels of unequal
    /// length, a baseline on other splits, no test example.
    #[error("{name}: expected {expected}, got {got}")]
    Count {
        /// What was counted.
        name: &'static str,
        /// How many there must be.
        expected: usize,
        /// How many there are.
        got: usize,
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

    pub(crate) fn output(path: impl Into<PathBuf>, message: impl std::fmt::Display) -> Self {
        Self::Output {
            path: path.into(),
            message: message.to_string(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// The result type of ddcl-bench.
pub type Result<T> = std::result::Result<T, Error>;
