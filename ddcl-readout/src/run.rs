//! The configuration of a training run, as written in `configs/*.yaml`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::default_true;
use crate::{yaml, Error, ReadoutConfig, Result, Trainable};

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
    /// Stop with [`Error::Timescale`].
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
        let bad = |msg: String| Err(Error::Config(msg));
        if self.classes < 2 {
            return bad(format!("classes must be >= 2, got {}", self.classes));
        }
        if t.epochs == 0 || t.batch_size == 0 {
            return bad("train.epochs and train.batch_size must be >= 1".into());
        }
        for (name, v) in [
            ("train.lr_encoder", t.lr_encoder),
            ("train.lr_prototypes", t.lr_prototypes),
            ("train.lr_head", t.lr_head),
            ("train.lambda", t.lambda),
            ("train.weight_decay", t.weight_decay),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return bad(format!("{name} must be finite and >= 0, got {v}"));
            }
        }
        if t.lr_prototypes == 0.0 {
            return bad("train.lr_prototypes must be > 0".into());
        }
        if !(t.timescale.eps_max.is_finite() && t.timescale.eps_max > 0.0) {
            return bad(format!(
                "train.timescale.eps_max must be finite and > 0, got {}",
                t.timescale.eps_max
            ));
        }
        if !(0.0..1.0).contains(&t.utilisation_threshold) {
            return bad(format!(
                "train.utilisation_threshold must be in [0, 1), got {}",
                t.utilisation_threshold
            ));
        }
        Ok(())
    }
}

impl yaml::Validated for RunConfig {
    fn check(&self) -> Result<()> {
        self.validate()
    }
}
