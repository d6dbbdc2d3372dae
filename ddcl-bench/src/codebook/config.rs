//! The codebook experiment's configuration (`configs/codebook.yaml`; unknown keys are
//! rejected, every value range-checked when read, naming its key).

use std::path::PathBuf;

use ddcl_codebook::{CodeInit, DdclConfig, FsqConfig, TauSchedule, Temperature, VqConfig};
use ddcl_readout::check::{at_least, config_error, non_negative_finite, positive_finite, require};
use ddcl_readout::yaml;
use serde::{Deserialize, Serialize};

use crate::config::{not_empty, unique};
use crate::error::Result;

/// The codebook experiment: one convolutional autoencoder per quantiser, codebook size and
/// seed, trained alike on Fashion-MNIST and measured on its test images.
///
/// ```
/// let cfg = ddcl_bench::CodebookConfig::from_yaml(
///     "seeds: [0]\niterations: 10\nbatch_size: 8\nlr: 3.0e-4\nweight_decay: 0.01\n\
///      test_limit: 0\neval_every: 5\neval_batch: 16\ncodes: [16]\n\
///      autoencoder: { hidden: 8, latent: 16 }\n\
///      methods:\n  - { name: vq, vq: {} }\n  - { name: fsq, fsq: { levels: [4, 4], codes: 16 } }\n",
/// )?;
/// assert_eq!(cfg.methods.len(), 2);
/// assert_eq!(cfg.clone().full().seeds, [0, 1, 2]);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodebookConfig {
    /// Folder holding Fashion-MNIST's IDX files (`train-images-idx3-ubyte.gz`,
    /// `train-labels-idx1-ubyte.gz`, `t10k-...`); absent: `$DDCL_DATA/fashion-mnist`.
    #[serde(default)]
    pub data: Option<PathBuf>,
    /// Seeds: each seeds the network's initialisation, the batch order and the quantisers'
    /// draws.
    pub seeds: Vec<u64>,
    /// Training steps of every run (the same budget for every quantiser).
    pub iterations: usize,
    /// Training images per step (also the evaluation's batch).
    pub batch_size: usize,
    /// AdamW learning rate.
    pub lr: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Test images measured at the end (the first ones of the test file; 0 = all 10,000).
    pub test_limit: usize,
    /// Steps between two points of the training curves (utilisation and MSE on a fixed
    /// held-out batch).
    pub eval_every: usize,
    /// Images of that held-out batch (the first test images).
    pub eval_batch: usize,
    /// Codebook sizes K; every DDCL and VQ method runs at each.
    pub codes: Vec<usize>,
    /// Sizes added by `--large` (e.g. 4096).
    #[serde(default)]
    pub large_codes: Vec<usize>,
    /// The autoencoder's widths.
    pub autoencoder: NetworkConfig,
    /// The quantisers compared, each a named variant.
    pub methods: Vec<CodebookMethod>,
}

/// Widths of the convolutional autoencoder (`ddcl_codebook::ConvAutoencoder`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Channels after the first stride-2 convolution.
    pub hidden: usize,
    /// Latent width D of each cell of the 7 x 7 grid.
    pub latent: usize,
}

/// One quantiser of the comparison: a name and exactly one of `ddcl`, `vq`, `fsq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CodebookMethod {
    /// Name in the table and the plot.
    pub name: String,
    /// DDCL as a differentiable codebook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddcl: Option<DdclSettings>,
    /// Hard vector quantisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vq: Option<VqSettings>,
    /// Finite scalar quantisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fsq: Option<FsqSettings>,
}

