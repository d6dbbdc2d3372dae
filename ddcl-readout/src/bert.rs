//! A BERT encoder that trains: candle-transformers' BERT weights, config and forward output,
//! with gradients through every layer.
//!
//! candle-transformers' `BertModel` applies `candle_nn::LayerNorm`, whose fused forward has no
//! backward (candle issues #2168, #2977), so no gradient reaches any of its variables. [`Bert`]
//! loads the very same safetensors (names `embeddings.*`, `encoder.layer.N.*`, optionally under
//! `bert.`) and computes the same output with differentiable ops. Dropout is not applied, as in
//! candle-transformers.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::{Embedding, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct, PositionEmbeddingType};

use crate::check::require;
use crate::layers::LayerNorm;
use crate::{Error, Result, Trainable};

struct Embeddings {
    word: Embedding,
    position: Embedding,
    token_type: Embedding,
    norm: LayerNorm,
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attn_out: Linear,
    attn_norm: LayerNorm,
    intermediate: Linear,
    act: HiddenAct,
    out: Linear,
    out_norm: LayerNorm,
    heads: usize,
}

/// A BERT encoder whose forward pass is differentiable end to end.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use candle_transformers::models::bert::Config;
/// use ddcl_readout::Bert;
/// let cfg: Config = serde_json::from_str(r#"{"vocab_size": 50, "hidden_size": 8,
///     "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 16,
///     "hidden_act": "gelu", "hidden_dropout_prob": 0.0, "max_position_embeddings": 16,
///     "type_vocab_size": 2, "initializer_range": 0.02, "layer_norm_eps": 1e-12,
///     "pad_token_id": 0}"#)?;
/// let varmap = VarMap::new();
/// let bert = Bert::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu), &cfg)?;
/// let ids = Tensor::new(&[[1u32, 5, 7, 2]], &Device::Cpu)?;
/// let h = bert.forward(&ids, &ids.zeros_like()?, &ids.ones_like()?)?;
/// assert_eq!(h.dims(), &[1, 4, 8]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Bert {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    cfg: Config,
    trainable: Trainable,
}

fn linear(i: usize, o: usize, std: f64, vb: VarBuilder) -> candle_core::Result<Linear> {
    let w = vb.get_with_hints(
        (o, i),
        "weight",
        candle_nn::Init::Randn {
            mean: 0.0,
            stdev: std,
        },
    )?;
    let b = vb.get_with_hints(o, "bias", candle_nn::Init::Const(0.0))?;
    Ok(Linear::new(w, Some(b)))
}

fn embedding(n: usize, d: usize, std: f64, vb: VarBuilder) -> candle_core::Result<Embedding> {
    let hint = candle_nn::Init::Randn {
        mean: 0.0,
        stdev: std,
    };
    Ok(Embedding::new(
        vb.get_with_hints((n, d), "weight", hint)?,
        d,
    ))
}

