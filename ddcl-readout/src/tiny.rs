//! Tiny random models written to disk in the real file formats, for tests and examples that
//! must run without the network: a 2-layer BERT (config.json, model.safetensors) with a
//! word-level tokenizer.json, loadable by [`crate::TextEncoder::load`], and a 2-block DINOv2 on
//! 28x28 input, loadable by [`crate::ImageEncoder::load`].
//!
//! Behind the `test-utils` feature: a crate whose tests use these enables it in its
//! dev-dependencies, `ddcl-readout = { version = "...", features = ["test-utils"] }`.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{Bert, Dinov2, Error, Result};

/// config.json of the tiny BERT: vocabulary 40, width 16, 2 layers, 4 heads, 32 positions.
pub const BERT_CONFIG: &str = r#"{"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
  "num_attention_heads": 4, "intermediate_size": 32, "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1, "max_position_embeddings": 32, "type_vocab_size": 2,
  "initializer_range": 0.5, "layer_norm_eps": 1e-12, "pad_token_id": 0}"#;

/// config.json of the tiny DINOv2: 28x28 input (4 patches of 14), width 8, 2 blocks, 2 heads.
pub const VIT_CONFIG: &str = r#"{"image_size": 28, "patch_size": 14, "hidden_size": 8,
  "num_hidden_layers": 2, "num_attention_heads": 2, "mlp_ratio": 4, "layer_norm_eps": 1e-6,
  "hidden_act": "gelu"}"#;

/// The tiny tokenizer's words: ids 0..4 are `[PAD]`, `[CLS]`, `[SEP]`, `[UNK]`, then these.
pub const WORDS: [&str; 36] = [
    "the", "a", "cat", "dog", "sat", "on", "mat", "good", "bad", "film", "movie", "great", "awful",
    "plot", "actor", "was", "is", "not", "very", "boring", "fun", "loved", "hated", "it", "this",
    "and", "but", "story", "ending", "music", "slow", "fast", "funny", "sad", "red", "blue",
];

/// Replaces every variable of `varmap` with seeded noise of a sensible scale: embeddings and
/// prototypes of unit variance, matrices with variance `scale^2 / fan_in`, small biases, norm
/// weights near one.
pub fn randomise(varmap: &VarMap, seed: u64, scale: f32) -> Result<()> {
    let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
    let mut names: Vec<_> = data.keys().cloned().collect();
    names.sort();
    let mut rng = StdRng::seed_from_u64(seed);
    for name in &names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let is_norm =
            name.ends_with("LayerNorm.weight") || name.contains("norm") && name.ends_with("weight");
        let (base, std) = if is_norm {
            (1.0, 0.1)
        } else if name.ends_with("bias") || dims.len() == 1 {
            (0.0, 0.05)
        } else if name.contains("embeddings") || name.contains("prototypes") {
            (0.0, 1.0)
        } else {
            (0.0, scale / (*dims.last().unwrap_or(&1) as f32).sqrt())
        };
        let values: Vec<f32> = (0..var.elem_count())
            .map(|_| base + std * 3f32.sqrt() * rng.random_range(-1.0f32..1.0))
            .collect();
        var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu)?)?;
    }
    Ok(())
}

/// Writes a random tiny BERT (`config.json`, `model.safetensors`) into `dir`.
pub fn write_bert(dir: &Path, seed: u64) -> Result<()> {
    write_model(dir, seed, BERT_CONFIG, |vb, cfg| {
        Bert::new(vb, &parse(cfg)?).map(drop)
    })
}

fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
    serde_json::from_str(json).map_err(|e| Error::Json {
        path: "<tiny config.json>".into(),
        message: e.to_string(),
    })
}

/// Builds a model with `build` from `config`, randomises it and writes `model.safetensors` and
/// `config.json` into `dir`.
fn write_model(
    dir: &Path,
    seed: u64,
    config: &str,
    build: impl FnOnce(VarBuilder, &str) -> Result<()>,
) -> Result<()> {
    let varmap = VarMap::new();
    build(
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
        config,
    )?;
    randomise(&varmap, seed, 1.0)?;
    varmap.save(dir.join("model.safetensors"))?;
    std::fs::write(dir.join("config.json"), config).map_err(|e| Error::io(dir, e))
}

/// Writes the tiny word-level `tokenizer.json` (lowercase, whitespace split, `[CLS] x [SEP]`).
pub fn write_tokenizer(dir: &Path) -> Result<()> {
    let mut vocab = serde_json::Map::new();
    for (i, w) in ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]
        .iter()
        .chain(WORDS.iter())
        .enumerate()
    {
        vocab.insert(w.to_string(), i.into());
    }
    let special = |t: &str| serde_json::json!({"SpecialToken": {"id": t, "type_id": 0}});
    let seq = |s: &str, ty: u32| serde_json::json!({"Sequence": {"id": s, "type_id": ty}});
    let tok = serde_json::json!({
        "version": "1.0", "truncation": null, "padding": null, "added_tokens": [],
        "normalizer": {"type": "Lowercase"},
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [special("[CLS]"), seq("A", 0), special("[SEP]")],
            "pair": [special("[CLS]"), seq("A", 0), special("[SEP]"), seq("B", 1), special("[SEP]")],
            "special_tokens": {
                "[CLS]": {"id": "[CLS]", "ids": [1], "tokens": ["[CLS]"]},
                "[SEP]": {"id": "[SEP]", "ids": [2], "tokens": ["[SEP]"]}
            }
        },
        "decoder": null,
        "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}
    });
    std::fs::write(dir.join("tokenizer.json"), tok.to_string()).map_err(|e| Error::io(dir, e))
}

/// A complete tiny text model directory: config, random weights, tokenizer.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// ddcl_readout::tiny::text_model(dir.path(), 1)?;
/// let model = ddcl_readout::ModelSource::new(dir.path().to_str().unwrap());
/// let enc = ddcl_readout::TextEncoder::load(&model, ddcl_readout::Weights::Frozen,
///     candle_core::DType::F32, &candle_core::Device::Cpu)?;
/// assert_eq!(enc.hidden_size(), 16);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn text_model(dir: &Path, seed: u64) -> Result<()> {
    write_bert(dir, seed)?;
    write_tokenizer(dir)
}

/// A complete tiny image model directory: config and random weights of a DINOv2.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// ddcl_readout::tiny::image_model(dir.path(), 1)?;
/// let model = ddcl_readout::ModelSource::new(dir.path().to_str().unwrap());
/// let enc = ddcl_readout::ImageEncoder::load(&model, ddcl_readout::Weights::Frozen,
///     candle_core::DType::F32, &candle_core::Device::Cpu)?;
/// assert_eq!(enc.vit().config().hidden_size, 8);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn image_model(dir: &Path, seed: u64) -> Result<()> {
    write_model(dir, seed, VIT_CONFIG, |vb, cfg| {
        Dinov2::new(vb, &parse(cfg)?).map(drop)
    })
}