/// Settings of a DDCL codebook (`ddcl_codebook::DdclConfig`); each absent key keeps the
/// library's default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DdclSettings {
    /// Weight beta on `L_SQ` (>= 0).
    #[serde(default = "one")]
    pub beta: f64,
    /// Extra weight on `V` (>= -beta).
    #[serde(default)]
    pub var_weight: f64,
    /// The temperature schedule (with `relative`, the factor on the distance scale).
    pub tau: Schedule,
    /// Multiply the schedule by the batch's mean nearest-code squared distance.
    #[serde(default)]
    pub relative: bool,
    /// The smallest temperature used (> 0).
    #[serde(default = "tau_min")]
    pub tau_min: f64,
    /// Divide `L_SQ` by D.
    #[serde(default = "yes")]
    pub per_dim: bool,
    /// Cosine distance.
    #[serde(default)]
    pub cosine: bool,
    /// Initial codes.
    #[serde(default)]
    pub init: InitSetting,
    /// Lloyd iterations of a k-means init.
    #[serde(default = "kmeans_iters")]
    pub kmeans_iters: usize,
    /// Weight on the normalised usage entropy (>= 0; 0 off).
    #[serde(default)]
    pub entropy_weight: f64,
    /// Re-seed codes whose EMA hits per batch fall below this (>= 0; 0 off).
    #[serde(default)]
    pub dead_threshold: f64,
    /// Decay of the usage EMA, in [0, 1).
    #[serde(default = "decay")]
    pub decay: f64,
}

/// Settings of a hard vector quantiser (`ddcl_codebook::VqConfig`); each absent key keeps the
/// library's default (plain VQ-VAE).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VqSettings {
    /// Weight of the commitment loss (>= 0).
    #[serde(default = "commitment")]
    pub beta: f64,
    /// Straight-through gradient to the encoder.
    #[serde(default = "yes")]
    pub straight_through: bool,
    /// EMA codebook updates instead of a codebook loss.
    #[serde(default)]
    pub ema: bool,
    /// Decay of the EMAs, in [0, 1).
    #[serde(default = "decay")]
    pub decay: f64,
    /// Laplace smoothing of the EMA cluster sizes (> 0).
    #[serde(default = "laplace")]
    pub eps: f64,
    /// Initial codes.
    #[serde(default)]
    pub init: InitSetting,
    /// Lloyd iterations of a k-means init.
    #[serde(default = "kmeans_iters")]
    pub kmeans_iters: usize,
    /// Expire codes whose EMA hits per batch fall below this (>= 0; 0 off).
    #[serde(default)]
    pub dead_threshold: f64,
    /// Cosine codebook.
    #[serde(default)]
    pub cosine: bool,
}

/// Settings of FSQ (`ddcl_codebook::FsqConfig`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FsqSettings {
    /// Levels per dimension (each >= 2); the codebook has their product.
    pub levels: Vec<u32>,
    /// The codebook size K this grid stands beside in the table (one of `codes` or
    /// `large_codes`); it runs only when that K does.
    pub codes: usize,
    /// Slack of the bound, in (0, 1).
    #[serde(default = "fsq_eps")]
    pub eps: f64,
}

/// A temperature schedule (or, with `relative`, the factor on the distance scale), written
/// `{ start: 0.5 }` (constant) or `{ shape: exponential, start: 1.0, end: 0.01 }` (also
/// `linear`, `cosine`; `steps` defaults to the run's `iterations`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// How the value moves from `start` to `end`.
    #[serde(default)]
    pub shape: Shape,
    /// Value at step 0 (the only one of a constant schedule).
    pub start: f64,
    /// Value from step `steps` on (required unless the shape is constant).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<f64>,
    /// Length of the ramp; absent: the run's `iterations`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
}

/// The shape of a [`Schedule`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Shape {
    /// `start` at every step.
    #[default]
    Constant,
    /// Linear from `start` to `end`.
    Linear,
    /// Geometric from `start` to `end`.
    Exponential,
    /// Cosine annealing from `start` to `end`.
    Cosine,
}

/// Initial codes: `uniform` (the library's Kaiming-uniform hint) or `kmeans` (k-means++ on the
/// first training batch, then `kmeans_iters` Lloyd iterations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InitSetting {
    /// Random codes.
    #[default]
    Uniform,
    /// k-means on the first training batch.
    Kmeans,
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

fn tau_min() -> f64 {
    1e-8
}

fn decay() -> f64 {
    0.8
}

fn commitment() -> f64 {
    0.25
}

fn laplace() -> f64 {
    1e-5
}

fn fsq_eps() -> f64 {
    1e-3
}

fn kmeans_iters() -> usize {
    10
}

