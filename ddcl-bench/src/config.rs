//! The bench's configuration (`configs/bench.yaml`; unknown keys are rejected).

use std::path::{Path, PathBuf};

use ddcl_readout::{yaml, Trainable};
use serde::{Deserialize, Serialize};

use crate::data::DataSource;
use crate::error::{Error, Result};
use crate::methods::{FitConfig, Method};
use crate::probe::ProbeConfig;
use ddcl_readout::check::{at_least, config_error, non_negative_finite, positive_finite, require};

/// One dataset of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetConfig {
    /// Name in reports.
    pub name: String,
    /// Where it comes from: `rotten_tomatoes`, `bbc`, `fashion_mnist`, `shuttle` (fetched by
    /// `scripts/setup.sh data`), or user data: `text_file` (CSV with a header, or JSON Lines),
    /// `image_folder` (one sub-folder per class), `tabular_file` (CSV with a header).
    pub source: SourceKind,
    /// The file or folder of user data.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// Text column of a `text_file`.
    #[serde(default = "text_column")]
    pub text_column: String,
    /// Label column of a `text_file` or `tabular_file`.
    #[serde(default = "label_column")]
    pub label_column: String,
    /// Seeded random sample of at most this many examples (0 = all).
    pub limit: usize,
    /// Share of the sample that trains in each seed's split, in (0, 1) (absent: the run's
    /// `train_share`); a smaller share buys more test predictions per example encoded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_share: Option<f64>,
    /// Token limit for text.
    #[serde(default = "default_max_len")]
    pub max_len: usize,
}

fn default_max_len() -> usize {
    128
}

fn text_column() -> String {
    "text".into()
}

fn label_column() -> String {
    "label".into()
}

/// The kinds of dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Rotten Tomatoes snippets.
    RottenTomatoes,
    /// BBC News documents.
    Bbc,
    /// Fashion-MNIST images.
    FashionMnist,
    /// NASA Statlog Shuttle.
    Shuttle,
    /// User text: CSV or JSON Lines.
    TextFile,
    /// User images: a folder per class.
    ImageFolder,
    /// User tabular data: CSV.
    TabularFile,
}

impl DatasetConfig {
    /// The loader's description of this dataset.
    pub fn source(&self) -> Result<DataSource> {
        let path = || {
            self.path.clone().ok_or_else(|| {
                Error::Config(format!(
                    "dataset `{}`: `path` is required for user data",
                    self.name
                ))
            })
        };
        Ok(match self.source {
            SourceKind::RottenTomatoes => DataSource::RottenTomatoes,
            SourceKind::Bbc => DataSource::Bbc,
            SourceKind::FashionMnist => DataSource::FashionMnist,
            SourceKind::Shuttle => DataSource::Shuttle,
            SourceKind::TextFile => DataSource::TextFile {
                path: path()?,
                text: self.text_column.clone(),
                label: self.label_column.clone(),
            },
            SourceKind::ImageFolder => DataSource::ImageFolder { path: path()? },
            SourceKind::TabularFile => DataSource::TabularFile {
                path: path()?,
                label: self.label_column.clone(),
            },
        })
    }
}

/// Protocol 3: joint training under the timescale condition, DDCL vs mean pooling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JointConfig {
    /// Name of a text dataset of `datasets`.
    pub dataset: String,
    /// Examples used (train and test together).
    pub limit: usize,
    /// Examples that train, the rest of `limit` being test examples (absent: the run's
    /// `train_share` of them), so that a small training set can meet a large test set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train: Option<usize>,
    /// Epochs.
    pub epochs: usize,
    /// Sequences per step.
    pub batch_size: usize,
    /// Encoder layers that train.
    pub encoder: Trainable,
    /// Prototypes of the DDCL readout.
    pub prototypes: usize,
    /// DDCL summary.
    pub summary: ddcl_readout::Pooling,
    /// `eta_E`.
    pub lr_encoder: f64,
    /// `eta_P`.
    pub lr_prototypes: f64,
    /// Head learning rate.
    pub lr_head: f64,
    /// Weight of L_SQ for DDCL.
    pub lambda: f64,
}

