//! How a codebook's codes start: a random init hint, or k-means on the first training batch.

use candle_core::{DType, Tensor};

use crate::nearest::{nearest, unit};
use crate::Result;

/// The initial codes of a [`DdclCodebook`](crate::DdclCodebook) or
/// [`VectorQuantizer`](crate::VectorQuantizer).
///
/// ```
/// use ddcl_codebook::CodeInit;
/// let init = CodeInit::KMeans { iters: 10, seed: 0 };
/// assert_ne!(init, CodeInit::Uniform);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CodeInit {
    /// Kaiming-uniform codes, `U(-sqrt(6 / D), sqrt(6 / D))`, the init hint of a fresh
    /// `VarMap` (the Python library's default).
    #[default]
    Uniform,
    /// On the first training batch: k-means++ seeding from the batch's latents
    /// ([`ddcl_core::kmeans_pp`]), then `iters` Lloyd iterations (0 keeps the seeding as is).
    KMeans {
        /// Lloyd iterations after the seeding.
        iters: usize,
        /// Seed of the k-means++ picks.
        seed: u64,
    },
}

impl CodeInit {
    /// The candle init hint for a fresh (K, D) codebook.
    pub(crate) fn hint(&self, dim: usize) -> candle_nn::Init {
        let bound = (6.0 / dim as f64).sqrt();
        match self {
            Self::Uniform => candle_nn::Init::Uniform {
                lo: -bound,
                up: bound,
            },
            // overwritten by the first batch; zeros until then, as the Python library does
            Self::KMeans { .. } => candle_nn::Init::Const(0.0),
        }
    }
}

/// k-means of the rows of `x` (M, D) into `k` codes: k-means++ seeding, then `iters` Lloyd
/// iterations (an empty cluster keeps its code). With `cosine`, rows are unit-normalised and so
/// are the means. Returns the codes (K, D) and the size of each code's cluster in the last
/// assignment (K), both in x's dtype.
///
/// Lloyd's iterations are written here because ddcl-core has the seeding only and no maintained
/// candle crate has them; they are a few tensor ops, so they run wherever the latents live.
pub(crate) fn kmeans(
    x: &Tensor,
    k: usize,
    iters: usize,
    cosine: bool,
    seed: u64,
) -> Result<(Tensor, Tensor)> {
    let x = if cosine {
        unit(&x.detach())?
    } else {
        x.detach()
    };
    let mut codes = ddcl_core::kmeans_pp(&x.unsqueeze(0)?, None, k, seed)?;
    let mut iter = 0;
    loop {
        let (idx, _) = nearest(&x, &codes)?;
        let counts = cluster_sizes(&idx, k, x.dtype())?;
        if iter == iters {
            return Ok((codes, counts));
        }
        let sums = Tensor::zeros(codes.shape(), x.dtype(), x.device())?.index_add(&idx, &x, 0)?;
        let means = sums.broadcast_div(&counts.maximum(1.0)?.unsqueeze(1)?)?;
        let means = if cosine { unit(&means)? } else { means };
        let empty = counts.eq(0.0)?.unsqueeze(1)?.broadcast_as(codes.shape())?;
        codes = empty.where_cond(&codes, &means)?;
        iter += 1;
    }
}

/// How many of `idx` (M) u32 fall on each of `k` codes, (K) in `dtype`.
pub(crate) fn cluster_sizes(idx: &Tensor, k: usize, dtype: DType) -> Result<Tensor> {
    let ones = Tensor::ones(idx.dims1()?, dtype, idx.device())?;
    Ok(Tensor::zeros(k, dtype, idx.device())?.index_add(idx, &ones, 0)?)
}
