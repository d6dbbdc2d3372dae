//! The hierarchical experiment's configuration (`configs/hier.yaml`; unknown keys are
//! rejected, every value range-checked when read, naming its key).

use std::path::PathBuf;

use ddcl_hier::ChunkConfig;
use ddcl_readout::check::{at_least, config_error, require};
use ddcl_readout::{yaml, Pooling};
use serde::{Deserialize, Serialize};

use crate::config::{not_empty, unique};
use crate::error::Result;
use crate::methods::FitConfig;
use crate::probe::ProbeConfig;

/// BBC News classification with whole documents: the hierarchical DDCL variants against
/// truncation and the mean-pooling hierarchies, and the streaming path's cost against length.
///
/// ```
/// let cfg = ddcl_bench::HierConfig::from_yaml(
///     "seeds: [0]\ntrain_share: 0.5\nlimit: 40\ntext_model: tiny\ncache: runs/cache\n\
///      chunk: { window: 30, overlap: 4, batch: 8 }\n\
///      variants:\n  - { name: h, levels: [{ k: 4, summary: slots }, { k: 2, summary: slots }] }\n\
///      fit: { steps: 10, lr: 0.01, batch: 8 }\nprobe: { folds: 2 }\nspeed_docs: 4\n\
///      scaling: { lengths: [100, 1000] }\n",
/// )?;
/// assert_eq!(cfg.variants[0].levels.len(), 2);
/// assert_eq!(cfg.clone().full().seeds, [0, 1, 2]);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HierConfig {
    /// Seeds: each gives another train/test split and another initialisation of the
    /// prototypes. The first also draws the sample of documents.
    pub seeds: Vec<u64>,
    /// Share of the documents used for training (in (0, 1)).
    pub train_share: f64,
    /// A seeded random sample of at most this many documents (0 = all 2,225).
    pub limit: usize,
    /// Text encoder (hub repo id or directory).
    pub text_model: String,
    /// Folder of the cached chunk token states.
    pub cache: PathBuf,
    /// How documents are cut into chunks, and how many chunks go through the encoder at once
    /// (`chunk.batch`, the streaming path's buffer).
    pub chunk: ChunkConfig,
    /// The hierarchical DDCL methods, each a name and its levels.
    pub variants: Vec<Variant>,
    /// Budget of each level's label-free prototype fit (k-means++ then steps on `L_SQ`).
    pub fit: FitConfig,
    /// The linear probe.
    pub probe: ProbeConfig,
    /// Test documents timed end to end (encoder and readout) per method, for documents per
    /// second.
    pub speed_docs: usize,
    /// The streaming path's peak memory and time against document length.
    pub scaling: ScalingSetting,
}

/// One hierarchical DDCL method of two levels (ddcl-hier stacks more, with groups of
/// summaries in the middle levels; this experiment compares two).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Name in the table.
    pub name: String,
    /// The two levels: level 1 reads each chunk's tokens, level 2 the document's chunk
    /// summaries.
    pub levels: Vec<LevelSetting>,
}

/// One DDCL level: K prototypes and the summary it hands up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LevelSetting {
    /// Prototypes.
    pub k: usize,
    /// The DDCL summary (`occupancy`, `mixture`, `slots`, `residual`).
    pub summary: Pooling,
}

/// Document lengths the streaming path is measured at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScalingSetting {
    /// Content tokens of each synthetic document (BBC texts concatenated and cut to this
    /// length), increasing.
    pub lengths: Vec<usize>,
}

impl yaml::Validated for HierConfig {
    /// Every count, size, rate and name in range before any work; an error names the key
    /// (`chunk.overlap`, `variants.h.levels[1].summary`).
    fn check(&self) -> ddcl_readout::Result<()> {
        not_empty("seeds", &self.seeds)?;
        unique("seeds", self.seeds.iter().map(u64::to_string))?;
        require(
            self.train_share.is_finite() && self.train_share > 0.0 && self.train_share < 1.0,
            "train_share",
            self.train_share,
            "in (0, 1)",
        )?;
        if self.cache.as_os_str().is_empty() {
            return Err(config_error("cache", "must name a folder"));
        }
        self.chunk.validate().map_err(|e| match e {
            ddcl_hier::Error::Readout(e) => e,
            other => config_error("chunk", other),
        })?;
        not_empty("variants", &self.variants)?;
        unique("variants", self.variants.iter().map(|v| v.name.clone()))?;
        for v in &self.variants {
            if v.name.is_empty() {
                return Err(config_error("variants.name", "must not be empty"));
            }
            let key = format!("variants.{}.levels", v.name);
            require(
                v.levels.len() == 2,
                &key,
                v.levels.len() as f64,
                "2 levels (the chunks' tokens, then the document's chunks)",
            )?;
            for (i, l) in v.levels.iter().enumerate() {
                at_least(&format!("{key}[{i}].k"), l.k, 1)?;
                if l.summary.summary().is_none() {
                    return Err(config_error(
                        &format!("{key}[{i}].summary"),
                        format!(
                            "`{}` is not a DDCL summary (occupancy, mixture, slots, residual)",
                            l.summary
                        ),
                    ));
                }
            }
        }
        self.fit.check("fit")?;
        at_least("speed_docs", self.speed_docs, 1)?;
        not_empty("scaling.lengths", &self.scaling.lengths)?;
        for (i, &n) in self.scaling.lengths.iter().enumerate() {
            let key = format!("scaling.lengths[{i}]");
            at_least(&key, n, 1)?;
            require(
                i == 0 || n > self.scaling.lengths[i - 1],
                &key,
                n as f64,
                "above the length before it",
            )?;
        }
        Ok(())
    }
}

impl HierConfig {
    /// Reads and validates a YAML file.
    pub fn from_yaml_file(path: &std::path::Path) -> Result<Self> {
        Ok(yaml::read(path)?)
    }

    /// Parses and validates a YAML document.
    pub fn from_yaml(text: &str) -> Result<Self> {
        Ok(yaml::parse(text)?)
    }

    /// The run of `--full`: every document, and at least three seeds (the config's, then the
    /// next unused integers).
    pub fn full(mut self) -> Self {
        self.limit = 0;
        let mut next = 0;
        while self.seeds.len() < 3 {
            if !self.seeds.contains(&next) {
                self.seeds.push(next);
            }
            next += 1;
        }
        self
    }
}
