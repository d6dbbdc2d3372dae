//! scikit-learn's logistic-regression objective and its gradient, as argmin's cost and gradient.
//!
//! The parameters are one vector `θ = [W, b]`: `W` is (F, K') row-major and `b` holds the K'
//! intercepts. With K = 2 classes K' = 1 and class 1's logit is `x·w + b` against class 0's
//! zero (scikit-learn's binomial loss); otherwise K' = K (the multinomial loss). For N rows and
//! strength C the objective is scikit-learn's, divided as scikit-learn divides it by `C·N`:
//!
//! `f(θ) = (1/N)·Σ_i CE(x_i, y_i) + ||W||² / (2·C·N)`  (the intercepts are not penalised),
//!
//! whose minimiser is that of `0.5·||W||² + C·Σ_i CE(x_i, y_i)`.

use std::cell::RefCell;

use candle_core::{Device, Tensor};

use crate::error::Result;

/// Columns of `W`: 1 for two classes (binomial), else one per class.
pub(super) fn columns(classes: usize) -> usize {
    if classes == 2 {
        1
    } else {
        classes
    }
}

/// The logits `X·W + b` of the rows of `x` (N, F), as an (N, K') row-major vector.
pub(super) fn logits(x: &Tensor, theta: &[f64], cols: usize) -> Result<Vec<f64>> {
    let f = x.dim(1)?;
    let w = Tensor::from_slice(&theta[..f * cols], (f, cols), &Device::Cpu)?;
    let mut z = x.matmul(&w)?.flatten_all()?.to_vec1::<f64>()?;
    let b = &theta[f * cols..];
    for row in z.chunks_exact_mut(cols) {
        row.iter_mut().zip(b).for_each(|(z, b)| *z += b);
    }
    Ok(z)
}

/// Each row's class probabilities from its K' logits: a softmax over K classes, or for two
/// classes `[1 − σ(z), σ(z)]`; (N, K) row-major.
pub(super) fn probabilities(z: &[f64], classes: usize) -> Vec<f64> {
    let cols = columns(classes);
    let mut p = Vec::with_capacity(z.len() / cols * classes);
    for row in z.chunks_exact(cols) {
        if classes == 2 {
            let s = sigmoid(row[0]);
            p.extend([1.0 - s, s]);
        } else {
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let e: Vec<f64> = row.iter().map(|z| (z - m).exp()).collect();
            let s: f64 = e.iter().sum();
            p.extend(e.iter().map(|e| e / s));
        }
    }
    p
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// The objective on training rows `x` (N, F, f64) with `labels`, for strength `c`.
pub(super) struct Objective<'a> {
    x: &'a Tensor,
    labels: &'a [usize],
    classes: usize,
    /// `1 / (C·N)`.
    lambda: f64,
    /// The last point evaluated: argmin's line search asks for the cost and then the gradient
    /// at the same point, and both need the same product `X·W`.
    last: RefCell<Option<(Vec<f64>, Eval)>>,
}

/// The objective at one point, with what its gradient needs.
struct Eval {
    cost: f64,
    /// `(P − Y) / N`, (N, K') row-major.
    residual: Vec<f64>,
}

impl<'a> Objective<'a> {
    /// The objective; `x` is (N, F) f64 with N ≥ 1 and every label below `classes`.
    pub(super) fn new(x: &'a Tensor, labels: &'a [usize], classes: usize, c: f64) -> Self {
        Self {
            x,
            labels,
            classes,
            lambda: 1.0 / (c * labels.len() as f64),
            last: RefCell::new(None),
        }
    }

    /// The number of parameters, `(F + 1)·K'`.
    pub(super) fn len(&self) -> Result<usize> {
        Ok((self.x.dim(1)? + 1) * columns(self.classes))
    }

