//! The configuration of a training run, as written in `configs/*.yaml`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::check::{at_least, non_negative_finite, positive_finite, require};
use crate::config::default_true;
use crate::{yaml, ReadoutConfig, Result, Trainable};

/// Which kind of encoder a run uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// A BERT-family text encoder ([`crate::TextEncoder`]).
    Text,
    /// A DINOv2 vision transformer.
    Image,
}

/// The encoder of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Text or image.
    pub kind: ModelKind,
    /// Hub repo id (resolved through the hf-hub cache) or local directory.
    pub id: String,
    /// Truncation length for text (default: the model's own, e.g. 256 for MiniLM).
    #[serde(default)]
    pub max_len: Option<usize>,
}

/// What the trainer does when the timescale condition fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    /// Log a warning and go on.
    #[default]
    Warn,
    /// Stop with [`crate::Error::Timescale`].
    Refuse,
    /// Do not check.
    Off,
}

/// The timescale condition's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimescaleConfig {
    /// Warn, refuse or off.
    #[serde(default)]
    pub policy: Policy,
    /// The bound on `eps = lr_encoder / lr_prototypes`.
    #[serde(default = "default_eps_max")]
    pub eps_max: f64,
}

fn default_eps_max() -> f64 {
    ddcl_core::DEFAULT_EPS_MAX
}

impl Default for TimescaleConfig {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            eps_max: default_eps_max(),
        }
    }
}

/// Optimisation settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Passes over the training data.
    pub epochs: usize,
    /// Sequences (or images) per step.
    pub batch_size: usize,
    /// Learning rate of the encoder, `eta_E`.
    pub lr_encoder: f64,
    /// Learning rate of the prototypes (and a learnable temperature), `eta_P`.
    pub lr_prototypes: f64,
    /// Learning rate of the task head, `eta_H`.
    pub lr_head: f64,
    /// Weight of `L_SQ` in the loss `cross_entropy + lambda * L_SQ`.
    pub lambda: f64,
    /// Which encoder layers train: `frozen`, a number of top layers, or `all`.
    #[serde(default)]
    pub encoder: Trainable,
    /// Decoupled weight decay of AdamW.
    #[serde(default)]
    pub weight_decay: f64,
    /// The timescale condition.
    #[serde(default)]
    pub timescale: TimescaleConfig,
    /// A prototype counts as used when its mean occupancy exceeds this.
    #[serde(default = "default_threshold")]
    pub utilisation_threshold: f64,
    /// Seed of everything random in the run.
    #[serde(default)]
    pub seed: u64,
    /// JSON Lines log of every step and epoch (none if absent).
    #[serde(default)]
    pub log: Option<PathBuf>,
    /// Checkpoint written after every epoch (none if absent).
    #[serde(default)]
    pub checkpoint: Option<PathBuf>,
    /// Also store the encoder's trainable weights in checkpoints.
    #[serde(default = "default_true")]
    pub save_encoder: bool,
}

fn default_threshold() -> f64 {
    0.01
}

/// A whole run: encoder, readout, classes and training.
///
/// ```
/// let cfg = ddcl_readout::RunConfig::from_yaml_file(std::path::Path::new(
///     concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/text.yaml"),
/// ))?;
/// assert_eq!(cfg.model.id, "sentence-transformers/all-MiniLM-L6-v2");
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// The encoder.
    pub model: ModelConfig,
    /// The readout layer.
    pub readout: ReadoutConfig,
    /// Number of classes of the task head.
    pub classes: usize,
    /// Optimisation.
    pub train: TrainConfig,
}

impl RunConfig {
    /// Parses and validates a YAML document.
    pub fn from_yaml(text: &str) -> Result<Self> {
        yaml::parse(text)
    }

    /// Reads, parses and validates a YAML file; errors name the file, key, line and column.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        yaml::read(path)
    }

    /// The config as YAML (what checkpoints embed).
    pub fn to_yaml(&self) -> Result<String> {
        yaml::to_string(self)
    }

    /// Checks every range.
    pub fn validate(&self) -> Result<()> {
        self.readout.validate()?;
        let t = &self.train;
        at_least("classes", self.classes, 2)?;
        at_least("train.epochs", t.epochs, 1)?;
        at_least("train.batch_size", t.batch_size, 1)?;
        non_negative_finite("train.lr_encoder", t.lr_encoder)?;
        positive_finite("train.lr_prototypes", t.lr_prototypes)?;
        non_negative_finite("train.lr_head", t.lr_head)?;
        non_negative_finite("train.lambda", t.lambda)?;
        non_negative_finite("train.weight_decay", t.weight_decay)?;
        positive_finite("train.timescale.eps_max", t.timescale.eps_max)?;
        let threshold = t.utilisation_threshold;
        require(
            (0.0..1.0).contains(&threshold),
            "train.utilisation_threshold",
            threshold,
            "in [0, 1)",
        )
    }
}

impl yaml::Validated for RunConfig {
    fn check(&self) -> Result<()> {
        self.validate()
    }
}
