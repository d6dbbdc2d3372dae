//! Building blocks with gradients through every op: candle_nn's `LayerNorm` runs a fused op
//! without backward, so the trainable encoders use this one, which loads the same weights and
//! also offers the fused op for the layers that do not train.

use candle_core::{Module, Result, Tensor};
use candle_nn::VarBuilder;

/// Layer normalisation over the last dimension written with differentiable ops
/// (`candle_nn::ops::layer_norm_slow`); weights `weight` and `bias` as in candle_nn.
#[derive(Debug, Clone)]
pub(crate) struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f32,
}

impl LayerNorm {
    pub(crate) fn new(size: usize, eps: f64, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            weight: vb.get_with_hints(size, "weight", candle_nn::Init::Const(1.0))?,
            bias: vb.get_with_hints(size, "bias", candle_nn::Init::Const(0.0))?,
            eps: eps as f32,
        })
    }

    /// The differentiable forward when `grad`, else candle_nn's fused op (one pass over each
    /// row, no backward): for frozen layers, whose output is detached anyway.
    pub(crate) fn forward_with(&self, xs: &Tensor, grad: bool) -> Result<Tensor> {
        if grad {
            self.forward(xs)
        } else {
            candle_nn::ops::layer_norm(&xs.contiguous()?, &self.weight, &self.bias, self.eps)
        }
    }
}

/// Softmax over the last dimension: candle_nn's fused `softmax_last_dim` (no backward) when
/// `grad` is false, else the differentiable `softmax`.
pub(crate) fn softmax_last_dim(xs: &Tensor, grad: bool) -> Result<Tensor> {
    if grad {
        candle_nn::ops::softmax(xs, candle_core::D::Minus1)
    } else {
        candle_nn::ops::softmax_last_dim(&xs.contiguous()?)
    }
}

impl Module for LayerNorm {
    fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        candle_nn::ops::layer_norm_slow(xs, &self.weight, &self.bias, self.eps)
    }
}

/// Which encoder variables train: none, the top `n` layers (and what sits above them), or all.
///
/// In YAML: `frozen` (or `0`), a number of top layers, or `all`.
///
/// ```
/// use ddcl_readout::Trainable;
/// assert_eq!(Trainable::Top(2).first_layer(6), Some(4));
/// assert_eq!(Trainable::All.first_layer(6), Some(0));
/// assert_eq!(Trainable::Frozen.first_layer(6), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(into = "TrainableRepr")]
pub enum Trainable {
    /// No encoder variable trains; the encoder's output is detached.
    #[default]
    Frozen,
    /// The top `n` layers and the final norm train; what lies below is detached.
    Top(usize),
    /// Every encoder variable trains, embeddings included.
    All,
}

impl Trainable {
    /// Index of the lowest trainable layer of an encoder with `layers` layers, `None` when
    /// frozen (or `Top(0)`).
    pub fn first_layer(self, layers: usize) -> Option<usize> {
        match self {
            Trainable::Frozen | Trainable::Top(0) => None,
            Trainable::Top(n) => Some(layers.saturating_sub(n)),
            Trainable::All => Some(0),
        }
    }

    /// Whether the embeddings (everything below layer 0) train.
    pub fn embeddings(self, layers: usize) -> bool {
        match self {
            Trainable::All => true,
            Trainable::Top(n) => n > layers,
            Trainable::Frozen => false,
        }
    }
}

/// How a [`Trainable`] is written: a number of top layers or a name.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum TrainableRepr {
    Layers(usize),
    Name(&'static str),
}

// Read by hand rather than through an untagged enum, so that a bad value (`-1`, `1.5`,
// `everything`) is named in the error with what is expected, instead of serde's "data did not
// match any variant of untagged enum".
impl<'de> serde::Deserialize<'de> for Trainable {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        use serde::de::{Error, Unexpected, Visitor};

        struct Setting;

        impl Visitor<'_> for Setting {
            type Value = Trainable;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("`frozen`, `all` or a number of top layers (>= 0)")
            }

            fn visit_u64<E: Error>(self, n: u64) -> std::result::Result<Trainable, E> {
                match usize::try_from(n) {
                    Ok(0) => Ok(Trainable::Frozen),
                    Ok(n) => Ok(Trainable::Top(n)),
                    Err(_) => Err(E::invalid_value(Unexpected::Unsigned(n), &self)),
                }
            }

            fn visit_i64<E: Error>(self, n: i64) -> std::result::Result<Trainable, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::invalid_value(Unexpected::Signed(n), &self)),
                }
            }

            fn visit_str<E: Error>(self, s: &str) -> std::result::Result<Trainable, E> {
                match s {
                    "frozen" => Ok(Trainable::Frozen),
                    "all" => Ok(Trainable::All),
                    _ => Err(E::invalid_value(Unexpected::Str(s), &self)),
                }
            }
        }

        d.deserialize_any(Setting)
    }
}

impl From<Trainable> for TrainableRepr {
    fn from(t: Trainable) -> Self {
        match t {
            Trainable::Frozen => TrainableRepr::Name("frozen"),
            Trainable::Top(n) => TrainableRepr::Layers(n),
            Trainable::All => TrainableRepr::Name("all"),
        }
    }
}