impl Schedule {
    /// The library's schedule, over `iterations` steps unless `steps` is given.
    ///
    /// ```
    /// use ddcl_bench::{Schedule, Shape};
    /// let s = Schedule { shape: Shape::Exponential, start: 1.0, end: Some(0.01), steps: None };
    /// assert!((s.schedule(100).at(50) - 0.1).abs() < 1e-12);
    /// ```
    pub fn schedule(&self, iterations: usize) -> TauSchedule {
        let (start, end, steps) = (
            self.start,
            self.end.unwrap_or(self.start),
            self.steps.unwrap_or(iterations),
        );
        match self.shape {
            Shape::Constant => TauSchedule::Constant(start),
            Shape::Linear => TauSchedule::Linear { start, end, steps },
            Shape::Exponential => TauSchedule::Exponential { start, end, steps },
            Shape::Cosine => TauSchedule::Cosine { start, end, steps },
        }
    }

    /// Every value finite and > 0, an `end` exactly when the shape moves, naming `key.start`,
    /// `key.end`.
    fn check(&self, key: &str) -> ddcl_readout::Result<()> {
        positive_finite(&format!("{key}.start"), self.start)?;
        match (self.shape, self.end) {
            (Shape::Constant, None) => Ok(()),
            (Shape::Constant, Some(_)) => Err(config_error(
                &format!("{key}.end"),
                "a constant schedule has no end (give `shape`)",
            )),
            (_, None) => Err(config_error(
                &format!("{key}.end"),
                "required unless the shape is constant",
            )),
            (_, Some(end)) => positive_finite(&format!("{key}.end"), end).map(|_| ()),
        }
    }
}

impl InitSetting {
    /// The library's init: k-means with `iters` Lloyd iterations seeded by `seed`.
    ///
    /// ```
    /// use ddcl_bench::InitSetting;
    /// use ddcl_codebook::CodeInit;
    /// assert_eq!(InitSetting::Kmeans.init(10, 3), CodeInit::KMeans { iters: 10, seed: 3 });
    /// ```
    pub fn init(self, iters: usize, seed: u64) -> CodeInit {
        match self {
            Self::Uniform => CodeInit::Uniform,
            Self::Kmeans => CodeInit::KMeans { iters, seed },
        }
    }
}

impl DdclSettings {
    /// The library's settings for a codebook of `codes` codes trained `iterations` steps, its
    /// draws seeded by `seed`.
    ///
    /// ```
    /// let s: ddcl_bench::DdclSettings =
    ///     serde_json::from_str(r#"{"tau": {"start": 0.5}, "relative": true}"#).unwrap();
    /// let cfg = s.config(256, 1000, 0);
    /// assert!(cfg.temperature.relative && cfg.codes == 256 && cfg.beta == 1.0);
    /// ```
    pub fn config(&self, codes: usize, iterations: usize, seed: u64) -> DdclConfig {
        let schedule = self.tau.schedule(iterations);
        let mut cfg = DdclConfig::new(codes);
        cfg.beta = self.beta;
        cfg.var_weight = self.var_weight;
        cfg.temperature = if self.relative {
            Temperature::relative(schedule, self.tau_min)
        } else {
            Temperature {
                min: self.tau_min,
                ..Temperature::fixed(schedule)
            }
        };
        cfg.per_dim = self.per_dim;
        cfg.cosine = self.cosine;
        cfg.init = self.init.init(self.kmeans_iters, seed);
        cfg.entropy_weight = self.entropy_weight;
        cfg.dead_threshold = self.dead_threshold;
        cfg.decay = self.decay;
        cfg.seed = seed;
        cfg
    }

    fn check(&self, key: &str) -> ddcl_readout::Result<()> {
        non_negative_finite(&format!("{key}.beta"), self.beta)?;
        require(
            self.var_weight.is_finite() && self.var_weight >= -self.beta,
            &format!("{key}.var_weight"),
            self.var_weight,
            "finite and >= -beta",
        )?;
        self.tau.check(&format!("{key}.tau"))?;
        positive_finite(&format!("{key}.tau_min"), self.tau_min)?;
        non_negative_finite(&format!("{key}.entropy_weight"), self.entropy_weight)?;
        non_negative_finite(&format!("{key}.dead_threshold"), self.dead_threshold)?;
        decay_in_range(&format!("{key}.decay"), self.decay)
    }
}

