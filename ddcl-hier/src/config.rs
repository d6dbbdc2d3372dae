//! The compressor's settings (YAML, unknown keys rejected, every number range-checked naming
//! its key).

use std::path::Path;

use ddcl_readout::check::{at_least, config_error, positive_finite, require};
use ddcl_readout::{yaml, ReadoutConfig};
use serde::{Deserialize, Serialize};

use crate::Result;

/// How a document's token ids are cut into chunks (see [`crate::Chunker`]).
///
/// ```
/// use ddcl_hier::ChunkConfig;
/// let cfg = ChunkConfig::new(254, 32)?;
/// assert_eq!((cfg.window, cfg.overlap, cfg.batch), (254, 32, 32));
/// # Ok::<(), ddcl_hier::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChunkConfig {
    /// Content tokens per chunk (≥ 1), not counting the special tokens (`[CLS]`, `[SEP]`) each
    /// chunk gets: `window` + specials must fit the encoder's `max_len`.
    pub window: usize,
    /// Tokens a chunk shares with the one before it (< `window`).
    #[serde(default)]
    pub overlap: usize,
    /// Sentence-final token ids (e.g. the tokenizer's ids of `.`, `!`, `?`): when given, a chunk
    /// ends after the last of them inside its window, if there is one past the overlap.
    #[serde(default)]
    pub sentence_ends: Vec<u32>,
    /// Chunks per encoder forward pass (≥ 1): the bound on the token states held at once.
    #[serde(default = "default_batch")]
    pub batch: usize,
}

fn default_batch() -> usize {
    32
}

impl ChunkConfig {
    /// Windows of `window` tokens overlapping by `overlap`, no sentence cuts, batches of 32.
    pub fn new(window: usize, overlap: usize) -> Result<Self> {
        let cfg = Self {
            window,
            overlap,
            sentence_ends: Vec::new(),
            batch: default_batch(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks `window ≥ 1`, `overlap < window`, `batch ≥ 1`.
    ///
    /// ```
    /// let mut cfg = ddcl_hier::ChunkConfig::new(8, 0)?;
    /// cfg.batch = 0;
    /// assert_eq!(cfg.validate().unwrap_err().to_string(), "chunk.batch must be >= 1, got 0");
    /// # Ok::<(), ddcl_hier::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        at_least("chunk.window", self.window, 1)?;
        require(
            self.overlap < self.window,
            "chunk.overlap",
            self.overlap as f64,
            format!("< chunk.window = {}", self.window),
        )?;
        at_least("chunk.batch", self.batch, 1)?;
        Ok(())
    }
}

/// One level of the hierarchy: a DDCL readout and, for a middle level, how many summaries of
/// the level below it reads at a time.
///
/// ```
/// use ddcl_hier::LevelConfig;
/// let level = LevelConfig::new(ddcl_readout::ReadoutConfig::new(8, 1.0)?);
/// assert_eq!(level.group, None);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelConfig {
    /// The level's readout (K prototypes, temperature, summary modes).
    pub readout: ReadoutConfig,
    /// Middle levels only (not the first, which reads the tokens of one chunk, nor the top,
    /// which reads the whole document): consecutive summaries of the level below read as one
    /// unit (≥ 2), e.g. 8 chunks to a section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
}

impl LevelConfig {
    /// A level with this readout and no group.
    pub fn new(readout: ReadoutConfig) -> Self {
        Self {
            readout,
            group: None,
        }
    }
}

/// Settings of a [`crate::HierCompressor`]: the chunking and the levels, bottom first. Level 1
/// reads each chunk's token states; each level above reads the summaries of the one below; the
/// top level's summary is the document vector.
///
/// Keys in errors are YAML paths, `levels[0]` being level 1:
///
/// ```
/// use ddcl_hier::HierConfig;
/// let cfg = HierConfig::from_yaml(
///     "chunk: {window: 30, overlap: 4}
/// levels:
///   - readout: {prototypes: 8, tau: 1.0, pooling: [mixture]}
///   - readout: {prototypes: 4, tau: 1.0, pooling: [mixture]}
/// ",
/// )?;
/// assert_eq!(cfg.levels.len(), 2);
/// let err = HierConfig::from_yaml(
///     "chunk: {window: 30}\nlevels:\n  - readout: {prototypes: 0, tau: 1.0}\n  - readout: {prototypes: 4, tau: 1.0}\n",
/// )
/// .unwrap_err();
/// assert!(err.to_string().starts_with("levels[0].readout.prototypes must be"), "{err}");
/// # Ok::<(), ddcl_hier::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HierConfig {
    /// The chunking.
    pub chunk: ChunkConfig,
    /// The levels, bottom first (at least two).
    pub levels: Vec<LevelConfig>,
    /// A prototype counts as used in a level's report when its mean occupancy exceeds this
    /// (in [0, 1)).
    #[serde(default = "default_threshold")]
    pub utilisation_threshold: f64,
}

fn default_threshold() -> f64 {
    0.01
}

