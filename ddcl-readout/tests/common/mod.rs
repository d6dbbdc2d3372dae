//! Tiny random models written to disk and loaded through the real loading code.
#![allow(dead_code)]

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use candle_transformers::models::bert::Config;

pub use ddcl_readout::tiny::{write_bert, write_tokenizer, BERT_CONFIG};

pub fn bert_config() -> Config {
    serde_json::from_str(BERT_CONFIG).unwrap()
}

pub fn randomise(varmap: &VarMap, seed: u64, scale: f32) {
    ddcl_readout::tiny::randomise(varmap, seed, scale).unwrap();
}

/// Writes a random tiny BERT (config.json + model.safetensors) into `dir`.
pub fn write_tiny_bert(dir: &Path) {
    write_bert(dir, 1).unwrap();
}

/// Writes the tiny tokenizer.json into `dir`.
pub fn write_tiny_tokenizer(dir: &Path) {
    write_tokenizer(dir).unwrap();
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

/// A tiny text model directory: config, random weights, tokenizer.
pub fn tiny_text_model() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    ddcl_readout::tiny::text_model(dir.path(), 1).unwrap();
    dir
}
