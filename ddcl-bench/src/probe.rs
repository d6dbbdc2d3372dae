//! The linear probe: scikit-learn's L2-penalised logistic regression, solved to convergence by
//! L-BFGS in f64, with its `C` fixed or chosen by stratified k-fold cross-validation on the
//! training split.

mod config;
mod cv;
mod folds;
mod logistic;
mod objective;
mod standardise;
mod stop;

use candle_core::Tensor;
use serde::Serialize;

pub use config::ProbeConfig;
pub use cv::CvScores;
pub use logistic::Logistic;
pub use standardise::standardise;

use crate::error::Result;
use cv::cross_validate;
use logistic::{check_labels, features};

/// One probe fit: the test rows' predictions and probabilities, and what results.json records.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[0f32], [1.], [9.], [10.]], &Device::Cpu)?;
/// let fit = ddcl_bench::probe(&x, &[0, 0, 1, 1], &x, 2, &ddcl_bench::ProbeConfig::fixed(1.0))?;
/// assert_eq!(fit.pred, [0, 0, 1, 1]);
/// assert_eq!(fit.proba.len(), 4 * 2);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeFit {
    /// Predicted class of each test row.
    pub pred: Vec<usize>,
    /// Class probabilities of the test rows, (M, K) row-major.
    pub proba: Vec<f64>,
    /// How `C` was chosen and how the final fit went.
    pub record: ProbeRecord,
}

/// How one probe fit went, as results.json records it.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[0f32], [1.], [2.], [8.], [9.], [10.]], &Device::Cpu)?;
/// let cfg = ddcl_bench::ProbeConfig { folds: 2, ..Default::default() };
/// let fit = ddcl_bench::probe(&x, &[0, 0, 0, 1, 1, 1], &x, 2, &cfg)?;
/// let cv = fit.record.cv.as_ref().expect("c is cross-validated by default");
/// assert_eq!(cv.grid, cfg.grid);
/// assert_eq!(fit.record.c, cv.best());
/// assert!(fit.record.converged && fit.record.standardised);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeRecord {
    /// The `C` of the final fit.
    pub c: f64,
    /// Whether the features were standardised.
    pub standardised: bool,
    /// The cross-validation that chose `C` (`None` when `probe.c` fixed it).
    pub cv: Option<CvScores>,
    /// L-BFGS iterations of the final fit.
    pub iterations: usize,
    /// Whether the final fit converged before `max_iter`.
    pub converged: bool,
}

/// Fits logistic regression on `train` features (N, F) with `labels` (each below `classes`)
/// and predicts the classes of `test` (M, F); deterministic. `C` is `cfg.c`, or chosen over
/// `cfg.grid` by `cfg.folds`-fold stratified cross-validation on `train` (N ≥ folds); with
/// `cfg.standardise` the features are standardised with the training rows' statistics. The
/// settings and inputs are checked before any work.
///
/// With [`ProbeConfig::fixed`]`(1.0)` this is scikit-learn's `LogisticRegression()`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[0f32, 0.], [0., 1.], [5., 5.], [5., 6.]], &Device::Cpu)?;
/// let fit = ddcl_bench::probe(&x, &[0, 0, 1, 1], &x, 2, &ddcl_bench::ProbeConfig::fixed(1.0))?;
/// assert_eq!(fit.pred, [0, 0, 1, 1]);
/// assert_eq!((fit.record.c, fit.record.cv.is_none()), (1.0, true));
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn probe(
    train: &Tensor,
    labels: &[usize],
    test: &Tensor,
    classes: usize,
    cfg: &ProbeConfig,
) -> Result<ProbeFit> {
    cfg.check()?;
    let train = features(train, "train", None)?;
    let (n, f) = train.dims2()?;
    let test = features(test, "test", Some(f))?;
    check_labels(labels, n, classes)?;
    if cfg.c.is_none() && n < cfg.folds {
        return Err(ddcl_core::Error::Shape {
            name: "train",
            expected: format!("at least probe.folds = {} rows", cfg.folds),
            got: vec![n, f],
        }
        .into());
    }
    let (c, cv) = match cfg.c {
        Some(c) => (c, None),
        None => {
            let cv = cross_validate(&train, labels, classes, cfg)?;
            (cv.best(), Some(cv))
        }
    };
    let (train, test) = if cfg.standardise {
        standardise(&train, &test)?
    } else {
        (train, test)
    };
    let model = Logistic::fit_from(&train, labels, classes, c, cfg, None)?;
    Ok(ProbeFit {
        pred: model.predict(&test)?,
        proba: model.proba(&test)?,
        record: ProbeRecord {
            c,
            standardised: cfg.standardise,
            cv,
            iterations: model.iterations,
            converged: model.converged,
        },
    })
}
