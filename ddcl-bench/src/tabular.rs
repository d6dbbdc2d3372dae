//! A small encoder over features-as-tokens for tabular data: feature f of a row becomes the
//! token `x_f w_f + e_f`, then a shared residual MLP.

use candle_core::{DType, Module, Tensor};
use candle_nn::{Linear, VarBuilder};
use ddcl_readout::{Encode, Trainable};

/// Features-as-tokens encoder; its batch is a (B, F) tensor of standardised features.
pub struct TabularEncoder {
    value: Tensor,
    feature: Tensor,
    up: Linear,
    down: Linear,
    hidden: usize,
}

impl TabularEncoder {
    /// An encoder for `features` columns and token width `hidden`, variables from `vb`.
    pub fn new(features: usize, hidden: usize, vb: VarBuilder) -> candle_core::Result<Self> {
        let init = candle_nn::Init::Randn {
            mean: 0.0,
            stdev: 1.0,
        };
        Ok(Self {
            value: vb.get_with_hints((features, hidden), "value", init)?,
            feature: vb.get_with_hints((features, hidden), "feature", init)?,
            up: candle_nn::linear(hidden, 2 * hidden, vb.pp("up"))?,
            down: candle_nn::linear(2 * hidden, hidden, vb.pp("down"))?,
            hidden,
        })
    }
}

impl Encode for TabularEncoder {
    type Batch = Tensor;

    fn encode(&self, x: &Tensor) -> ddcl_readout::Result<(Tensor, Tensor)> {
        let (b, f) = x.dims2()?;
        let tokens = x
            .unsqueeze(2)?
            .broadcast_mul(&self.value.unsqueeze(0)?)?
            .broadcast_add(&self.feature.unsqueeze(0)?)?;
        let h = (&tokens + self.down.forward(&self.up.forward(&tokens)?.relu()?)?)?;
        Ok((h, Tensor::ones((b, f), DType::U8, x.device())?))
    }

    fn hidden_size(&self) -> usize {
        self.hidden
    }

    fn set_trainable(&mut self, _: Trainable) {}

    fn is_trainable(&self, _: &str) -> bool {
        true
    }
}
