//! A BERT encoder that trains: candle-transformers' BERT weights, config and forward output,
//! with gradients through every layer.
//!
//! candle-transformers' `BertModel` applies `candle_nn::LayerNorm`, whose fused forward has no
//! backward (candle issues #2168, #2977), so no gradient reaches any of its variables. [`Bert`]
//! loads the very same safetensors (names `embeddings.*`, `encoder.layer.N.*`, optionally under
//! `bert.`) and computes the same output with differentiable ops in the layers that train, and
//! with candle_nn's fused layer norm and softmax (no backward) in those that do not. Dropout is
//! not applied, as in candle-transformers.

use candle_core::{DType, Module, Tensor, D};
use candle_nn::{Embedding, Linear, VarBuilder};
use candle_transformers::models::bert::{Config, HiddenAct, PositionEmbeddingType};

use crate::check::require;
use crate::frozen::FrozenStore;
use crate::layers::{softmax_last_dim, LayerNorm};
use crate::{Error, FrozenOutputs, Result, Trainable};

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
    frozen: FrozenStore,
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
            frozen: FrozenStore::default(),
        })
    }

    /// The model's config.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Sets which layers pass gradients: below the lowest trainable layer the hidden state is
    /// detached, so frozen layers cost no backward pass. Default: all. Forgets the frozen
    /// outputs kept so far (the frozen part changes).
    pub fn set_trainable(&mut self, trainable: Trainable) {
        self.trainable = trainable;
        self.frozen = FrozenStore::new(self.frozen.mode());
    }

    /// Chooses how the frozen part (embeddings and layers below the lowest trainable one) is
    /// computed, forgetting the outputs kept so far. Default: [`FrozenOutputs::Batched`].
    pub fn set_frozen_outputs(&mut self, mode: FrozenOutputs) {
        self.frozen = FrozenStore::new(mode);
    }

    /// How many examples' frozen outputs are kept (under [`FrozenOutputs::Cached`]).
    pub fn kept_frozen_outputs(&self) -> Result<usize> {
        self.frozen.len()
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
        let n = self.layers.len();
        let frozen = self.trainable.first_layer(n).unwrap_or(n);
        let bias = attention_bias(attention_mask, self.embeddings.word.embeddings().dtype())?;
        let mut x = if self.trainable.embeddings(n) {
            self.embed(input_ids, token_type_ids, true)?
        } else if self.frozen.mode() == FrozenOutputs::Batched {
            self.frozen_part(input_ids, token_type_ids, &bias, frozen)?
        } else {
            self.frozen_rows(input_ids, token_type_ids, attention_mask, frozen)?
        };
        for layer in &self.layers[frozen..] {
            x = layer.forward(&x, &bias, true)?;
        }
        Ok(x)
    }

    /// Word + token type + position embeddings, normalised.
    fn embed(&self, input_ids: &Tensor, token_type_ids: &Tensor, grad: bool) -> Result<Tensor> {
        let e = &self.embeddings;
        let t = input_ids.dim(1)?;
        let positions = Tensor::arange(0u32, t as u32, input_ids.device())?;
        let x = (e.word.forward(input_ids)? + e.token_type.forward(token_type_ids)?)?
            .broadcast_add(&e.position.forward(&positions)?)?;
        Ok(e.norm.forward_with(&x, grad)?)
    }

    /// The output of the embeddings and the first `layers` layers, with the fused ops,
    /// detached.
    fn frozen_part(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        bias: &Tensor,
        layers: usize,
    ) -> Result<Tensor> {
        let mut x = self.embed(input_ids, token_type_ids, false)?;
        for layer in &self.layers[..layers] {
            x = layer.forward(&x, bias, false)?;
        }
        Ok(x.detach())
    }

    /// [`Self::frozen_part`] of each example alone at its real length (kept or reused by the
    /// store), padded with zeros back to the batch's length. Each mask row must be ones, then
    /// zeros (right padding, as the tokenizer pads).
    fn frozen_rows(
        &self,
        input_ids: &Tensor,
        token_type_ids: &Tensor,
        attention_mask: &Tensor,
        layers: usize,
    ) -> Result<Tensor> {
        let t = input_ids.dim(1)?;
        let ids = input_ids.to_dtype(DType::U32)?.to_vec2::<u32>()?;
        let types = token_type_ids.to_dtype(DType::U32)?.to_vec2::<u32>()?;
        let mask = attention_mask.to_dtype(DType::U32)?.to_vec2::<u32>()?;
        let device = input_ids.device();
        let rows = ids
            .iter()
            .zip(&types)
            .zip(&mask)
            .map(|((ids, types), mask)| {
                let len = mask.iter().take_while(|&&m| m == 1).count();
                if len == 0 || mask[len..].iter().any(|&m| m != 0) {
                    return Err(Error::config(
                        "bert: attention_mask",
                        "each row must be ones, then zeros (right padding), with a real token",
                    ));
                }
                let key = [&ids[..len], &types[..len]].concat();
                let h = self.frozen.get_or(key, || {
                    let row = |v: &[u32]| Tensor::new(v, device)?.unsqueeze(0);
                    let ids = row(&ids[..len])?;
                    let bias = attention_bias(
                        &ids.ones_like()?,
                        self.embeddings.word.embeddings().dtype(),
                    )?;
                    self.frozen_part(&ids, &row(&types[..len])?, &bias, layers)
                })?;
                Ok(h.pad_with_zeros(1, 0, t - len)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&rows, 0)?)
    }
}

/// `(1 - mask) * f32::MIN`, shaped (B, 1, 1, T), as candle-transformers and transformers do.
fn attention_bias(mask: &Tensor, dtype: DType) -> Result<Tensor> {
    let mask = mask.to_dtype(dtype)?;
    let bias = ((mask.ones_like()? - &mask)? * f32::MIN as f64)?;
    Ok(bias.unsqueeze(1)?.unsqueeze(1)?)
}

impl Layer {
    /// The layer on `x`; with differentiable ops when `grad`, else with the fused ones.
    fn forward(&self, x: &Tensor, bias: &Tensor, grad: bool) -> Result<Tensor> {
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
        let probs = softmax_last_dim(&scores, grad)?;
        let ctx = probs
            .matmul(&v)?
            .transpose(1, 2)?
            .contiguous()?
            .flatten_from(D::Minus2)?;
        let x = self
            .attn_norm
            .forward_with(&(self.attn_out.forward(&ctx)? + x)?, grad)?;
        let inner = self.intermediate.forward(&x)?;
        let inner = match self.act {
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        Ok(self
            .out_norm
            .forward_with(&(self.out.forward(&inner)? + x)?, grad)?)
    }
}
