//! The tiny text model of ddcl-readout as a document encoder, and compressors over it.
// Each test binary uses a part of these.
#![allow(dead_code)]

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use ddcl_hier::{DocumentEncoder, HierCompressor, HierConfig};
use ddcl_readout::{tiny, ModelSource, TextEncoder, Weights};

/// The tiny BERT (D = 16, 32 positions) and the folder holding it.
pub fn encoder() -> (DocumentEncoder, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    tiny::text_model(dir.path(), 3).unwrap();
    let model = ModelSource::new(dir.path().to_str().unwrap());
    let enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    (DocumentEncoder::new(enc).unwrap(), dir)
}

/// A compressor with unit-variance random prototypes (seeded) and its variables.
pub fn compressor(yaml: &str, seed: u64) -> (HierCompressor, VarMap) {
    let cfg = HierConfig::from_yaml(yaml).unwrap();
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let hier = HierCompressor::new(16, &cfg, vb).unwrap();
    tiny::randomise(&varmap, seed, 1.0).unwrap();
    (hier, varmap)
}

/// A text of `words` words of the tiny vocabulary.
pub fn text(words: usize) -> String {
    (0..words)
        .map(|i| tiny::WORDS[(i * 7 + i / 5) % tiny::WORDS.len()])
        .collect::<Vec<_>>()
        .join(" ")
}

/// Largest absolute difference of two tensors.
pub fn max_diff(a: &candle_core::Tensor, b: &candle_core::Tensor) -> f32 {
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
