//! Nearest codes and unit normalisation: the hard half of every codebook.

use candle_core::{DType, Tensor, D};

use crate::Result;

/// `x` (..., D) scaled to unit L2 norm along the last dimension (rows of norm below 1e-12 are
/// divided by 1e-12, as `torch.nn.functional.normalize` does). Differentiable.
pub(crate) fn unit(x: &Tensor) -> Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
    Ok(x.broadcast_div(&norm)?)
}

/// For each row of `x` (M, D), the index of the nearest row of `codes` (K, D) in squared
/// Euclidean distance, (M) u32, and that squared distance, (M) in x's dtype. No gradient.
///
/// The distances are expanded as `||x||^2 - 2 x.c + ||c||^2`, one matrix product; rounding can
/// make a distance of a point on a code slightly negative, so the minimum is clamped at 0 (it is
/// only used as a scale and to pick the argmin, which the expansion does not change).
pub(crate) fn nearest(x: &Tensor, codes: &Tensor) -> Result<(Tensor, Tensor)> {
    let (x, codes) = (x.detach(), codes.detach());
    let x2 = x.sqr()?.sum_keepdim(1)?; // (M, 1)
    let c2 = codes.sqr()?.sum(1)?.unsqueeze(0)?; // (1, K)
    let dist = x2
        .broadcast_add(&c2)?
        .sub(&(x.matmul(&codes.t()?)? * 2.0)?)?;
    let idx = dist.argmin_keepdim(1)?;
    let dmin = dist.gather(&idx, 1)?.squeeze(1)?.maximum(0.0)?;
    Ok((idx.squeeze(1)?.to_dtype(DType::U32)?, dmin))
}
