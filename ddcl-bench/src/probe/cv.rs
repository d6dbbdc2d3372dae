//! Choosing the probe's `C` by stratified k-fold cross-validation on the training split.

use candle_core::Tensor;
use serde::Serialize;

use super::config::ProbeConfig;
use super::folds::stratified;
use super::logistic::Logistic;
use super::standardise::standardise;
use crate::error::Result;
use crate::metrics::accuracy;

/// What cross-validation measured: each grid value's held-out accuracy on each fold.
///
/// ```
/// let cv = ddcl_bench::CvScores {
///     grid: vec![0.1, 1.0, 10.0],
///     folds: 2,
///     accuracy: vec![vec![0.7, 0.8], vec![0.9, 0.8], vec![0.9, 0.8]],
///     mean: vec![0.75, 0.85, 0.85],
///     unconverged: 0,
/// };
/// assert_eq!(cv.best(), 1.0); // the smallest C of the best mean
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvScores {
    /// The values of `C` tried, increasing.
    pub grid: Vec<f64>,
    /// Folds.
    pub folds: usize,
    /// `accuracy[g][k]`: held-out accuracy on fold k of the fit at `grid[g]`.
    pub accuracy: Vec<Vec<f64>>,
    /// Mean over the folds per grid value.
    pub mean: Vec<f64>,
    /// Fits that stopped at `max_iter` rather than by the tolerance.
    pub unconverged: usize,
}

impl CvScores {
    /// The grid value of the highest mean accuracy; on ties the smallest (the strongest
    /// penalty), as scikit-learn's `LogisticRegressionCV` picks the first of its increasing
    /// `Cs`.
    pub fn best(&self) -> f64 {
        let mut best = 0;
        for (g, &m) in self.mean.iter().enumerate() {
            if m > self.mean[best] {
                best = g;
            }
        }
        self.grid.get(best).copied().unwrap_or(f64::NAN)
    }
}

/// Cross-validates `cfg.grid` on checked training rows `x` (N ≥ folds, f64) with `labels`:
/// per fold, standardised with the fold's training rows if `cfg.standardise`, each grid value
/// fitted from the previous one's solution.
pub(super) fn cross_validate(
    x: &Tensor,
    labels: &[usize],
    classes: usize,
    cfg: &ProbeConfig,
) -> Result<CvScores> {
    let fold = stratified(labels, cfg.folds, cfg.seed);
    let mut unconverged = 0;
    // per_fold[k][g]: fold k's held-out accuracy at grid[g]
    let mut per_fold = Vec::with_capacity(cfg.folds);
    for k in 0..cfg.folds {
        let rows = |held: bool| -> Vec<u32> {
            (0..labels.len())
                .filter(|&i| (fold[i] == k) == held)
                .map(|i| i as u32)
                .collect()
        };
        let (tr, va) = (rows(false), rows(true));
        let pick =
            |r: &[u32]| -> Result<Tensor> { Ok(x.index_select(&Tensor::new(r, x.device())?, 0)?) };
        let (x_tr, x_va) = (pick(&tr)?, pick(&va)?);
        let (x_tr, x_va) = if cfg.standardise {
            standardise(&x_tr, &x_va)?
        } else {
            (x_tr, x_va)
        };
        let y = |r: &[u32]| -> Vec<usize> { r.iter().map(|&i| labels[i as usize]).collect() };
        let (y_tr, y_va) = (y(&tr), y(&va));
        let mut warm = None;
        let mut scores = Vec::with_capacity(cfg.grid.len());
        for &c in &cfg.grid {
            let m = Logistic::fit_from(&x_tr, &y_tr, classes, c, cfg, warm.as_ref())?;
            scores.push(accuracy(&m.predict(&x_va)?, &y_va));
            unconverged += usize::from(!m.converged);
            warm = Some(m);
        }
        per_fold.push(scores);
    }
    let acc: Vec<Vec<f64>> = (0..cfg.grid.len())
        .map(|g| per_fold.iter().map(|s| s[g]).collect())
        .collect();
    let mean = acc
        .iter()
        .map(|a| a.iter().sum::<f64>() / a.len() as f64)
        .collect();
    Ok(CvScores {
        grid: cfg.grid.clone(),
        folds: cfg.folds,
        accuracy: acc,
        mean,
        unconverged,
    })
}
