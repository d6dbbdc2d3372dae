//! The probe's settings (`probe:` in `configs/bench.yaml`), range-checked when they are read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Result;
use ddcl_readout::check::{at_least, positive_finite, require};

/// Settings of the logistic-regression probe: scikit-learn's `LogisticRegression` (lbfgs,
/// L2 penalty) with its `C` fixed or chosen by stratified k-fold cross-validation on the
/// training split.
///
/// Every key may be left out (its default is used); unknown keys and values out of range are
/// errors when the YAML is read, naming the key.
///
/// ```
/// use ddcl_bench::ProbeConfig;
/// let cfg: ProbeConfig = serde_json::from_str(r#"{ "c": 1.0, "standardise": false }"#)?;
/// assert_eq!(cfg.c, Some(1.0));
/// assert_eq!(cfg.folds, 5);
/// let err = serde_json::from_str::<ProbeConfig>(r#"{ "c": -1 }"#).unwrap_err().to_string();
/// assert!(err.contains("probe.c must be finite and > 0, got -1"), "{err}");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(remote = "Self", deny_unknown_fields, default)]
pub struct ProbeConfig {
    /// scikit-learn's `C`, the inverse strength of the L2 penalty: the probe minimises
    /// `0.5·||W||² + C·Σ cross-entropy`. `None` (the default; `c: null` or no key): chosen
    /// from `grid` by cross-validation on the training split.
    pub c: Option<f64>,
    /// The values of `C` that cross-validation tries, increasing (each fit starts from the
    /// previous one's solution).
    pub grid: Vec<f64>,
    /// Folds of the stratified cross-validation (at least 2).
    pub folds: usize,
    /// Seed of the folds' shuffle.
    pub seed: u64,
    /// Whether features are standardised with the training rows' mean and standard deviation
    /// (within cross-validation, each fold's training rows'), so that one grid of `C` means the
    /// same strength for every method whatever its features' scale.
    pub standardise: bool,
    /// Convergence: the largest absolute entry of the gradient of the objective divided by
    /// `C·N` (scikit-learn's `tol`, scaled as scikit-learn scales it).
    pub tol: f64,
    /// Most L-BFGS iterations of one fit (scikit-learn's `max_iter` is 100).
    pub max_iter: usize,
}

impl Default for ProbeConfig {
    fn default() -> Self {
        Self {
            c: None,
            grid: vec![0.01, 0.1, 1.0, 10.0, 100.0],
            folds: 5,
            seed: 0,
            standardise: true,
            tol: 1e-4,
            max_iter: 1000,
        }
    }
}

impl ProbeConfig {
    /// scikit-learn's `LogisticRegression(C=c)` on the raw features: `C` fixed, no
    /// standardisation, the default tolerance.
    ///
    /// ```
    /// let cfg = ddcl_bench::ProbeConfig::fixed(1.0);
    /// assert_eq!((cfg.c, cfg.standardise), (Some(1.0), false));
    /// ```
    pub fn fixed(c: f64) -> Self {
        Self {
            c: Some(c),
            standardise: false,
            ..Self::default()
        }
    }

    /// Checks every value's range; the error names the key.
    ///
    /// ```
    /// let mut cfg = ddcl_bench::ProbeConfig::default();
    /// cfg.folds = 1;
    /// assert!(cfg.check().unwrap_err().to_string().contains("probe.folds"));
    /// ```
    pub fn check(&self) -> Result<()> {
        if let Some(c) = self.c {
            positive_finite("probe.c", c)?;
        }
        let len = self.grid.len() as f64;
        require(len > 0.0, "probe.grid", len, "a list of at least one value")?;
        for (i, &c) in self.grid.iter().enumerate() {
            let key = format!("probe.grid[{i}]");
            positive_finite(&key, c)?;
            require(
                i == 0 || c > self.grid[i - 1],
                &key,
                c,
                "above the value before it",
            )?;
        }
        at_least("probe.folds", self.folds, 2)?;
        positive_finite("probe.tol", self.tol)?;
        at_least("probe.max_iter", self.max_iter, 1)?;
        Ok(())
    }
}

impl<'de> Deserialize<'de> for ProbeConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let cfg = ProbeConfig::deserialize(d)?;
        cfg.check().map_err(serde::de::Error::custom)?;
        Ok(cfg)
    }
}

impl Serialize for ProbeConfig {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        ProbeConfig::serialize(self, s)
    }
}
