//! What the trainer needs of an encoder.

use candle_core::Tensor;

use crate::{FrozenOutputs, Result, Trainable};

/// An encoder the trainer can drive: it turns a batch into hidden states and a mask, and says
/// which of its variables train.
///
/// [`crate::TextEncoder`] and [`crate::ImageEncoder`] implement it; so can any source of hidden
/// states, here one whose batch already is the (B, T, D) tensor:
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_readout::{Encode, Trainable};
///
/// struct Given;
/// impl Encode for Given {
///     type Batch = Tensor;
///     fn encode(&self, h: &Tensor) -> ddcl_readout::Result<(Tensor, Tensor)> {
///         let (b, t, _) = h.dims3()?;
///         Ok((h.clone(), Tensor::ones((b, t), h.dtype(), h.device())?))
///     }
///     fn hidden_size(&self) -> usize { 4 }
///     fn set_trainable(&mut self, _: Trainable) {}
///     fn is_trainable(&self, _: &str) -> bool { false }
/// }
///
/// let h = Tensor::zeros((2, 3, 4), candle_core::DType::F32, &Device::Cpu)?;
/// let (h, mask) = Given.encode(&h)?;
/// assert_eq!(mask.dims(), [2, 3]);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
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
