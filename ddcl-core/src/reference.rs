//! The reference path: the definitions of [`crate::math`] written as plain candle ops.
//!
//! Every quantity is computed from differences, as defined, so this path is the accuracy yardstick
//! of the fused one; it materialises (B, T, K, D) tensors and is meant for tests and small inputs.

use candle_core::{Tensor, D};

use crate::input::masked;
use crate::Result;

/// Returns `(q, d, token_losses)`: (B, T, K), (B, T, K) and (B, T, 3) with padding rows zero.
pub(crate) fn assign(
    h: &Tensor,
    mask: &Tensor,
    p: &Tensor,
    tau: f64,
) -> Result<(Tensor, Tensor, Tensor)> {
    let m = mask.unsqueeze(2)?;
    let h = masked(h, mask)?;
    // diff[t,k] = h_t - p_k, (B, T, K, D)
    let diff = h
        .unsqueeze(2)?
        .broadcast_sub(&p.unsqueeze(0)?.unsqueeze(0)?)?;
    let d = diff.sqr()?.sum(D::Minus1)?;
    // softmax_k(-d/tau), shifted by the (constant) row minimum of d before the division: the
    // nearest prototype's logit is exactly 0 however small tau is, so a row never becomes
    // all -inf (and NaN after the shift), as -d/tau would for d/tau beyond the dtype's range
    let z = (d
        .broadcast_sub(&d.min_keepdim(D::Minus1)?.detach())?
        .neg()?
        / tau)?
        .exp()?;
    let q = z
        .broadcast_div(&z.sum_keepdim(D::Minus1)?)?
        .broadcast_mul(&m)?;
    let d = d.broadcast_mul(&m)?;
    // h_t - hhat_t = sum_k q[t,k] (h_t - p_k) and hhat_t - p_k = diff[t,k] - (h_t - hhat_t),
    // both from differences so that nothing cancels.
    let qw = q.unsqueeze(3)?;
    let e = diff.broadcast_mul(&qw)?.sum_keepdim(2)?;
    let l_sq = (&q * &d)?.sum(D::Minus1)?;
    let l_ols = e.sqr()?.sum(D::Minus1)?.squeeze(2)?;
    let spread = diff.broadcast_sub(&e)?.sqr()?.sum(D::Minus1)?;
    let var = (&q * spread)?.sum(D::Minus1)?;
    let terms = Tensor::stack(&[l_sq, l_ols, var], 2)?;
    Ok((q, d, terms))
}
