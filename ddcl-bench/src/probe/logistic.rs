//! L2-penalised logistic regression, scikit-learn's `LogisticRegression(C=c)` (lbfgs), solved
//! by argmin's L-BFGS in f64.

use argmin::core::{Executor, State, TerminationReason};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use candle_core::{DType, Tensor};

use super::config::ProbeConfig;
use super::objective::{columns, logits, probabilities, Objective};
use super::stop::{max_abs_gradient, SklearnStop};
use crate::error::{Error, Result};

/// Corrections L-BFGS keeps (scipy's `maxcor`, which scikit-learn leaves at 10).
const HISTORY: usize = 10;

/// A fitted logistic regression: for K = 2 classes one weight column (class 1's logit against
/// class 0's zero, scikit-learn's binomial loss), otherwise one per class (the multinomial loss).
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_bench::{Logistic, ProbeConfig};
/// let x = Tensor::new(&[[0f64, 0.], [0., 1.], [5., 5.], [5., 6.]], &Device::Cpu)?;
/// let m = Logistic::fit(&x, &[0, 0, 1, 1], 2, 1.0, &ProbeConfig::default())?;
/// assert!(m.converged);
/// assert_eq!(m.predict(&x)?, [0, 0, 1, 1]);
/// let p = m.proba(&x)?;
/// assert!(p[0] > 0.9 && (p[0] + p[1] - 1.0).abs() < 1e-12);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Logistic {
    /// Classes K.
    pub classes: usize,
    /// `W`, (F, K') row-major: K' = 1 for two classes, else K (scikit-learn's `coef_.T`).
    pub weights: Vec<f64>,
    /// The K' intercepts (unpenalised).
    pub intercept: Vec<f64>,
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// Whether it stopped by scikit-learn's rule (gradient or relative cost reduction), not
    /// at `max_iter`.
    pub converged: bool,
    /// The largest absolute entry of the (scaled) gradient where it stopped.
    pub gradient: f64,
}

impl Logistic {
    /// Fits `x` (N, F) with `labels` (each below `classes`) at strength `c`, with `cfg`'s
    /// `tol` and `max_iter` (its `c`, grid and standardisation are not used here), from zero;
    /// settings and inputs are checked first.
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use ddcl_bench::{Logistic, ProbeConfig};
    /// let x = Tensor::new(&[[0f64], [1.]], &Device::Cpu)?;
    /// assert!(Logistic::fit(&x, &[0, 1], 2, 0.0, &ProbeConfig::default()).is_err());
    /// assert!(Logistic::fit(&x, &[0, 2], 2, 1.0, &ProbeConfig::default()).is_err());
    /// # Ok::<(), ddcl_bench::Error>(())
    /// ```
    pub fn fit(
        x: &Tensor,
        labels: &[usize],
        classes: usize,
        c: f64,
        cfg: &ProbeConfig,
    ) -> Result<Self> {
        ProbeConfig {
            c: Some(c),
            ..cfg.clone()
        }
        .check()?;
        let x = features(x, "x", None)?;
        check_labels(labels, x.dim(0)?, classes)?;
        Self::fit_from(&x, labels, classes, c, cfg, None)
    }

    /// [`Logistic::fit`] on checked inputs (`x` f64), from `warm`'s solution if given.
    pub(super) fn fit_from(
        x: &Tensor,
        labels: &[usize],
        classes: usize,
        c: f64,
        cfg: &ProbeConfig,
        warm: Option<&Logistic>,
    ) -> Result<Self> {
        let objective = Objective::new(x, labels, classes, c);
        let init = match warm {
            Some(w) => [w.weights.as_slice(), &w.intercept].concat(),
            None => vec![0.0; objective.len()?],
        };
        let solver = SklearnStop {
            inner: LBFGS::new(MoreThuenteLineSearch::new(), HISTORY),
            tol: cfg.tol,
        };
        let result = Executor::new(objective, solver)
            .configure(|s| s.param(init).max_iters(cfg.max_iter as u64))
            .run()
            .map_err(|e| Error::Solver(e.to_string()))?;
        let state = result.state();
        let theta = state
            .get_param()
            .ok_or_else(|| Error::Solver("L-BFGS returned no parameters".into()))?;
        let split = theta.len() - columns(classes);
        Ok(Self {
            classes,
            weights: theta[..split].to_vec(),
            intercept: theta[split..].to_vec(),
            iterations: state.get_iter() as usize,
            converged: state.get_termination_reason() == Some(&TerminationReason::SolverConverged),
            gradient: max_abs_gradient(state),
        })
    }

