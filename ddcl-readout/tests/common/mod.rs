//! Tiny random models written to disk and loaded through the real loading code.
#![allow(dead_code)]

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::Config;
use ddcl_readout::Bert;
use rand::{rngs::StdRng, Rng, SeedableRng};

pub const BERT_CONFIG: &str = r#"{"vocab_size": 40, "hidden_size": 16, "num_hidden_layers": 2,
  "num_attention_heads": 4, "intermediate_size": 32, "hidden_act": "gelu",
  "hidden_dropout_prob": 0.1, "max_position_embeddings": 32, "type_vocab_size": 2,
  "initializer_range": 0.5, "layer_norm_eps": 1e-12, "pad_token_id": 0}"#;

pub fn bert_config() -> Config {
    serde_json::from_str(BERT_CONFIG).unwrap()
}

/// Replaces every variable with seeded noise of a sensible scale: embeddings of unit
/// variance, matrices with variance `scale^2 / fan_in`, small biases, norms near identity.
pub fn randomise(varmap: &VarMap, seed: u64, scale: f32) {
    let data = varmap.data().lock().unwrap();
    let mut names: Vec<_> = data.keys().cloned().collect();
    names.sort();
    let mut rng = StdRng::seed_from_u64(seed);
    for name in &names {
        let var = &data[name];
        let dims = var.dims().to_vec();
        let (base, std) = if name.ends_with("LayerNorm.weight")
            || name.contains("norm") && name.ends_with("weight")
        {
            (1.0, 0.1)
        } else if name.ends_with("bias") || dims.len() == 1 {
            (0.0, 0.05)
        } else if name.contains("embeddings") || name.contains("prototypes") {
            (0.0, 1.0)
        } else {
            (0.0, scale / (*dims.last().unwrap() as f32).sqrt())
        };
        let values: Vec<f32> = (0..var.elem_count())
            .map(|_| base + std * 3f32.sqrt() * rng.random_range(-1.0f32..1.0))
            .collect();
        var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu).unwrap())
            .unwrap();
    }
}

/// Writes a random tiny BERT (config.json + model.safetensors) into `dir`.
pub fn write_tiny_bert(dir: &Path) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    Bert::new(vb, &bert_config()).unwrap();
    randomise(&varmap, 1, 1.0);
    varmap.save(dir.join("model.safetensors")).unwrap();
    std::fs::write(dir.join("config.json"), BERT_CONFIG).unwrap();
}

pub fn load(dir: &Path) -> VarBuilder<'static> {
    unsafe {
        VarBuilder::from_mmaped_safetensors(
            &[dir.join("model.safetensors")],
            DType::F32,
            &Device::Cpu,
        )
        .unwrap()
    }
}

pub fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    (a - b)
        .unwrap()
        .abs()
        .unwrap()
        .flatten_all()
        .unwrap()
        .max(0)
        .unwrap()
        .to_scalar::<f32>()
        .unwrap()
}

/// Words of the tiny tokenizer: ids 0..4 are [PAD], [CLS], [SEP], [UNK]; 40 ids in all.
pub const WORDS: [&str; 36] = [
    "the", "a", "cat", "dog", "sat", "on", "mat", "good", "bad", "film", "movie", "great", "awful",
    "plot", "actor", "was", "is", "not", "very", "boring", "fun", "loved", "hated", "it", "this",
    "and", "but", "story", "ending", "music", "slow", "fast", "funny", "sad", "red", "blue",
];

/// Writes a tiny word-level tokenizer.json (lowercase, whitespace split, [CLS] x [SEP]).
pub fn write_tiny_tokenizer(dir: &Path) {
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
    std::fs::write(dir.join("tokenizer.json"), tok.to_string()).unwrap();
}

/// A tiny text model directory: config, random weights, tokenizer.
pub fn tiny_text_model() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_tiny_bert(dir.path());
    write_tiny_tokenizer(dir.path());
    dir
}
