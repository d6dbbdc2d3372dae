//! The claims experiment's configuration (`configs/claims.yaml`; unknown keys are rejected,
//! every value range-checked when read, naming its key).

use ddcl_readout::check::{at_least, config_error, positive_finite, require};
use ddcl_readout::yaml;
use serde::{Deserialize, Serialize};

use crate::config::{not_empty, unique, DatasetConfig, SourceKind};
use crate::error::Result;

/// The paper's claims, measured: deep clustering (unsupervised joint training of encoder and a
/// DDCL readout with K = classes) and the two-timescale experiment.
///
/// ```
/// let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../configs/claims.yaml"))?;
/// let cfg = ddcl_bench::ClaimsConfig::from_yaml(&text)?;
/// assert!(cfg.seeds.len() >= 3);
/// assert!(cfg.clone().full().timescale.steps >= cfg.timescale.steps);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimsConfig {
    /// Seeds: each draws the sample, initialises the networks and orders the batches.
    pub seeds: Vec<u64>,
    /// The text encoder (hub repo id or local directory).
    pub text_model: String,
    /// The datasets the sections name (as in the bench's config).
    pub datasets: Vec<DatasetConfig>,
    /// Deep clustering.
    pub cluster: ClusterSettings,
    /// The two-timescale experiment.
    pub timescale: TimescaleSettings,
    /// What `--full` changes.
    pub full: FullSettings,
}

/// Deep clustering: per dataset, the encoder's top layers (or the whole tabular encoder) and
/// a DDCL readout of K = classes trained on `lambda * L_SQ` alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSettings {
    /// Names of `datasets` to cluster (text or tabular).
    pub datasets: Vec<String>,
    /// Training steps per run.
    pub steps: usize,
    /// Examples per step.
    pub batch_size: usize,
    /// Trainable top layers of the text encoder.
    pub top_layers: usize,
    /// Encoder learning rate (text).
    pub lr_encoder: f64,
    /// Prototype learning rate (text); `lr_encoder / lr_prototypes` must meet the bound.
    pub lr_prototypes: f64,
    /// The tabular encoder's learning rate.
    pub tabular_lr_encoder: f64,
    /// The tabular run's prototype learning rate.
    pub tabular_lr_prototypes: f64,
    /// Width of the tabular encoder.
    pub tabular_hidden: usize,
    /// Weight of `L_SQ`.
    pub lambda: f64,
    /// k-means restarts (on frozen and on trained features).
    pub kmeans_restarts: usize,
}

/// The two-timescale experiment on the tabular features-as-tokens encoder: every ratio
/// `eps = eta_E / eta_P` of `eps` reached both ways (eta_P fixed at `eta_p`, and eta_E fixed
/// at `eta_e`), from a k-means++ start and a collapsed one, unsupervised and supervised.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimescaleSettings {
    /// A tabular dataset of `datasets`.
    pub dataset: String,
    /// Width of the tabular encoder.
    pub hidden: usize,
    /// Prototypes.
    pub prototypes: usize,
    /// Training steps per run.
    pub steps: usize,
    /// Rows per step.
    pub batch_size: usize,
    /// Steps between two measurements on the held-out batch.
    pub record_every: usize,
    /// Rows of that held-out batch (the first test rows).
    pub eval_rows: usize,
    /// The ratios eta_E / eta_P.
    pub eps: Vec<f64>,
    /// eta_P of the runs that hold it fixed.
    pub eta_p: f64,
    /// eta_E of the runs that hold it fixed.
    pub eta_e: f64,
    /// Weight of `L_SQ` alone (unsupervised).
    pub lambda_unsupervised: f64,
    /// Weight of `L_SQ` beside the cross-entropy (supervised).
    pub lambda_supervised: f64,
    /// The temperature as a multiple of the critical temperature of the initial token states.
    pub tau_over_critical: f64,
    /// Standard deviation of the noise around the token mean of the collapsed start.
    pub collapse_noise: f64,
}

/// What `--full` sets (each at least the quick value).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FullSettings {
    /// Seeds (the config's, then the next unused integers).
    pub seeds: usize,
    /// Deep-clustering steps.
    pub cluster_steps: usize,
    /// Timescale steps.
    pub timescale_steps: usize,
}

