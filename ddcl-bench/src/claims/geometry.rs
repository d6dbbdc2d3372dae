//! The geometry the timescale experiment measures: the token states' scale (RMS distance to
//! their mean), the largest eigenvalue of their covariance and the critical temperature it
//! sets, their effective rank, and prototype separation relative to the token scale.
//!
//! **Critical temperature.** With `q_tk = softmax_k(-||h_t - p_k||^2 / tau)` (ddcl-core's
//! convention) and every prototype at the token mean `mu` plus a small `delta_k`, write
//! `x_t = h_t - mu`, `u_k = delta_k - mean_j delta_j` and `C = mean_t x_t x_t^T`. To second
//! order in `delta`, with the gradient taken through `q` as the loss is trained,
//! `L_SQ = mean_t ||x_t||^2 + ||mean_j delta_j||^2 + (1/K) sum_k u_k^T (I - (4 / tau) C) u_k`,
//! so the collapsed bank is a local minimum exactly when `tau > 4 lambda_max(C)`:
//! `tau_c = 4 lambda_max` ([`CRITICAL_FACTOR`]). (The free energy of deterministic annealing
//! has `2 lambda_max`; L_SQ is the expected distortion, whose first-order change of `q` counts
//! twice.) Above `tau_c` prototypes cannot leave a collapsed start whatever the learning rates.

use candle_core::{DType, Tensor};
use nalgebra::DMatrix;

use crate::error::{Error, Result};

/// `tau_c = CRITICAL_FACTOR * lambda_max(C)` for L_SQ under ddcl-core's logits convention.
pub const CRITICAL_FACTOR: f64 = 4.0;

/// The shape of a cloud of token states.
///
/// ```
/// use candle_core::{Device, Tensor};
/// // four tokens at +-e1, +-e2: RMS distance 1 to the mean, two equal directions
/// let x = Tensor::new(&[[1f32, 0.], [-1., 0.], [0., 1.], [0., -1.]], &Device::Cpu)?;
/// let g = ddcl_bench::TokenGeometry::of(&x)?;
/// assert!((g.rms - 1.0).abs() < 1e-12 && (g.effective_rank - 2.0).abs() < 1e-9);
/// assert!((g.lambda_max - 0.5).abs() < 1e-12 && (g.critical_tau() - 2.0).abs() < 1e-12);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TokenGeometry {
    /// `sqrt(mean_t ||h_t - mu||^2)`.
    pub rms: f64,
    /// Largest eigenvalue of the covariance `mean_t (h_t - mu)(h_t - mu)^T`.
    pub lambda_max: f64,
    /// `exp` of the entropy of the centred states' singular values, normalised to sum 1: from 1
    /// (all tokens on a line) to D (spread evenly over every direction).
    pub effective_rank: f64,
}

impl TokenGeometry {
    /// The geometry of the rows of `x` (N, D), N >= 1, computed in f64.
    pub fn of(x: &Tensor) -> Result<Self> {
        let (n, d) = x.dims2()?;
        if n == 0 || d == 0 {
            return Err(Error::Count {
                name: "token states (rows, columns)",
                expected: 1,
                got: 0,
            });
        }
        let x = x.to_dtype(DType::F64)?;
        let centred = x.broadcast_sub(&x.mean_keepdim(0)?)?;
        let cov = (centred.t()?.matmul(&centred)? / n as f64)?;
        let values: Vec<f64> = cov.flatten_all()?.to_vec1()?;
        let eig = DMatrix::from_row_slice(d, d, &values).symmetric_eigenvalues();
        let lambda: Vec<f64> = eig.iter().map(|&l| l.max(0.0)).collect();
        let trace: f64 = lambda.iter().sum();
        let lambda_max = lambda.iter().copied().fold(0.0, f64::max);
        Ok(Self {
            rms: trace.sqrt(),
            lambda_max,
            effective_rank: effective_rank(&lambda),
        })
    }

    /// `tau_c = 4 lambda_max` (see the module's derivation).
    pub fn critical_tau(&self) -> f64 {
        CRITICAL_FACTOR * self.lambda_max
    }
}

/// exp(entropy) of the singular values `sqrt(lambda_i)` normalised to sum 1; 0 for a cloud of
/// one point.
fn effective_rank(lambda: &[f64]) -> f64 {
    let s: Vec<f64> = lambda.iter().map(|l| l.sqrt()).collect();
    let total: f64 = s.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let h: f64 = s
        .iter()
        .filter(|&&v| v > 0.0)
        .map(|&v| {
            let p = v / total;
            -p * p.ln()
        })
        .sum();
    h.exp()
}

/// Minimum and mean pairwise distance of the prototypes `p` (K, D), each over `scale` (the
/// tokens' RMS distance to their mean).
///
/// ```
/// use candle_core::{Device, Tensor};
/// let p = Tensor::new(&[[0f32, 0.], [2., 0.], [0., 4.]], &Device::Cpu)?;
/// let (min, mean) = ddcl_bench::relative_separation(&p, 2.0)?;
/// assert!((min - 1.0).abs() < 1e-6);
/// assert!((mean - (2.0 + 4.0 + 20f64.sqrt()) / 3.0 / 2.0).abs() < 1e-6);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn relative_separation(p: &Tensor, scale: f64) -> Result<(f64, f64)> {
    let s = ddcl_core::Separation::of(p)?;
    Ok((s.min / scale, s.mean / scale))
}

/// The rows of `h` (B, T, D) at the real tokens of `mask` (B, T), as (N, D).
pub(crate) fn real_tokens(h: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, t, d) = h.dims3()?;
    let flat = h.reshape((b * t, d))?;
    let keep: Vec<u32> = mask
        .to_dtype(DType::F32)?
        .flatten_all()?
        .to_vec1::<f32>()?
        .iter()
        .enumerate()
        .filter(|(_, &m)| m != 0.0)
        .map(|(i, _)| i as u32)
        .collect();
    let n = keep.len();
    Ok(flat.index_select(&Tensor::from_vec(keep, n, h.device())?, 0)?)
}