/// Protocol 4: a sweep of `eps = eta_E / eta_P` across the bound.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SweepConfig {
    /// The ratios tried; `lr_encoder` is fixed and `lr_prototypes = lr_encoder / eps`.
    pub eps: Vec<f64>,
    /// Epochs per ratio.
    pub epochs: usize,
    /// Examples used.
    pub limit: usize,
}

/// Protocol 5: a small encoder over features-as-tokens on tabular data, DDCL vs mean.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TabularConfig {
    /// Name of a tabular dataset of `datasets`.
    pub dataset: String,
    /// Width of a feature token.
    pub hidden: usize,
    /// Prototypes of the DDCL readout.
    pub prototypes: usize,
    /// DDCL summary.
    pub summary: ddcl_readout::Pooling,
    /// Weight of L_SQ for DDCL.
    pub lambda: f64,
    /// Epochs.
    pub epochs: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Learning rate of encoder and head.
    pub lr: f64,
    /// Learning rate of the prototypes.
    pub lr_prototypes: f64,
}

/// The speed section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpeedConfig {
    /// Names of datasets (text or images) whose first `batch_size` examples are timed.
    pub datasets: Vec<String>,
    /// Sequences per batch.
    pub batch_size: usize,
    /// Timed repetitions (the median is reported).
    pub repeats: usize,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchConfig {
    /// Seeds: each gives another train/test split (and method initialisation).
    pub seeds: Vec<u64>,
    /// Share of each dataset's sample used for training.
    pub train_share: f64,
    /// Text encoder (hub repo id or directory).
    pub text_model: String,
    /// Image encoder (hub repo id or directory).
    pub image_model: String,
    /// Examples per encoder forward pass.
    pub batch_size: usize,
    /// Folder of cached encoder features.
    pub cache: PathBuf,
    /// The datasets.
    pub datasets: Vec<DatasetConfig>,
    /// The methods of protocols 1 and 2.
    pub methods: Vec<Method>,
    /// Budget of the learned methods (DDCL, PMA) on frozen features.
    pub fit: FitConfig,
    /// The linear probe.
    pub probe: ProbeConfig,
    /// k-means restarts in protocol 2.
    pub kmeans_restarts: usize,
    /// Protocol 3 (absent: skipped).
    #[serde(default)]
    pub joint: Option<JointConfig>,
    /// Protocol 4 (absent: skipped); runs on the joint protocol's dataset and settings.
    #[serde(default)]
    pub sweep: Option<SweepConfig>,
    /// Protocol 5 (absent: skipped).
    #[serde(default)]
    pub tabular: Option<TabularConfig>,
    /// Speed section (absent: skipped).
    #[serde(default)]
    pub speed: Option<SpeedConfig>,
}

