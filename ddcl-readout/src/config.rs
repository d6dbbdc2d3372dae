//! Configuration of the readout layer (YAML, unknown keys rejected).

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::check::{positive_finite, require};
use crate::{yaml, Error, Pooling, Result};

/// How the prototypes start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum Init {
    /// Gaussian with standard deviation `init_std`: the hint given to the `VarBuilder`.
    #[serde(rename = "random")]
    Random,
    /// k-means++ seeding on a sample of encoder outputs ([`crate::DdclReadout::init_kmeans_pp`]).
    #[default]
    #[serde(rename = "kmeans++")]
    KMeansPlusPlus,
}

/// Settings of a [`crate::DdclReadout`].
///
/// ```
/// use ddcl_readout::{Pooling, ReadoutConfig};
/// let cfg = ReadoutConfig::from_yaml("prototypes: 16\ntau: 2.0\npooling: [mixture, mean]\n")?;
/// assert_eq!(cfg.prototypes, 16);
/// assert_eq!(cfg.pooling, [Pooling::Mixture, Pooling::Mean]);
/// assert!(!cfg.learn_tau);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReadoutConfig {
    /// Number of prototypes K.
    pub prototypes: usize,
    /// Temperature of the soft assignment (the initial one when learnable).
    pub tau: f64,
    /// Learn the temperature (as `log tau`) with the prototypes.
    #[serde(default)]
    pub learn_tau: bool,
    /// How the prototypes start.
    #[serde(default)]
    pub init: Init,
    /// Standard deviation of random initial prototypes.
    #[serde(default = "default_init_std")]
    pub init_std: f64,
    /// The summary the layer returns: one or more pooling modes, concatenated in order.
    #[serde(default = "default_pooling")]
    pub pooling: Vec<Pooling>,
    /// Check hidden states and prototypes for NaN/inf on every forward.
    #[serde(default = "default_true")]
    pub check_finite: bool,
}

fn default_init_std() -> f64 {
    1.0
}

fn default_pooling() -> Vec<Pooling> {
    vec![Pooling::Mixture]
}

pub(crate) fn default_true() -> bool {
    true
}

impl ReadoutConfig {
    /// K prototypes at temperature `tau`, every other setting at its default.
    pub fn new(prototypes: usize, tau: f64) -> Result<Self> {
        let cfg = Self {
            prototypes,
            tau,
            learn_tau: false,
            init: Init::default(),
            init_std: default_init_std(),
            pooling: default_pooling(),
            check_finite: true,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parses and validates a YAML document.
    pub fn from_yaml(text: &str) -> Result<Self> {
        yaml::parse(text)
    }

    /// Reads, parses and validates a YAML file.
    pub fn from_yaml_file(path: &Path) -> Result<Self> {
        yaml::read(path)
    }

    /// Checks ranges: 1 ≤ K ≤ [`ddcl_core::MAX_PROTOTYPES`], tau and init_std finite and > 0, at least one pooling mode.
    pub fn validate(&self) -> Result<()> {
        let k = self.prototypes;
        require(
            (1..=ddcl_core::MAX_PROTOTYPES).contains(&k),
            "readout.prototypes",
            k as f64,
            format!("in 1..={}", ddcl_core::MAX_PROTOTYPES),
        )?;
        ddcl_core::AssignConfig::new(self.tau)?;
        positive_finite("readout.init_std", self.init_std)?;
        if self.pooling.is_empty() {
            return Err(Error::empty("readout.pooling"));
        }
        Ok(())
    }

    /// Width of the summary for hidden size `d`.
    pub fn width(&self, d: usize) -> usize {
        self.pooling
            .iter()
            .map(|m| m.width(self.prototypes, d))
            .sum()
    }
}

impl yaml::Validated for ReadoutConfig {
    fn check(&self) -> Result<()> {
        self.validate()
    }
}