    fn eval(&self, theta: &[f64]) -> Result<Eval> {
        let cols = columns(self.classes);
        let n = self.labels.len() as f64;
        let z = logits(self.x, theta, cols)?;
        let mut residual = probabilities(&z, self.classes);
        let mut loss = 0.0;
        if self.classes == 2 {
            // keep class 1's column: σ(z) − y
            residual = residual.chunks_exact(2).map(|p| p[1]).collect();
            for ((r, &z), &y) in residual.iter_mut().zip(&z).zip(self.labels) {
                let y = (y == 1) as u8 as f64;
                // log(1 + e^z) − y·z, stably
                loss += z.max(0.0) + (-z.abs()).exp().ln_1p() - y * z;
                *r = (*r - y) / n;
            }
        } else {
            for ((p, z), &y) in residual
                .chunks_exact_mut(cols)
                .zip(z.chunks_exact(cols))
                .zip(self.labels)
            {
                let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let lse = m + z.iter().map(|z| (z - m).exp()).sum::<f64>().ln();
                loss += lse - z[y];
                p[y] -= 1.0;
                p.iter_mut().for_each(|p| *p /= n);
            }
        }
        let w = &theta[..theta.len() - cols];
        let norm2: f64 = w.iter().map(|w| w * w).sum();
        Ok(Eval {
            cost: loss / n + 0.5 * self.lambda * norm2,
            residual,
        })
    }

    /// The cached evaluation at `theta`, computing it if `theta` is not the last point.
    fn at<T>(&self, theta: &[f64], f: impl FnOnce(&Eval) -> Result<T>) -> Result<T> {
        let mut last = self.last.borrow_mut();
        if let Some((_, e)) = last.as_ref().filter(|(p, _)| p.as_slice() == theta) {
            return f(e);
        }
        let e = self.eval(theta)?;
        let out = f(&e);
        *last = Some((theta.to_vec(), e));
        out
    }

    fn gradient_of(&self, theta: &[f64], e: &Eval) -> Result<Vec<f64>> {
        let cols = columns(self.classes);
        let (n, f) = (self.labels.len(), self.x.dim(1)?);
        let r = Tensor::from_slice(&e.residual, (n, cols), &Device::Cpu)?;
        let mut g = self.x.t()?.matmul(&r)?.flatten_all()?.to_vec1::<f64>()?;
        g.iter_mut()
            .zip(&theta[..f * cols])
            .for_each(|(g, w)| *g += self.lambda * w);
        let mut gb = vec![0.0; cols];
        for row in e.residual.chunks_exact(cols) {
            gb.iter_mut().zip(row).for_each(|(g, r)| *g += r);
        }
        g.extend(gb);
        Ok(g)
    }
}

impl argmin::core::CostFunction for Objective<'_> {
    type Param = Vec<f64>;
    type Output = f64;

    fn cost(&self, theta: &Vec<f64>) -> std::result::Result<f64, argmin::core::Error> {
        Ok(self.at(theta, |e| Ok(e.cost))?)
    }
}

impl argmin::core::Gradient for Objective<'_> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;

    fn gradient(&self, theta: &Vec<f64>) -> std::result::Result<Vec<f64>, argmin::core::Error> {
        Ok(self.at(theta, |e| self.gradient_of(theta, e))?)
    }
}

#[cfg(test)]
mod tests {
    use argmin::core::{CostFunction, Gradient};

    use super::*;

    /// The gradient against central differences of the cost, for the multinomial and the
    /// binomial loss.
    #[test]
    fn gradient_matches_finite_differences() {
        for classes in [2, 3] {
            let (n, f) = (7, 4);
            let xs: Vec<f64> = (0..n * f)
                .map(|i| ((i * 37 % 11) as f64 - 5.0) / 3.0)
                .collect();
            let x = Tensor::from_vec(xs, (n, f), &Device::Cpu).unwrap();
            let labels: Vec<usize> = (0..n).map(|i| i % classes).collect();
            let obj = Objective::new(&x, &labels, classes, 0.7);
            let theta: Vec<f64> = (0..obj.len().unwrap())
                .map(|i| ((i * 13 % 7) as f64 - 3.0) / 5.0)
                .collect();
            let g = obj.gradient(&theta).unwrap();
            for (i, &gi) in g.iter().enumerate() {
                let h = 1e-6;
                let (mut up, mut down) = (theta.clone(), theta.clone());
                up[i] += h;
                down[i] -= h;
                let fd = (obj.cost(&up).unwrap() - obj.cost(&down).unwrap()) / (2.0 * h);
                assert!(
                    (fd - gi).abs() < 1e-7,
                    "classes {classes} θ[{i}]: {fd} vs {gi}"
                );
            }
        }
    }
}