impl yaml::Validated for BenchConfig {
    /// Every count, size, rate and temperature in range, every name known and unique, before
    /// any work; an error names the key (`fit.batch`, `datasets.reviews.max_len`).
    fn check(&self) -> ddcl_readout::Result<()> {
        not_empty("seeds", &self.seeds)?;
        unique("seeds", self.seeds.iter().map(u64::to_string))?;
        share_in_unit("train_share", self.train_share)?;
        at_least("batch_size", self.batch_size, 1)?;
        if self.cache.as_os_str().is_empty() {
            return Err(config_error("cache", "must name a folder"));
        }
        not_empty("datasets", &self.datasets)?;
        unique("datasets", self.datasets.iter().map(|d| d.name.clone()))?;
        for d in &self.datasets {
            let key = |k: &str| format!("datasets.{}.{k}", d.name);
            if d.name.is_empty() {
                return Err(config_error("datasets.name", "must not be empty"));
            }
            d.source()
                .map_err(|e| config_error(&key("path"), e.to_string()))?;
            at_least(&key("max_len"), d.max_len, 1)?;
            if let Some(share) = d.train_share {
                share_in_unit(&key("train_share"), share)?;
            }
        }
        not_empty("methods", &self.methods)?;
        unique("methods", self.methods.iter().map(Method::to_string))?;
        self.fit.check("fit")?;
        at_least("kmeans_restarts", self.kmeans_restarts, 1)?;
        if let Some(j) = &self.joint {
            self.dataset_of("joint.dataset", &j.dataset, &[Modality::Text])?;
            if let Some(train) = j.train {
                at_least("joint.train", train, 1)?;
                if j.limit > 0 && train >= j.limit {
                    return Err(config_error(
                        "joint.train",
                        format!(
                            "must be below joint.limit ({}) to leave test examples, got {train}",
                            j.limit
                        ),
                    ));
                }
            }
            at_least("joint.epochs", j.epochs, 1)?;
            at_least("joint.batch_size", j.batch_size, 1)?;
            at_least("joint.prototypes", j.prototypes, 1)?;
            ddcl_summary("joint.summary", j.summary)?;
            positive_finite("joint.lr_encoder", j.lr_encoder)?;
            positive_finite("joint.lr_prototypes", j.lr_prototypes)?;
            positive_finite("joint.lr_head", j.lr_head)?;
            non_negative_finite("joint.lambda", j.lambda)?;
        }
        if let Some(s) = &self.sweep {
            if self.joint.is_none() {
                return Err(config_error(
                    "sweep",
                    "needs the joint section (its dataset and settings)",
                ));
            }
            not_empty("sweep.eps", &s.eps)?;
            for (i, &eps) in s.eps.iter().enumerate() {
                positive_finite(&format!("sweep.eps[{i}]"), eps)?;
            }
            at_least("sweep.epochs", s.epochs, 1)?;
        }
        if let Some(t) = &self.tabular {
            self.dataset_of("tabular.dataset", &t.dataset, &[Modality::Tabular])?;
            at_least("tabular.hidden", t.hidden, 1)?;
            at_least("tabular.prototypes", t.prototypes, 1)?;
            ddcl_summary("tabular.summary", t.summary)?;
            non_negative_finite("tabular.lambda", t.lambda)?;
            at_least("tabular.epochs", t.epochs, 1)?;
            at_least("tabular.batch_size", t.batch_size, 1)?;
            positive_finite("tabular.lr", t.lr)?;
            positive_finite("tabular.lr_prototypes", t.lr_prototypes)?;
        }
        if let Some(s) = &self.speed {
            not_empty("speed.datasets", &s.datasets)?;
            unique("speed.datasets", s.datasets.iter().cloned())?;
            for d in &s.datasets {
                self.dataset_of("speed.datasets", d, &[Modality::Text, Modality::Image])?;
            }
            at_least("speed.batch_size", s.batch_size, 1)?;
            at_least("speed.repeats", s.repeats, 1)?;
        }
        Ok(())
    }
}

/// What a dataset holds, and so which encoder (if any) reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Modality {
    /// Sentences or documents: the text encoder.
    Text,
    /// Images: the image encoder.
    Image,
    /// Rows of numbers: no encoder.
    Tabular,
}

impl SourceKind {
    /// What the datasets of this kind hold.
    ///
    /// ```
    /// use ddcl_bench::{Modality, SourceKind};
    /// assert_eq!(SourceKind::TextFile.modality(), Modality::Text);
    /// assert_eq!(SourceKind::Shuttle.modality(), Modality::Tabular);
    /// ```
    pub fn modality(self) -> Modality {
        match self {
            SourceKind::RottenTomatoes | SourceKind::Bbc | SourceKind::TextFile => Modality::Text,
            SourceKind::FashionMnist | SourceKind::ImageFolder => Modality::Image,
            SourceKind::Shuttle | SourceKind::TabularFile => Modality::Tabular,
        }
    }
}

impl BenchConfig {
    /// The share of dataset `name`'s sample that trains in each split: its own
    /// `train_share`, else the run's.
    ///
    /// ```
    /// # let yaml = r#"
    /// # seeds: [0]
    /// # train_share: 0.5
    /// # text_model: m
    /// # image_model: m
    /// # batch_size: 4
    /// # cache: c
    /// # datasets:
    /// #   - { name: a, source: text_file, path: a.csv, limit: 0 }
    /// #   - { name: b, source: text_file, path: b.csv, limit: 0, train_share: 0.3 }
    /// # methods: [mean]
    /// # fit: { steps: 1, lr: 0.1, batch: 2 }
    /// # probe: { c: 1.0 }
    /// # kmeans_restarts: 1
    /// # "#;
    /// let cfg = ddcl_bench::BenchConfig::from_yaml(yaml)?;
    /// assert_eq!(cfg.train_share_of("a"), 0.5);
    /// assert_eq!(cfg.train_share_of("b"), 0.3);
    /// # Ok::<(), ddcl_bench::Error>(())
    /// ```
    pub fn train_share_of(&self, name: &str) -> f64 {
        self.datasets
            .iter()
            .find(|d| d.name == name)
            .and_then(|d| d.train_share)
            .unwrap_or(self.train_share)
    }

