//! The poolings as chains of candle ops, as ddcl-readout computed them before the one-pass ops:
//! the reference of the pooling tests and the comparison of the pooling benches. `mask` is
//! (B, T), 0/1 in the dtype of `h` (B, T, D).
#![allow(dead_code)]

use candle_core::{DType, Result, Tensor, D};

/// Real tokens per sequence, (B, 1).
fn counts(mask: &Tensor) -> Result<Tensor> {
    mask.sum_keepdim(D::Minus1)
}

/// 1, 2, ..., T in `dtype`.
fn positions(h: &Tensor, dtype: DType) -> Result<Tensor> {
    let t = h.dim(1)? as u32;
    Tensor::arange(1u32, t + 1, h.device())?.to_dtype(dtype)
}

pub fn mean(h: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let n = counts(mask)?.maximum(1.0)?;
    h.broadcast_mul(&mask.unsqueeze(2)?)?
        .sum(1)?
        .broadcast_div(&n)
}

pub fn mean_sqrt_len(h: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let masked = h.broadcast_mul(&mask.unsqueeze(2)?)?;
    masked
        .sum(1)?
        .broadcast_div(&counts(mask)?.sqrt()?.maximum(1e-9)?)
}

pub fn weighted_mean(h: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let pos = positions(h, h.dtype())?;
    let w = mask.broadcast_mul(&pos.unsqueeze(0)?)?;
    let sum = h.broadcast_mul(&w.unsqueeze(2)?)?.sum(1)?;
    sum.broadcast_div(&w.sum_keepdim(D::Minus1)?.maximum(1e-9)?)
}

pub fn max(h: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let n = counts(mask)?;
    let real = mask.unsqueeze(2)?.broadcast_as(h.shape())?.ne(0.0)?;
    let low = Tensor::new(f32::MIN, h.device())?
        .to_dtype(h.dtype())?
        .broadcast_as(h.shape())?;
    let max = real.where_cond(h, &low)?.max(1)?;
    max.broadcast_mul(&n.gt(0.0)?.to_dtype(h.dtype())?)
}

pub fn last_token(h: &Tensor, mask: &Tensor) -> Result<Tensor> {
    let n = counts(mask)?;
    // index of the last real token: argmax of mask * position, any padding side
    let pos = positions(h, DType::F32)?;
    let last = mask
        .to_dtype(DType::F32)?
        .broadcast_mul(&pos.unsqueeze(0)?)?
        .argmax_keepdim(D::Minus1)?;
    let (b, _, d) = h.dims3()?;
    let index = last.unsqueeze(2)?.broadcast_as((b, 1, d))?.contiguous()?;
    let picked = h.contiguous()?.gather(&index, 1)?.squeeze(1)?;
    picked.broadcast_mul(&n.gt(0.0)?.to_dtype(h.dtype())?)
}