impl VqSettings {
    /// The library's settings for a codebook of `codes` codes, its draws seeded by `seed`.
    ///
    /// ```
    /// let s: ddcl_bench::VqSettings = serde_json::from_str(r#"{"ema": true}"#).unwrap();
    /// let cfg = s.config(1024, 0);
    /// assert!(cfg.ema && cfg.beta == 0.25 && cfg.straight_through);
    /// ```
    pub fn config(&self, codes: usize, seed: u64) -> VqConfig {
        let mut cfg = VqConfig::new(codes);
        cfg.beta = self.beta;
        cfg.straight_through = self.straight_through;
        cfg.ema = self.ema;
        cfg.decay = self.decay;
        cfg.eps = self.eps;
        cfg.init = self.init.init(self.kmeans_iters, seed);
        cfg.dead_threshold = self.dead_threshold;
        cfg.cosine = self.cosine;
        cfg.seed = seed;
        cfg
    }

    fn check(&self, key: &str) -> ddcl_readout::Result<()> {
        non_negative_finite(&format!("{key}.beta"), self.beta)?;
        decay_in_range(&format!("{key}.decay"), self.decay)?;
        positive_finite(&format!("{key}.eps"), self.eps)?;
        non_negative_finite(&format!("{key}.dead_threshold"), self.dead_threshold).map(|_| ())
    }
}

impl FsqSettings {
    /// The library's settings.
    ///
    /// ```
    /// let s: ddcl_bench::FsqSettings =
    ///     serde_json::from_str(r#"{"levels": [8, 6, 5], "codes": 256}"#).unwrap();
    /// assert_eq!(s.config().codebook_size().unwrap(), 240);
    /// ```
    pub fn config(&self) -> FsqConfig {
        FsqConfig {
            levels: self.levels.clone(),
            eps: self.eps,
        }
    }

    fn check(&self, key: &str, sizes: &[usize]) -> ddcl_readout::Result<()> {
        not_empty(&format!("{key}.levels"), &self.levels)?;
        for (i, &l) in self.levels.iter().enumerate() {
            at_least(&format!("{key}.levels[{i}]"), l as usize, 2)?;
        }
        require(
            self.eps.is_finite() && self.eps > 0.0 && self.eps < 1.0,
            &format!("{key}.eps"),
            self.eps,
            "in (0, 1)",
        )?;
        self.config()
            .codebook_size()
            .map_err(|e| config_error(&format!("{key}.levels"), e))?;
        if !sizes.contains(&self.codes) {
            return Err(config_error(
                &format!("{key}.codes"),
                format!(
                    "{} is not one of codes or large_codes ({sizes:?})",
                    self.codes
                ),
            ));
        }
        Ok(())
    }
}

/// A decay in [0, 1).
fn decay_in_range(key: &str, value: f64) -> ddcl_readout::Result<()> {
    require(
        value.is_finite() && (0.0..1.0).contains(&value),
        key,
        value,
        "in [0, 1)",
    )
}

