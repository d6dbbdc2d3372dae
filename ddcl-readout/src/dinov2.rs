//! A DINOv2 vision transformer that trains: candle-transformers' dinov2 tensor names, per-token
//! outputs, gradients through every layer.
//!
//! candle-transformers' `dinov2::DinoVisionTransformer` returns classifier logits, fixes the
//! input at 518×518 and uses `candle_nn::LayerNorm` (no backward). [`Dinov2`] loads the same
//! tensors (`patch_embed.proj`, `cls_token`, `pos_embed`, `blocks.N.{norm1,attn.qkv,attn.proj,
//! ls1.gamma,norm2,mlp.fc1,mlp.fc2,ls2.gamma}`, `norm`) for any image size given in its config,
//! and returns the normalised states of the class token and every patch.

use candle_core::{Module, Tensor, D};
use candle_nn::{Conv2d, Linear, VarBuilder};
use candle_transformers::models::bert::HiddenAct;
use serde::Deserialize;

use crate::check::require;
use crate::layers::LayerNorm;
use crate::{Result, Trainable};

/// Shape of a DINOv2 model (`config.json` as written by `scripts/convert_dinov2.py`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Dinov2Config {
    /// Side of the square input image; the position grid is `(image_size / patch_size)^2`.
    pub image_size: usize,
    /// Side of a patch.
    pub patch_size: usize,
    /// Width D.
    pub hidden_size: usize,
    /// Number of blocks.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// MLP width as a multiple of D.
    pub mlp_ratio: usize,
    /// LayerNorm epsilon (1e-6 in HF Dinov2, 1e-5 in candle-transformers).
    pub layer_norm_eps: f64,
    /// MLP activation: `gelu` (erf, as HF) or `geluapproximate` (tanh, as candle-transformers).
    pub hidden_act: HiddenAct,
    /// Per-channel mean of the input normalisation.
    #[serde(default = "imagenet_mean")]
    pub image_mean: [f32; 3],
    /// Per-channel standard deviation of the input normalisation.
    #[serde(default = "imagenet_std")]
    pub image_std: [f32; 3],
}

fn imagenet_mean() -> [f32; 3] {
    [0.485, 0.456, 0.406]
}

fn imagenet_std() -> [f32; 3] {
    [0.229, 0.224, 0.225]
}

impl Dinov2Config {
    /// Patches per side.
    pub fn grid(&self) -> usize {
        self.image_size / self.patch_size
    }

    /// Tokens per image: the class token plus one per patch.
    pub fn tokens(&self) -> usize {
        1 + self.grid() * self.grid()
    }
}

struct Block {
    norm1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ls1: Tensor,
    norm2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    ls2: Tensor,
}

/// DINOv2 with differentiable ops throughout; `forward` gives (B, 1 + patches, D).
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_readout::{Dinov2, Dinov2Config};
/// let cfg: Dinov2Config = serde_json::from_str(r#"{"image_size": 28, "patch_size": 14,
///     "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "mlp_ratio": 4,
///     "layer_norm_eps": 1e-6, "hidden_act": "gelu"}"#)?;
/// let varmap = VarMap::new();
/// let vit = Dinov2::new(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu), &cfg)?;
/// let x = Tensor::zeros((2, 3, 28, 28), DType::F32, &Device::Cpu)?;
/// assert_eq!(vit.forward(&x)?.dims(), &[2, 5, 8]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Dinov2 {
    patch: Conv2d,
    cls_token: Tensor,
    pos_embed: Tensor,
    blocks: Vec<Block>,
    norm: LayerNorm,
    cfg: Dinov2Config,
    trainable: Trainable,
}

fn linear(i: usize, o: usize, vb: VarBuilder) -> candle_core::Result<Linear> {
    let bound = 1.0 / (i as f64).sqrt();
    let w = vb.get_with_hints(
        (o, i),
        "weight",
        candle_nn::Init::Uniform {
            lo: -bound,
            up: bound,
        },
    )?;
    let b = vb.get_with_hints(o, "bias", candle_nn::Init::Const(0.0))?;
    Ok(Linear::new(w, Some(b)))
}

