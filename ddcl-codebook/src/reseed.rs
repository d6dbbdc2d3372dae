//! Re-seeding codes from latents: the rows to take, and writing them into a codebook.

use candle_core::{Tensor, Var, D};
use rand::{rngs::StdRng, Rng};

use crate::Result;

/// `count` row indices of a batch of `m` rows (`m >= 1`): distinct when `m >= count`, drawn
/// with replacement otherwise (the Python library's `sample_vectors`).
pub(crate) fn pick_rows(m: usize, count: usize, rng: &mut StdRng) -> Vec<u32> {
    if m >= count {
        rand::seq::index::sample(rng, m, count)
            .into_iter()
            .map(|i| i as u32)
            .collect()
    } else {
        (0..count).map(|_| rng.random_range(0..m) as u32).collect()
    }
}

/// Writes `values` (R, W) into rows `rows` (R of them, distinct, each < K) of `var` (K, W), or of
/// `var` (K) when `values` is (R); every other row is left as it was.
pub(crate) fn write_rows(var: &Var, rows: &[usize], values: &Tensor) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let k = var.dim(0)?;
    let mut source = vec![0u32; k];
    let mut hit = vec![0u8; k];
    for (j, &r) in rows.iter().enumerate() {
        source[r] = j as u32;
        hit[r] = 1;
    }
    let device = var.device();
    let gathered = values.index_select(&Tensor::new(source, device)?, 0)?;
    let mut mask = Tensor::new(hit, device)?;
    if var.rank() == 2 {
        mask = mask.unsqueeze(D::Minus1)?;
    }
    let mask = mask.broadcast_as(var.shape())?;
    let next = mask.where_cond(&gathered.to_dtype(var.dtype())?, var.as_tensor())?;
    Ok(var.set(&next)?)
}