impl yaml::Validated for CodebookConfig {
    /// Every count, size, rate, temperature and weight in range, every method named once with
    /// exactly one quantiser, before any work; an error names the key
    /// (`codes[0]`, `methods.ddcl-naive.ddcl.tau.start`).
    fn check(&self) -> ddcl_readout::Result<()> {
        not_empty("seeds", &self.seeds)?;
        unique("seeds", self.seeds.iter().map(u64::to_string))?;
        at_least("iterations", self.iterations, 1)?;
        at_least("batch_size", self.batch_size, 1)?;
        positive_finite("lr", self.lr)?;
        non_negative_finite("weight_decay", self.weight_decay)?;
        at_least("eval_every", self.eval_every, 1)?;
        at_least("eval_batch", self.eval_batch, 1)?;
        not_empty("codes", &self.codes)?;
        for (list, sizes) in [("codes", &self.codes), ("large_codes", &self.large_codes)] {
            for (i, &k) in sizes.iter().enumerate() {
                at_least(&format!("{list}[{i}]"), k, 1)?;
            }
            unique(list, sizes.iter().map(usize::to_string))?;
        }
        at_least("autoencoder.hidden", self.autoencoder.hidden, 1)?;
        at_least("autoencoder.latent", self.autoencoder.latent, 1)?;
        not_empty("methods", &self.methods)?;
        unique("methods", self.methods.iter().map(|m| m.name.clone()))?;
        let sizes: Vec<usize> = self
            .codes
            .iter()
            .chain(&self.large_codes)
            .copied()
            .collect();
        for m in &self.methods {
            if m.name.is_empty() {
                return Err(config_error("methods.name", "must not be empty"));
            }
            let key = format!("methods.{}", m.name);
            match (&m.ddcl, &m.vq, &m.fsq) {
                (Some(d), None, None) => d.check(&format!("{key}.ddcl"))?,
                (None, Some(v), None) => v.check(&format!("{key}.vq"))?,
                (None, None, Some(f)) => f.check(&format!("{key}.fsq"), &sizes)?,
                _ => {
                    return Err(config_error(
                        &key,
                        "give exactly one of `ddcl`, `vq`, `fsq`",
                    ))
                }
            }
        }
        Ok(())
    }
}

impl CodebookConfig {
    /// Reads and validates a YAML file.
    pub fn from_yaml_file(path: &std::path::Path) -> Result<Self> {
        Ok(yaml::read(path)?)
    }

    /// Parses and validates a YAML document.
    pub fn from_yaml(text: &str) -> Result<Self> {
        Ok(yaml::parse(text)?)
    }

    /// The run of `--full`: at least three seeds (the config's, then the next unused
    /// integers).
    pub fn full(mut self) -> Self {
        let mut next = 0;
        while self.seeds.len() < 3 {
            if !self.seeds.contains(&next) {
                self.seeds.push(next);
            }
            next += 1;
        }
        self
    }

    /// The run of `--large`: the sizes of `large_codes` added to `codes`.
    ///
    /// ```
    /// # let cfg = ddcl_bench::CodebookConfig::from_yaml(
    /// #     "seeds: [0]\niterations: 1\nbatch_size: 1\nlr: 1.0\nweight_decay: 0\ntest_limit: 0\n\
    /// #      eval_every: 1\neval_batch: 1\ncodes: [256]\nlarge_codes: [4096]\n\
    /// #      autoencoder: { hidden: 1, latent: 1 }\nmethods: [{ name: vq, vq: {} }]\n")?;
    /// assert_eq!(cfg.large().codes, [256, 4096]);
    /// # Ok::<(), ddcl_bench::Error>(())
    /// ```
    pub fn large(mut self) -> Self {
        for &k in &self.large_codes {
            if !self.codes.contains(&k) {
                self.codes.push(k);
            }
        }
        self
    }

    /// Where the IDX files are read from: `data`, else `$DDCL_DATA/fashion-mnist`.
    pub fn data_dir(&self) -> PathBuf {
        self.data
            .clone()
            .unwrap_or_else(|| crate::data::DataSource::FashionMnist.location())
    }
}

impl CodebookMethod {
    /// The codebook sizes this method runs at among `codes`: every one for DDCL and VQ; for
    /// FSQ its `codes`, when listed.
    ///
    /// ```
    /// let m: ddcl_bench::CodebookMethod =
    ///     serde_json::from_str(r#"{"name": "f", "fsq": {"levels": [8, 6, 5], "codes": 256}}"#)
    ///         .unwrap();
    /// assert_eq!(m.sizes(&[256, 1024]), [256]);
    /// assert_eq!(m.kind(), "fsq");
    /// ```
    pub fn sizes(&self, codes: &[usize]) -> Vec<usize> {
        match &self.fsq {
            Some(f) => codes.iter().copied().filter(|&k| k == f.codes).collect(),
            None => codes.to_vec(),
        }
    }

    /// `ddcl`, `vq` or `fsq`.
    pub fn kind(&self) -> &'static str {
        match (&self.ddcl, &self.vq) {
            (Some(_), _) => "ddcl",
            (_, Some(_)) => "vq",
            _ => "fsq",
        }
    }
}
