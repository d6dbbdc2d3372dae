//! Soft assignment of tokens to prototypes, and the loss split L_SQ = L_OLS + V.

use candle_core::{DType, Tensor, D};

use crate::config::{AssignConfig, Backend};
use crate::input::{self, Inputs};
use crate::matmul::matmul;
use crate::{fused, reference, Error, Result};

/// The three loss terms as masked means over real tokens (scalars); zero when there is none.
#[derive(Debug, Clone)]
pub struct Losses {
    /// `L_SQ = mean_t sum_k q[t,k] ||h_t - p_k||^2`, the soft quantisation loss.
    pub sq: Tensor,
    /// L_OLS = mean_t ||h_t - hhat_t||^2, the reconstruction loss.
    pub ols: Tensor,
    /// `V = mean_t sum_k q[t,k] ||p_k - hhat_t||^2 >= 0`, the diversity term.
    pub var: Tensor,
}

impl Losses {
    /// `L_SQ - (L_OLS + V)`: zero in exact arithmetic.
    pub fn identity_residual(&self) -> Result<Tensor> {
        Ok((&self.sq - (&self.ols + &self.var)?)?)
    }

    /// `|L_SQ - L_OLS - V| / L_SQ` in f64 (0 when L_SQ is 0): what a run reports.
    pub fn relative_violation(&self) -> Result<f64> {
        let (sq, ols, var) = (scalar(&self.sq)?, scalar(&self.ols)?, scalar(&self.var)?);
        Ok(if sq == 0.0 {
            (ols + var).abs()
        } else {
            (sq - ols - var).abs() / sq
        })
    }
}

/// The value of a scalar tensor in f64.
fn scalar(t: &Tensor) -> Result<f64> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

/// The soft assignment of a batch and everything computed from it.
///
/// Rows of padding tokens are all zeros in `q`, `dist` and `token_losses`.
#[derive(Debug, Clone)]
pub struct Assignment {
    /// `q[b,t,k] = softmax_k(-||h - p_k||^2 / tau)`, (B, T, K).
    pub q: Tensor,
    /// `d[b,t,k] = ||h - p_k||^2`, (B, T, K).
    pub dist: Tensor,
    /// Per-token `[L_SQ, L_OLS, V]`, (B, T, 3).
    pub token_losses: Tensor,
    /// The mask as 0/1 in the dtype of the hidden states, (B, T).
    pub mask: Tensor,
    /// Number of real tokens per sequence, (B), in the dtype of the hidden states.
    pub tokens: Tensor,
    /// The masked means of the loss terms.
    pub losses: Losses,
}

/// Softly assigns the real tokens of `h` (B, T, D) to the prototypes `p` (K, D).
///
/// `mask` (B, T) marks real tokens with any non-zero value (any dtype); `None` means all tokens
/// are real. Gradients flow to `h` and `p` on both backends.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_core::{assign, AssignConfig};
/// let h = Tensor::randn(0f32, 1., (2, 5, 8), &Device::Cpu)?;
/// let p = Tensor::randn(0f32, 1., (3, 8), &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u8, 1, 1, 0, 0], [1, 1, 1, 1, 1]], &Device::Cpu)?;
/// let a = assign(&h, Some(&mask), &p, &AssignConfig::new(1.0)?)?;
/// assert_eq!(a.q.dims(), &[2, 5, 3]);
/// assert!(a.losses.relative_violation()? < 1e-5);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn assign(
    h: &Tensor,
    mask: Option<&Tensor>,
    p: &Tensor,
    cfg: &AssignConfig,
) -> Result<Assignment> {
    let inputs = input::check(h, mask, p, cfg.tau(), cfg.check_finite())?;
    let (q, dist, token_losses, means) = match cfg.backend() {
        Backend::Reference => {
            let (q, dist, token_losses) = reference::assign(h, &inputs.mask, p, cfg.tau())?;
            let means = token_mean(&token_losses, &inputs.mask)?;
            (q, dist, token_losses, means)
        }
        Backend::Fused => fused_assign(h, p, &inputs, cfg)?,
    };
    let mask = inputs.mask;
    let tokens = mask.sum(D::Minus1)?;
    let losses = Losses {
        sq: means.get(0)?,
        ols: means.get(1)?,
        var: means.get(2)?,
    };
    Ok(Assignment {
        q,
        dist,
        token_losses,
        mask,
        tokens,
        losses,
    })
}

/// The masked means of the token losses `terms` (B, T, 3) over the real tokens of `mask` (B, T),
/// (3); zeros when there is none. Padding rows of `terms` are zeros: one sum over all rows,
/// accumulated in f64 as the fused kernel does (a sum of many large terms stays finite where
/// the mean is), then returned in the dtype of `terms`.
fn token_mean(terms: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let (b, t, w) = terms.dims3()?;
    let n = mask.to_dtype(DType::F64)?.sum_all()?.maximum(1.0)?;
    let ones = Tensor::ones((1, b * t), DType::F64, terms.device())?;
    let sums = matmul(&ones, &terms.to_dtype(DType::F64)?.reshape((b * t, w))?)?;
    Ok(sums
        .squeeze(0)?
        .broadcast_div(&n)?
        .to_dtype(terms.dtype())?)
}

/// q, d, the token losses and their means on the fused backend: one custom op.
fn fused_assign(
    h: &Tensor,
    p: &Tensor,
    inputs: &Inputs,
    cfg: &AssignConfig,
) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    // the `cuda` feature's kernels (src/cuda) run the same custom op on NVIDIA GPUs
    let on_gpu = cfg!(feature = "cuda") && h.device().is_cuda();
    if !h.device().is_cpu() && !on_gpu {
        return Err(Error::Device {
            name: "fused backend",
            reason: format!(
                "runs on CPU; {:?} needs Backend::Reference",
                h.device().location()
            ),
        });
    }
    let (dtypes, expected) = if on_gpu {
        (
            &[DType::F32, DType::BF16, DType::F16][..],
            "f32, bf16 or f16 on the fused backend on CUDA",
        )
    } else {
        (
            &[DType::F32, DType::F64][..],
            "f32 or f64 on the fused backend",
        )
    };
    if !dtypes.contains(&h.dtype()) {
        return Err(Error::DType {
            name: "hidden",
            expected,
            got: h.dtype(),
        });
    }
    let (b, t, _) = h.dims3()?;
    let (n, k) = (b * t, inputs.k);
    let y = h.contiguous()?.apply_op3(
        &p.contiguous()?,
        &inputs.mask.contiguous()?,
        fused::Assign {
            tau: cfg.tau(),
            simd: cfg.simd(),
        },
    )?;
    // three contiguous planes (q, d, loss terms), then the loss means
    let plane = |start: usize, len: usize, w: usize| y.narrow(0, start, len)?.reshape((b, t, w));
    Ok((
        plane(0, n * k, k)?,
        plane(n * k, n * k, k)?,
        plane(2 * n * k, n * 3, 3)?,
        y.narrow(0, 2 * n * k + n * 3, 3)?,
    ))
}
