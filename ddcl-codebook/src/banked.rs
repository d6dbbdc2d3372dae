//! What DDCL and VQ offer alike as [`Quantizer`]s: both hold a [`Bank`] and differ only in a
//! training step, so the interface is written once over the two.

use candle_core::Tensor;

use crate::bank::Bank;
use crate::quantizer::{LossParts, QuantOutput, Quantizer};
use crate::Result;

/// A quantiser over a learned code bank: at inference it gives the bank's hard code.
pub(crate) trait Banked {
    /// The codes it quantises to.
    fn bank(&self) -> &Bank;

    /// One training pass on latents `z` (B, N, D), already checked to be (`b`, `n`, D).
    fn train_step(&mut self, z: &Tensor, b: usize, n: usize) -> Result<QuantOutput>;
}

impl<T: Banked> Quantizer for T {
    /// In training: the quantiser's training step (see its `train_step`). At inference: the
    /// hard code, a zero loss, and every state left alone.
    fn quantize(&mut self, z: &Tensor, train: bool) -> Result<QuantOutput> {
        let (b, n) = self.bank().check(z)?;
        if train {
            return self.train_step(z, b, n);
        }
        let indices = self.bank().encode(z)?;
        Ok(QuantOutput {
            z_q: self.bank().decode(&indices)?,
            indices,
            loss: Tensor::zeros((), z.dtype(), z.device())?,
            parts: LossParts::default(),
        })
    }

    fn encode(&self, z: &Tensor) -> Result<Tensor> {
        self.bank().encode(z)
    }

    /// The codes of `indices`, unit-normalised for a cosine codebook (the frame they were
    /// assigned in).
    fn decode(&self, indices: &Tensor) -> Result<Tensor> {
        self.bank().decode(indices)
    }

    fn codebook_size(&self) -> usize {
        self.bank().k()
    }

    fn dim(&self) -> usize {
        self.bank().dim()
    }
}