    /// Features F.
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use ddcl_bench::{Logistic, ProbeConfig};
    /// let x = Tensor::new(&[[0f64, 1., 2.], [3., 4., 5.], [6., 7., 8.]], &Device::Cpu)?;
    /// let m = Logistic::fit(&x, &[0, 1, 2], 3, 1.0, &ProbeConfig::default())?;
    /// assert_eq!((m.features(), m.weights.len(), m.intercept.len()), (3, 9, 3));
    /// # Ok::<(), ddcl_bench::Error>(())
    /// ```
    pub fn features(&self) -> usize {
        self.weights.len() / self.intercept.len()
    }

    /// Class probabilities of the rows of `x` (M, F): (M, K) row-major. See [`Logistic`].
    pub fn proba(&self, x: &Tensor) -> Result<Vec<f64>> {
        Ok(probabilities(&self.logits(x)?, self.classes))
    }

    /// The most probable class of each row of `x` (M, F) (the first on ties, as scikit-learn).
    /// See [`Logistic`].
    pub fn predict(&self, x: &Tensor) -> Result<Vec<usize>> {
        let z = self.logits(x)?;
        let cols = self.intercept.len();
        Ok(z.chunks_exact(cols)
            .map(|row| {
                if self.classes == 2 {
                    (row[0] > 0.0) as usize
                } else {
                    (0..cols).fold(0, |b, j| if row[j] > row[b] { j } else { b })
                }
            })
            .collect())
    }

    fn logits(&self, x: &Tensor) -> Result<Vec<f64>> {
        let x = features(x, "x", Some(self.features()))?;
        logits(
            &x,
            &[self.weights.as_slice(), &self.intercept].concat(),
            self.intercept.len(),
        )
    }
}

/// `x` as a contiguous (N, F) f64 tensor, checked: rank 2, `width` columns where given, every
/// value finite.
pub(super) fn features(x: &Tensor, name: &'static str, width: Option<usize>) -> Result<Tensor> {
    let dims = x.dims();
    if dims.len() != 2 || width.is_some_and(|w| w != dims[1]) {
        return Err(ddcl_core::Error::Shape {
            name,
            expected: width.map_or("(N, F)".into(), |w| format!("(N, {w})")),
            got: dims.to_vec(),
        }
        .into());
    }
    let x = x.to_dtype(DType::F64)?.contiguous()?;
    // x − x is 0 where x is finite and NaN elsewhere
    if x.sub(&x)?.sum_all()?.to_scalar::<f64>()? != 0.0 {
        let v = x.flatten_all()?.to_vec1::<f64>()?;
        let bad: Vec<usize> = (0..v.len()).filter(|&i| !v[i].is_finite()).collect();
        return Err(ddcl_core::Error::NonFinite {
            name,
            count: bad.len(),
            first: bad.first().copied().unwrap_or(0),
        }
        .into());
    }
    Ok(x)
}

/// One label per row of the `rows` rows, each below `classes`.
pub(super) fn check_labels(labels: &[usize], rows: usize, classes: usize) -> Result<()> {
    if labels.len() != rows || rows == 0 {
        return Err(ddcl_core::Error::Shape {
            name: "labels",
            expected: format!("one per row of the features, at least one ({rows} rows)"),
            got: vec![labels.len()],
        }
        .into());
    }
    if let Some(&class) = labels.iter().find(|&&l| l >= classes) {
        return Err(ddcl_readout::Error::Label { class, classes }.into());
    }
    Ok(())
}
