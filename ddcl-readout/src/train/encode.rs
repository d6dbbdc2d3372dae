//! What the trainer needs of an encoder.

use candle_core::Tensor;

use crate::{FrozenOutputs, Result, Trainable};

/// An encoder the trainer can drive: it turns a batch into hidden states and a mask, and says
/// which of its variables train.
pub trait Encode {
    /// What one batch of input is (token ids, pixels, ...).
    type Batch;
    /// Hidden states (B, T, D) and mask (B, T, 1 = real token) of a batch.
    fn encode(&self, batch: &Self::Batch) -> Result<(Tensor, Tensor)>;
    /// D.
    fn hidden_size(&self) -> usize;
    /// Chooses which layers train (and pass gradients).
    fn set_trainable(&mut self, trainable: Trainable);
    /// Whether the variable `name` (relative to the encoder's root) trains.
    fn is_trainable(&self, name: &str) -> bool;
    /// Chooses how the part that does not train is computed (the trainer asks for
    /// [`FrozenOutputs::Cached`]). Encoders that always run it on the padded batch ignore it.
    fn set_frozen_outputs(&mut self, mode: FrozenOutputs) {
        let _ = mode;
    }
}