impl Bert {
    /// Loads (or, from a `VarMap`, initialises) a BERT with candle-transformers' `Config`.
    /// Weights may sit at the root or under `bert.`, as in candle-transformers.
    pub fn new(vb: VarBuilder, cfg: &Config) -> Result<Self> {
        if cfg.position_embedding_type != PositionEmbeddingType::Absolute {
            return Err(Error::config(
                "bert: position_embedding_type",
                format!(
                    "{:?} is not supported, only absolute position embeddings",
                    cfg.position_embedding_type
                ),
            ));
        }
        require(
            cfg.num_attention_heads > 0 && cfg.hidden_size.is_multiple_of(cfg.num_attention_heads),
            "bert: hidden_size",
            cfg.hidden_size as f64,
            format!(
                "a multiple of num_attention_heads {}",
                cfg.num_attention_heads
            ),
        )?;
        let vb = if vb.contains_tensor("bert.embeddings.word_embeddings.weight") {
            vb.pp("bert")
        } else {
            vb
        };
        let (d, std, eps) = (cfg.hidden_size, cfg.initializer_range, cfg.layer_norm_eps);
        let e = vb.pp("embeddings");
        let embeddings = Embeddings {
            word: embedding(cfg.vocab_size, d, std, e.pp("word_embeddings"))?,
            position: embedding(
                cfg.max_position_embeddings,
                d,
                std,
                e.pp("position_embeddings"),
            )?,
            token_type: embedding(cfg.type_vocab_size, d, std, e.pp("token_type_embeddings"))?,
            norm: LayerNorm::new(d, eps, e.pp("LayerNorm"))?,
        };
        let layers = (0..cfg.num_hidden_layers)
            .map(|i| {
                let l = vb.pp(format!("encoder.layer.{i}"));
                let (a, s) = (l.pp("attention"), l.pp("attention.self"));
                Ok(Layer {
                    query: linear(d, d, std, s.pp("query"))?,
                    key: linear(d, d, std, s.pp("key"))?,
                    value: linear(d, d, std, s.pp("value"))?,
                    attn_out: linear(d, d, std, a.pp("output.dense"))?,
                    attn_norm: LayerNorm::new(d, eps, a.pp("output.LayerNorm"))?,
                    intermediate: linear(
                        d,
                        cfg.intermediate_size,
                        std,
                        l.pp("intermediate.dense"),
                    )?,
                    act: cfg.hidden_act,
                    out: linear(cfg.intermediate_size, d, std, l.pp("output.dense"))?,
                    out_norm: LayerNorm::new(d, eps, l.pp("output.LayerNorm"))?,
                    heads: cfg.num_attention_heads,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            embeddings,
            layers,
            cfg: cfg.clone(),
            trainable: Trainable::All,
        })
    }

    /// The model's config.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Sets which layers pass gradients: below the lowest trainable layer the hidden state is
    /// detached, so frozen layers cost no backward pass. Default: all.
    pub fn set_trainable(&mut self, trainable: Trainable) {
        self.trainable = trainable;
    }

    /// Whether the variable `name` (relative to the model root) trains under the current
    /// setting.
    pub fn is_trainable(&self, name: &str) -> bool {
        let name = name.strip_prefix("bert.").unwrap_or(name);
        let layers = self.layers.len();
        if name.starts_with("embeddings.") {
            return self.trainable.embeddings(layers);
        }
        let layer = name
            .strip_prefix("encoder.layer.")
            .and_then(|rest| rest.split('.').next())
            .and_then(|i| i.parse::<usize>().ok());
        match (layer, self.trainable.first_layer(layers)) {
            (Some(i), Some(first)) => i >= first,
            _ => false,
        }
    }

    /// Last hidden state (B, T, H) for token ids and token type ids (B, T) and an attention
    /// mask (B, T, 1 = real token), as candle-transformers' `BertModel::forward`.
    pub fn forward(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> Result<Tensor> {
        let (_, t) = input_ids.dims2()?;
        let limit = self.cfg.max_position_embeddings;
        require(
            t <= limit,
            "bert: sequence length in tokens",
            t as f64,
            format!("<= max_position_embeddings {limit}"),
        )?;
        let e = &self.embeddings;
        let positions = Tensor::arange(0u32, t as u32, input_ids.device())?;
        let x = (e.word.forward(input_ids)? + e.token_type.forward(token_type_ids)?)?
            .broadcast_add(&e.position.forward(&positions)?)?;
        let mut x = e.norm.forward(&x)?;
        let dtype = x.dtype();
        let bias = attention_bias(attention_mask, dtype)?;
        let first = self.trainable.first_layer(self.layers.len());
        for (i, layer) in self.layers.iter().enumerate() {
            if Some(i) == first && !self.trainable.embeddings(self.layers.len()) {
                x = x.detach();
            }
            x = layer.forward(&x, &bias)?;
        }
        Ok(if first.is_none() { x.detach() } else { x })
    }
}

/// `(1 - mask) * f32::MIN`, shaped (B, 1, 1, T), as candle-transformers and transformers do.
fn attention_bias(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let mask = mask.to_dtype(dtype)?;
    let bias = ((mask.ones_like()? - &mask)? * f32::MIN as f64)?;
    Ok(bias.unsqueeze(1)?.unsqueeze(1)?)
}

impl Layer {
    fn forward(&self, x: &Tensor, bias: &Tensor) -> Result<Tensor> {
        let (b, t, d) = x.dims3()?;
        let hd = d / self.heads;
        let split = |l: &Linear| -> candle_core::Result<Tensor> {
            l.forward(x)?
                .reshape((b, t, self.heads, hd))?
                .transpose(1, 2)?
                .contiguous()
        };
        let (q, k, v) = (split(&self.query)?, split(&self.key)?, split(&self.value)?);
        let scores = (q.matmul(&k.t()?)? / (hd as f64).sqrt())?.broadcast_add(bias)?;
        let probs = candle_nn::ops::softmax(&scores, D::Minus1)?;
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .flatten_from(D::Minus2)?;
        let x = self
            .attn_norm
            .forward(&(self.attn_out.forward(&ctx)? + x)?)?;
        let inner = self.intermediate.forward(&x)?;
        let inner = match self.act {
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        Ok(self.out_norm.forward(&(self.out.forward(&inner)? + x)?)?)
    }
}