impl Dinov2 {
    /// Loads (or, from a `VarMap`, initialises) a DINOv2 of shape `cfg`.
    pub fn new(vb: VarBuilder, cfg: &Dinov2Config) -> Result<Self> {
        let d = cfg.hidden_size;
        require(
            cfg.patch_size > 0 && cfg.image_size.is_multiple_of(cfg.patch_size),
            "dinov2: image_size",
            cfg.image_size as f64,
            format!("a multiple of patch_size {}", cfg.patch_size),
        )?;
        require(
            cfg.num_attention_heads > 0 && d.is_multiple_of(cfg.num_attention_heads),
            "dinov2: hidden_size",
            d as f64,
            format!(
                "a multiple of num_attention_heads {}",
                cfg.num_attention_heads
            ),
        )?;
        let conv = candle_nn::Conv2dConfig {
            stride: cfg.patch_size,
            ..Default::default()
        };
        let patch = candle_nn::conv2d(3, d, cfg.patch_size, conv, vb.pp("patch_embed.proj"))?;
        let small = candle_nn::Init::Randn {
            mean: 0.0,
            stdev: 0.02,
        };
        let cls_token = vb.get_with_hints((1, 1, d), "cls_token", small)?;
        let pos_embed = vb.get_with_hints((1, cfg.tokens(), d), "pos_embed", small)?;
        let eps = cfg.layer_norm_eps;
        let hidden = d * cfg.mlp_ratio;
        let ones = candle_nn::Init::Const(1.0);
        let blocks = (0..cfg.num_hidden_layers)
            .map(|i| {
                let b = vb.pp(format!("blocks.{i}"));
                Ok(Block {
                    norm1: LayerNorm::new(d, eps, b.pp("norm1"))?,
                    qkv: linear(d, 3 * d, b.pp("attn.qkv"))?,
                    proj: linear(d, d, b.pp("attn.proj"))?,
                    ls1: b.pp("ls1").get_with_hints(d, "gamma", ones)?,
                    norm2: LayerNorm::new(d, eps, b.pp("norm2"))?,
                    fc1: linear(d, hidden, b.pp("mlp.fc1"))?,
                    fc2: linear(hidden, d, b.pp("mlp.fc2"))?,
                    ls2: b.pp("ls2").get_with_hints(d, "gamma", ones)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            patch,
            cls_token,
            pos_embed,
            blocks,
            norm: LayerNorm::new(d, eps, vb.pp("norm"))?,
            cfg: cfg.clone(),
            trainable: Trainable::All,
        })
    }

    /// The model's config.
    pub fn config(&self) -> &Dinov2Config {
        &self.cfg
    }

    /// Sets which blocks pass gradients (as [`crate::Bert::set_trainable`]).
    pub fn set_trainable(&mut self, trainable: Trainable) {
        self.trainable = trainable;
    }

    /// Whether the variable `name` trains under the current setting: blocks from the lowest
    /// trainable one up, the final `norm` whenever any block trains, the embeddings only for
    /// `All`.
    pub fn is_trainable(&self, name: &str) -> bool {
        let layers = self.blocks.len();
        let first = self.trainable.first_layer(layers);
        if let Some(rest) = name.strip_prefix("blocks.") {
            let i = rest.split('.').next().and_then(|i| i.parse::<usize>().ok());
            return matches!((i, first), (Some(i), Some(f)) if i >= f);
        }
        if name.starts_with("norm.") {
            return first.is_some();
        }
        self.trainable.embeddings(layers)
    }

    /// Normalised token states (B, 1 + patches, D) of images (B, 3, H, W), H = W =
    /// `image_size`, already normalised per channel.
    pub fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = pixels.dims4()?;
        let size = self.cfg.image_size;
        if c != 3 || h != size || w != size {
            return Err(ddcl_core::Error::Shape {
                name: "pixels",
                expected: format!("(B, 3, {size}, {size})"),
                got: pixels.dims().to_vec(),
            }
            .into());
        }
        let d = self.cfg.hidden_size;
        let patches = self
            .patch
            .forward(pixels)?
            .flatten_from(2)?
            .transpose(1, 2)?;
        let cls = self.cls_token.broadcast_as((b, 1, d))?;
        let mut x = Tensor::cat(&[&cls, &patches], 1)?.broadcast_add(&self.pos_embed)?;
        let layers = self.blocks.len();
        let first = self.trainable.first_layer(layers);
        for (i, block) in self.blocks.iter().enumerate() {
            if Some(i) == first && !self.trainable.embeddings(layers) {
                x = x.detach();
            }
            x = block.forward(&x, self.cfg.num_attention_heads, self.cfg.hidden_act)?;
        }
        let x = self.norm.forward(&x)?;
        Ok(if first.is_none() { x.detach() } else { x })
    }
}

impl Block {
    fn forward(&self, x: &Tensor, heads: usize, act: HiddenAct) -> Result<Tensor> {
        let (b, n, d) = x.dims3()?;
        let hd = d / heads;
        let qkv = self
            .qkv
            .forward(&self.norm1.forward(x)?)?
            .reshape((b, n, 3, heads, hd))?
            .permute((2, 0, 3, 1, 4))?;
        let q = (qkv.get(0)?.contiguous()? * (1.0 / (hd as f64).sqrt()))?;
        let k = qkv.get(1)?.contiguous()?;
        let v = qkv.get(2)?.contiguous()?;
        let attn = candle_nn::ops::softmax(&q.matmul(&k.t()?)?, D::Minus1)?;
        let ctx = attn.matmul(&v)?.transpose(1, 2)?.reshape((b, n, d))?;
        let x = (x + self.proj.forward(&ctx)?.broadcast_mul(&self.ls1)?)?;
        let inner = self.fc1.forward(&self.norm2.forward(&x)?)?;
        let inner = match act {
            HiddenAct::Gelu => inner.gelu_erf()?,
            HiddenAct::GeluApproximate => inner.gelu()?,
            HiddenAct::Relu => inner.relu()?,
        };
        Ok((&x + self.fc2.forward(&inner)?.broadcast_mul(&self.ls2)?)?)
    }
}
