//! The exponential moving average of each code's hits per batch, and which codes are dead.

use candle_core::{Tensor, Var};
use candle_nn::VarBuilder;

use crate::host;
use crate::reseed::write_rows;
use crate::Result;

/// EMA of the number of latents each code was nearest to, per training batch (the Python
/// library's `cluster_size`). A variable of the codebook's `VarBuilder`, so that checkpoints hold
/// it; it never takes part in a gradient.
#[derive(Debug, Clone)]
pub(crate) struct CodeUsage {
    ema: Var,
    decay: f64,
}

impl CodeUsage {
    /// Usage of `k` codes, all 0 in a fresh `VarMap`, under the variable `name` of `vb`.
    pub(crate) fn new(k: usize, decay: f64, vb: &VarBuilder, name: &str) -> Result<Self> {
        let t = vb.get_with_hints(k, name, candle_nn::Init::Const(0.0))?;
        Ok(Self {
            ema: Var::from_tensor(&t)?,
            decay,
        })
    }

    /// The usage, (K).
    pub(crate) fn tensor(&self) -> &Tensor {
        self.ema.as_tensor()
    }

    /// `usage <- decay * usage + (1 - decay) * counts`, counts (K) of this batch.
    pub(crate) fn update(&self, counts: &Tensor) -> Result<()> {
        let next = ((self.ema.as_tensor() * self.decay)? + (counts * (1.0 - self.decay))?)?;
        Ok(self.ema.set(&next.to_dtype(self.ema.dtype())?)?)
    }

    /// Overwrites the usage with `counts` (K), as after a k-means initialisation.
    pub(crate) fn set(&self, counts: &Tensor) -> Result<()> {
        Ok(self.ema.set(&counts.to_dtype(self.ema.dtype())?)?)
    }

    /// The codes whose usage is below `threshold`, in increasing order.
    pub(crate) fn below(&self, threshold: f64) -> Result<Vec<usize>> {
        Ok(host::values(self.ema.as_tensor())?
            .iter()
            .enumerate()
            .filter_map(|(k, &u)| (u < threshold).then_some(k))
            .collect())
    }

    /// Whether no batch has been counted yet (every usage exactly 0).
    pub(crate) fn is_fresh(&self) -> Result<bool> {
        Ok(host::values(self.ema.as_tensor())?
            .iter()
            .all(|&u| u == 0.0))
    }

    /// Sets the usage of `codes` to `value` (a re-seeded code starts at the threshold).
    pub(crate) fn reset(&self, codes: &[usize], value: f64) -> Result<()> {
        let values = Tensor::full(value as f32, codes.len(), self.ema.device())?;
        write_rows(&self.ema, codes, &values)
    }
}