    /// An error naming `key` unless `name` is a dataset of `datasets` holding one of `kinds`.
    fn dataset_of(&self, key: &str, name: &str, kinds: &[Modality]) -> ddcl_readout::Result<()> {
        let names: Vec<&str> = self.datasets.iter().map(|d| d.name.as_str()).collect();
        let Some(d) = self.datasets.iter().find(|d| d.name == name) else {
            return Err(config_error(
                key,
                format!("`{name}` is not one of datasets ({})", names.join(", ")),
            ));
        };
        if !kinds.contains(&d.source.modality()) {
            return Err(config_error(
                key,
                format!(
                    "`{name}` holds {:?} data; this protocol needs {kinds:?} data",
                    d.source.modality()
                ),
            ));
        }
        Ok(())
    }
}

/// A list with at least one element.
pub(crate) fn not_empty<T>(key: &str, list: &[T]) -> ddcl_readout::Result<()> {
    if list.is_empty() {
        return Err(ddcl_readout::Error::Empty {
            what: key.to_string(),
        });
    }
    Ok(())
}

/// A list of names (or numbers) each given once.
pub(crate) fn unique(key: &str, names: impl Iterator<Item = String>) -> ddcl_readout::Result<()> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !seen.insert(n.clone()) {
            return Err(config_error(key, format!("`{n}` is given twice")));
        }
    }
    Ok(())
}

/// A share strictly between 0 and 1.
fn share_in_unit(key: &str, share: f64) -> ddcl_readout::Result<()> {
    require(
        share.is_finite() && share > 0.0 && share < 1.0,
        key,
        share,
        "in (0, 1)",
    )
}

/// A DDCL summary (`occupancy`, `mixture`, `slots`, `residual`), not a classic pooling mode.
fn ddcl_summary(key: &str, p: ddcl_readout::Pooling) -> ddcl_readout::Result<()> {
    if p.summary().is_none() {
        return Err(config_error(
            key,
            format!("`{p}` is not a DDCL summary (occupancy, mixture, slots, residual)"),
        ));
    }
    Ok(())
}

impl BenchConfig {
    /// Reads and validates a YAML file.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        Ok(yaml::read(path)?)
    }

    /// Parses and validates a YAML document.
    pub fn from_yaml(text: &str) -> Result<Self> {
        Ok(yaml::parse(text)?)
    }

    /// The small run of `--quick`: two seeds, at most 150 examples of each encoder dataset
    /// (tabular data is cheap and kept), short training.
    pub fn quick(mut self) -> Self {
        self.seeds.truncate(2);
        for d in &mut self.datasets {
            if !matches!(d.source, SourceKind::Shuttle | SourceKind::TabularFile) {
                d.limit = d.limit.min(150);
            }
        }
        self.fit.steps = self.fit.steps.min(30);
        if let Some(j) = &mut self.joint {
            j.limit = j.limit.min(120);
            j.train = j.train.map(|t| t.min(j.limit / 2));
            j.epochs = 1;
        }
        if let Some(s) = &mut self.sweep {
            s.limit = s.limit.min(80);
            s.epochs = 1;
        }
        if let Some(t) = &mut self.tabular {
            t.epochs = t.epochs.min(2);
        }
        if let Some(s) = &mut self.speed {
            s.repeats = s.repeats.min(2);
        }
        self
    }

    /// The full run of `--full`: every example of every dataset (the protocols' own sample
    /// sizes are kept).
    pub fn full(mut self) -> Self {
        for d in &mut self.datasets {
            d.limit = 0;
        }
        self
    }
}