impl yaml::Validated for ClaimsConfig {
    /// Every count, rate and name in range and known, before any work; an error names the key
    /// (`cluster.steps`, `timescale.eps[2]`).
    fn check(&self) -> ddcl_readout::Result<()> {
        not_empty("seeds", &self.seeds)?;
        unique("seeds", self.seeds.iter().map(u64::to_string))?;
        if self.text_model.is_empty() {
            return Err(config_error("text_model", "must not be empty"));
        }
        not_empty("datasets", &self.datasets)?;
        unique("datasets", self.datasets.iter().map(|d| d.name.clone()))?;
        for d in &self.datasets {
            if d.name.is_empty() {
                return Err(config_error("datasets.name", "must not be empty"));
            }
            at_least(&format!("datasets.{}.max_len", d.name), d.max_len, 2)?;
        }
        let c = &self.cluster;
        unique("cluster.datasets", c.datasets.iter().cloned())?;
        for (i, name) in c.datasets.iter().enumerate() {
            match self.kind(name) {
                Some(Kind::Text | Kind::Tabular) => {}
                Some(Kind::Other) => {
                    return Err(config_error(
                        &format!("cluster.datasets[{i}]"),
                        format!("`{name}` is neither text nor tabular"),
                    ))
                }
                None => {
                    return Err(config_error(
                        &format!("cluster.datasets[{i}]"),
                        format!("`{name}` is not in datasets"),
                    ))
                }
            }
        }
        at_least("cluster.steps", c.steps, 1)?;
        at_least("cluster.batch_size", c.batch_size, 1)?;
        at_least("cluster.top_layers", c.top_layers, 1)?;
        at_least("cluster.tabular_hidden", c.tabular_hidden, 1)?;
        at_least("cluster.kmeans_restarts", c.kmeans_restarts, 1)?;
        for (key, v) in [
            ("cluster.lr_encoder", c.lr_encoder),
            ("cluster.lr_prototypes", c.lr_prototypes),
            ("cluster.tabular_lr_encoder", c.tabular_lr_encoder),
            ("cluster.tabular_lr_prototypes", c.tabular_lr_prototypes),
            ("cluster.lambda", c.lambda),
        ] {
            positive_finite(key, v)?;
        }
        for (key, eps) in [
            ("cluster.lr_encoder", c.lr_encoder / c.lr_prototypes),
            (
                "cluster.tabular_lr_encoder",
                c.tabular_lr_encoder / c.tabular_lr_prototypes,
            ),
        ] {
            require(
                eps <= ddcl_core::DEFAULT_EPS_MAX,
                key,
                eps,
                "a ratio to the prototypes' rate within the timescale bound 0.1",
            )?;
        }
        let t = &self.timescale;
        if self.kind(&t.dataset) != Some(Kind::Tabular) {
            return Err(config_error(
                "timescale.dataset",
                format!("`{}` is not a tabular dataset of datasets", t.dataset),
            ));
        }
        at_least("timescale.hidden", t.hidden, 1)?;
        at_least("timescale.prototypes", t.prototypes, 2)?;
        at_least("timescale.steps", t.steps, 1)?;
        at_least("timescale.batch_size", t.batch_size, 1)?;
        at_least("timescale.record_every", t.record_every, 1)?;
        at_least("timescale.eval_rows", t.eval_rows, 2)?;
        not_empty("timescale.eps", &t.eps)?;
        for (i, &e) in t.eps.iter().enumerate() {
            positive_finite(&format!("timescale.eps[{i}]"), e)?;
        }
        unique("timescale.eps", t.eps.iter().map(f64::to_string))?;
        for (key, v) in [
            ("timescale.eta_p", t.eta_p),
            ("timescale.eta_e", t.eta_e),
            ("timescale.lambda_unsupervised", t.lambda_unsupervised),
            ("timescale.lambda_supervised", t.lambda_supervised),
            ("timescale.tau_over_critical", t.tau_over_critical),
            ("timescale.collapse_noise", t.collapse_noise),
        ] {
            positive_finite(key, v)?;
        }
        let f = &self.full;
        at_least("full.seeds", f.seeds, self.seeds.len())?;
        at_least("full.cluster_steps", f.cluster_steps, c.steps)?;
        at_least("full.timescale_steps", f.timescale_steps, t.steps)?;
        Ok(())
    }
}

#[derive(PartialEq)]
enum Kind {
    Text,
    Tabular,
    Other,
}

impl ClaimsConfig {
    /// Reads and validates a YAML file.
    ///
    /// ```no_run
    /// let cfg = ddcl_bench::ClaimsConfig::from_yaml_file("configs/claims.yaml".as_ref())?;
    /// # Ok::<(), ddcl_bench::Error>(())
    /// ```
    pub fn from_yaml_file(path: &std::path::Path) -> Result<Self> {
        Ok(yaml::read(path)?)
    }

    /// Parses and validates a YAML document (see [`ClaimsConfig`]).
    pub fn from_yaml(text: &str) -> Result<Self> {
        Ok(yaml::parse(text)?)
    }

    /// The run of `--full`: the `full` section's seeds (the config's, then the next unused
    /// integers) and step counts.
    pub fn full(mut self) -> Self {
        let mut next = 0;
        while self.seeds.len() < self.full.seeds {
            if !self.seeds.contains(&next) {
                self.seeds.push(next);
            }
            next += 1;
        }
        self.cluster.steps = self.full.cluster_steps;
        self.timescale.steps = self.full.timescale_steps;
        self
    }

    /// The dataset named `name`.
    pub(crate) fn dataset(&self, name: &str) -> Option<&DatasetConfig> {
        self.datasets.iter().find(|d| d.name == name)
    }

    fn kind(&self, name: &str) -> Option<Kind> {
        self.dataset(name).map(|d| match d.source {
            SourceKind::RottenTomatoes | SourceKind::Bbc | SourceKind::TextFile => Kind::Text,
            SourceKind::Shuttle | SourceKind::TabularFile => Kind::Tabular,
            SourceKind::FashionMnist | SourceKind::ImageFolder => Kind::Other,
        })
    }
}
