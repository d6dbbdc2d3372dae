//! Encoder, readout and task head, and the prefixes of their variables in a run's `VarMap`.

use candle_core::Tensor;
use candle_nn::{Linear, Module, VarBuilder};

use super::encode::Encode;
use crate::{DdclReadout, ReadoutOutput, Result, RunConfig};

/// Variables of the encoder live under this prefix in the run's `VarMap`.
pub const ENCODER: &str = "encoder.";
/// Variables of the readout live under `readout.`.
pub(super) const READOUT: &str = "readout";
/// Variables of the head live under `head.`.
pub(super) const HEAD: &str = "head";

/// Encoder, DDCL readout and a linear task head on the readout's summary.
///
/// ```no_run
/// # fn f(enc: ddcl_readout::TextEncoder, cfg: &ddcl_readout::RunConfig, b: &ddcl_readout::TextBatch) -> ddcl_readout::Result<()> {
/// let varmap = candle_nn::VarMap::new();
/// let vb = candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &candle_core::Device::Cpu);
/// let model = ddcl_readout::Classifier::new(enc, cfg, vb)?;
/// let (logits, out) = model.forward(b)?; // (B, classes), the readout's output
/// # Ok(())
/// # }
/// ```
pub struct Classifier<E> {
    /// The encoder.
    pub encoder: E,
    /// The readout.
    pub readout: DdclReadout,
    /// The task head, summary → class logits.
    pub head: Linear,
}

impl<E: Encode> Classifier<E> {
    /// Builds the readout (under `readout.`) and the head (under `head.`) from `vb`.
    ///
    /// ```no_run
    /// # fn f(enc: ddcl_readout::TextEncoder, cfg: &ddcl_readout::RunConfig, b: &ddcl_readout::TextBatch) -> ddcl_readout::Result<()> {
    /// let varmap = candle_nn::VarMap::new();
    /// let vb = candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &candle_core::Device::Cpu);
    /// let model = ddcl_readout::Classifier::new(enc, cfg, vb)?;
    /// let (logits, out) = model.forward(b)?; // (B, classes), the readout's output
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(encoder: E, cfg: &RunConfig, vb: VarBuilder) -> Result<Self> {
        let readout = DdclReadout::new(encoder.hidden_size(), &cfg.readout, vb.pp(READOUT))?;
        let head = candle_nn::linear(readout.width(), cfg.classes, vb.pp(HEAD))?;
        Ok(Self {
            encoder,
            readout,
            head,
        })
    }

    /// Class logits (B, classes) and the readout's output for a batch.
    ///
    /// ```no_run
    /// # fn f(enc: ddcl_readout::TextEncoder, cfg: &ddcl_readout::RunConfig, b: &ddcl_readout::TextBatch) -> ddcl_readout::Result<()> {
    /// let varmap = candle_nn::VarMap::new();
    /// let vb = candle_nn::VarBuilder::from_varmap(&varmap, candle_core::DType::F32, &candle_core::Device::Cpu);
    /// let model = ddcl_readout::Classifier::new(enc, cfg, vb)?;
    /// let (logits, out) = model.forward(b)?; // (B, classes), the readout's output
    /// # Ok(())
    /// # }
    /// ```
    pub fn forward(&self, batch: &E::Batch) -> Result<(Tensor, ReadoutOutput)> {
        let (h, mask) = self.encoder.encode(batch)?;
        let out = self.readout.forward_masked(&h, Some(&mask))?;
        Ok((self.head.forward(&out.summary)?, out))
    }
}
