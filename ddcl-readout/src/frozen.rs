//! How an encoder runs the part that does not train (the embeddings and the layers below the
//! lowest trainable one), and the per-example store that lets training compute that part once
//! per example instead of once per epoch.

use std::collections::HashMap;
use std::sync::Mutex;

use candle_core::Tensor;

use crate::{Error, Result};

/// How an encoder computes the output of its frozen part.
///
/// That output is detached (no gradient reaches the frozen weights), so it depends only on the
/// example: training can compute it once per example and reuse it every epoch. The numbers a
/// run produces are the same under [`FrozenOutputs::PerExample`] and
/// [`FrozenOutputs::Cached`], bit for bit; [`FrozenOutputs::Batched`] differs from them only by
/// float rounding (a padded batch sums in another order).
///
/// ```
/// use ddcl_readout::FrozenOutputs;
/// assert_eq!(FrozenOutputs::default(), FrozenOutputs::Batched);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FrozenOutputs {
    /// On the padded batch, every call: inference.
    #[default]
    Batched,
    /// Each example alone at its own length, every call (what `Cached` computes, without
    /// keeping it).
    PerExample,
    /// Each example alone at its own length, once, kept by the example's tokens for later
    /// calls: training, where each example recurs every epoch. Holds the frozen output
    /// (tokens × hidden floats) of every distinct example seen.
    Cached,
}

/// The frozen outputs computed so far under a [`FrozenOutputs`] mode, keyed by the example's
/// content (its token ids and token type ids).
#[derive(Debug, Default)]
pub(crate) struct FrozenStore {
    mode: FrozenOutputs,
    kept: Mutex<HashMap<Vec<u32>, Tensor>>,
}

impl FrozenStore {
    /// An empty store for `mode`.
    pub(crate) fn new(mode: FrozenOutputs) -> Self {
        Self {
            mode,
            kept: Mutex::default(),
        }
    }

    /// The mode.
    pub(crate) fn mode(&self) -> FrozenOutputs {
        self.mode
    }

    /// How many examples' outputs are kept.
    pub(crate) fn len(&self) -> Result<usize> {
        Ok(self.kept.lock().map_err(|_| Error::Poisoned)?.len())
    }

    /// The kept output for `key`, else `compute()` (kept under `Cached`).
    pub(crate) fn get_or(
        &self,
        key: Vec<u32>,
        compute: impl FnOnce() -> Result<Tensor>,
    ) -> Result<Tensor> {
        if self.mode != FrozenOutputs::Cached {
            return compute();
        }
        if let Some(t) = self.kept.lock().map_err(|_| Error::Poisoned)?.get(&key) {
            return Ok(t.clone());
        }
        let t = compute()?;
        self.kept
            .lock()
            .map_err(|_| Error::Poisoned)?
            .insert(key, t.clone());
        Ok(t)
    }
}