impl HierConfig {
    /// `chunk` and a two-level hierarchy of these readouts, validated.
    ///
    /// ```
    /// use ddcl_hier::{ChunkConfig, HierConfig};
    /// use ddcl_readout::ReadoutConfig;
    /// let cfg = HierConfig::two_level(ChunkConfig::new(30, 0)?, ReadoutConfig::new(8, 1.0)?, ReadoutConfig::new(4, 1.0)?)?;
    /// assert_eq!(cfg.levels.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn two_level(
        chunk: ChunkConfig,
        level1: ReadoutConfig,
        level2: ReadoutConfig,
    ) -> Result<Self> {
        let cfg = Self {
            chunk,
            levels: vec![LevelConfig::new(level1), LevelConfig::new(level2)],
            utilisation_threshold: default_threshold(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses and validates a YAML document.
    ///
    /// ```
    /// let err = ddcl_hier::HierConfig::from_yaml("chunk: {window: 4, windw: 2}\nlevels: []\n").unwrap_err();
    /// assert!(err.to_string().contains("windw"));
    /// ```
    pub fn from_yaml(text: &str) -> Result<Self> {
        Ok(yaml::parse(text)?)
    }

    /// Reads, parses and validates a YAML file; errors name the file.
    ///
    /// ```no_run
    /// let cfg = ddcl_hier::HierConfig::from_yaml_file(std::path::Path::new("configs/hier.yaml"))?;
    /// # Ok::<(), ddcl_hier::Error>(())
    /// ```
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        Ok(yaml::read(path)?)
    }

    /// The settings as YAML (what [`Self::from_yaml`] reads back).
    ///
    /// ```
    /// # use ddcl_hier::{ChunkConfig, HierConfig};
    /// # use ddcl_readout::ReadoutConfig;
    /// let cfg = HierConfig::two_level(ChunkConfig::new(30, 0)?, ReadoutConfig::new(8, 1.0)?, ReadoutConfig::new(4, 1.0)?)?;
    /// assert_eq!(HierConfig::from_yaml(&cfg.to_yaml()?)?, cfg);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn to_yaml(&self) -> Result<String> {
        Ok(yaml::to_string(self)?)
    }

    /// Checks the chunking, at least two levels, each level's readout (keys prefixed with
    /// `levels[i].`), and the groups: none on the first and the top level, ≥ 2 on the others.
    ///
    /// ```
    /// # use ddcl_hier::{ChunkConfig, HierConfig};
    /// # use ddcl_readout::ReadoutConfig;
    /// let mut cfg = HierConfig::two_level(ChunkConfig::new(30, 0)?, ReadoutConfig::new(8, 1.0)?, ReadoutConfig::new(4, 1.0)?)?;
    /// cfg.levels[1].group = Some(4);
    /// assert_eq!(cfg.validate().unwrap_err().to_string(),
    ///     "config: levels[1].group: the top level reads the whole document: remove `group`");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        Ok(yaml::Validated::check(self)?)
    }
}

impl yaml::Validated for HierConfig {
    fn check(&self) -> ddcl_readout::Result<()> {
        self.chunk.validate().map_err(readout_error)?;
        let t = self.utilisation_threshold;
        require(
            (0.0..1.0).contains(&t),
            "utilisation_threshold",
            t,
            "in [0, 1)",
        )?;
        let n = self.levels.len();
        at_least("levels (their number)", n, 2)?;
        for (i, level) in self.levels.iter().enumerate() {
            let key = format!("levels[{i}]");
            positive_finite(&format!("{key}.readout.tau"), level.readout.tau)?;
            level.readout.validate().map_err(|e| prefixed(&key, e))?;
            let group = format!("{key}.group");
            match level.group {
                Some(_) if i == 0 => {
                    return Err(config_error(
                        &group,
                        "level 1 reads one chunk's tokens (set chunk.window): remove `group`",
                    ))
                }
                Some(_) if i + 1 == n => {
                    return Err(config_error(
                        &group,
                        "the top level reads the whole document: remove `group`",
                    ))
                }
                Some(g) => {
                    at_least(&group, g, 2)?;
                }
                None if i > 0 && i + 1 < n => {
                    return Err(config_error(
                        &group,
                        "a middle level needs `group`: how many summaries of the level below it reads at a time",
                    ))
                }
                None => {}
            }
        }
        Ok(())
    }
}

/// The readout error inside a ddcl-hier error, for the YAML check (which returns the readout's).
fn readout_error(e: crate::Error) -> ddcl_readout::Error {
    match e {
        crate::Error::Readout(e) => e,
        other => config_error("chunk", other),
    }
}

/// A readout config's error with its key under `prefix` (`readout.prototypes` →
/// `levels[1].readout.prototypes`).
fn prefixed(prefix: &str, e: ddcl_readout::Error) -> ddcl_readout::Error {
    use ddcl_readout::Error as E;
    match e {
        E::OutOfRange {
            key,
            value,
            expected,
        } => E::OutOfRange {
            key: format!("{prefix}.{key}"),
            value,
            expected,
        },
        E::Config { key, message } => E::Config {
            key: format!("{prefix}.{key}"),
            message,
        },
        E::Empty { what } => E::Empty {
            what: format!("{prefix}.{what}"),
        },
        other => other,
    }
}
