//! Text encoding through the real loading code: tokenizer padding and truncation, batching
//! invariance, and (when the model files are cached) sentence-transformers' own embeddings.
mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use ddcl_readout::{Bucket, Embedder, ModelSource, Pooling, TextEncoder, Trainable, Weights};

fn embed(enc: &TextEncoder, texts: &[&str], mode: Pooling) -> Tensor {
    let batch = enc.tokenize(texts).unwrap();
    let h = enc.forward(&batch).unwrap();
    let mask = batch.mask.to_dtype(DType::F32).unwrap();
    mode.pool(&h, &mask).unwrap()
}

fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| *x as f64 * *y as f64).sum();
    let na: f64 = a.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

#[test]
fn tiny_model_pads_truncates_and_is_batch_invariant() {
    let dir = tiny_text_model();
    let model = ModelSource::new(dir.path().to_str().unwrap());
    let mut enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    let texts = [
        "the cat sat on the mat",
        "good film",
        "it was not very fun but the music was great",
    ];
    let batch = enc.tokenize(&texts).unwrap();
    assert_eq!(batch.ids.dims(), &[3, 12]);
    assert_eq!(
        batch.mask.sum(1).unwrap().to_vec1::<u32>().unwrap(),
        [8, 4, 12]
    );
    for mode in [
        Pooling::Mean,
        Pooling::Max,
        Pooling::Cls,
        Pooling::LastToken,
        Pooling::WeightedMean,
        Pooling::MeanSqrtLen,
    ] {
        let together = embed(&enc, &texts, mode);
        for (i, text) in texts.iter().enumerate() {
            let alone = embed(&enc, &[text], mode);
            let row = together.get(i).unwrap().unsqueeze(0).unwrap();
            let diff = max_abs_diff(&alone, &row);
            assert!(
                diff < 1e-5,
                "{mode}: sentence {i} differs by {diff} in a batch"
            );
        }
    }
    enc.set_max_len(5).unwrap();
    assert_eq!(enc.tokenize(&texts).unwrap().ids.dims(), &[3, 5]);
    assert!(enc.set_max_len(33).is_err());
    assert!(enc.set_max_len(0).is_err());
    assert!(enc.tokenize::<&str>(&[]).is_err());
}

#[test]
fn length_sorted_batches_come_back_in_input_order() {
    let dir = tiny_text_model();
    let model = ModelSource::new(dir.path().to_str().unwrap());
    let enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    let texts = [
        "good film",
        "it was not very fun but the music was great",
        "ok",
        "the cat sat on the mat",
        "bad",
    ];
    let buckets = enc.tokenize_by_length(&texts, 2).unwrap();
    let rows: Vec<usize> = buckets.iter().flat_map(|b| b.rows.clone()).collect();
    assert_eq!(rows, [1, 3, 0, 2, 4], "longest first, ties in input order");
    assert_eq!(buckets[0].batch.ids.dims(), &[2, 12]);
    assert_eq!(
        buckets[2].batch.ids.dims(),
        &[1, 3],
        "padded to its own longest"
    );
    let lengths: Vec<Tensor> = buckets
        .iter()
        .map(|b| b.batch.mask.sum(1).unwrap())
        .collect();
    let lengths = Bucket::restore(&buckets, &lengths).unwrap();
    assert_eq!(lengths.to_vec1::<u32>().unwrap(), [4, 12, 3, 8, 3]);
    assert!(enc.tokenize_by_length(&texts, 0).is_err());
    assert!(enc.tokenize_by_length::<&str>(&[], 2).is_err());
    assert!(Bucket::restore(&buckets, &lengths_of(&buckets)[..1]).is_err());
    // embed_all: in input order, each row as the sentence embedded alone
    let embedder = Embedder::new(enc, vec![Pooling::Mean, Pooling::Max], None).unwrap();
    let all = embedder.embed_all(&texts, 2, true).unwrap();
    for (i, text) in texts.iter().enumerate() {
        let alone = embedder.embed(&[text], true).unwrap();
        let row = all.get(i).unwrap().unsqueeze(0).unwrap();
        let diff = max_abs_diff(&alone, &row);
        assert!(diff < 1e-5, "sentence {i} differs by {diff}");
    }
}

fn lengths_of(buckets: &[Bucket]) -> Vec<Tensor> {
    buckets
        .iter()
        .map(|b| b.batch.mask.sum(1).unwrap())
        .collect()
}

#[test]
fn missing_model_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let model = ModelSource::new(dir.path().to_str().unwrap());
    let err = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    write_tiny_bert(dir.path());
    let err = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("tokenizer.json"), "{err}");
    std::fs::write(dir.path().join("model.safetensors"), b"truncated").unwrap();
    write_tiny_tokenizer(dir.path());
    let err = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)
        .err()
        .unwrap();
    assert!(err.to_string().contains("model.safetensors"), "{err}");
    let err = ModelSource::new("not-a-repo-id")
        .file("config.json")
        .unwrap_err();
    assert!(err.to_string().contains("org/name"), "{err}");
}

#[derive(serde::Deserialize)]
struct Fixture {
    model: String,
    max_seq_length: usize,
    sentences: Vec<String>,
    embeddings: Vec<Vec<f32>>,
}

/// all-MiniLM-L6-v2 with mean pooling against sentence-transformers' own vectors
/// (tests/fixtures/minilm_embeddings.json, written by scripts/fixtures/minilm_embeddings.py).
/// Runs when the model is in the hub cache (`bash scripts/setup.sh minilm`); CI sets
/// DDCL_REQUIRE_MODELS=1 so that a missing model fails instead of skipping.
#[test]
fn minilm_matches_sentence_transformers() {
    let text = include_str!("fixtures/minilm_embeddings.json");
    let fixture: Fixture = serde_json::from_str(text).unwrap();
    let model = ModelSource::new(&fixture.model);
    if model.optional_file("model.safetensors").is_none() {
        assert!(
            std::env::var("DDCL_REQUIRE_MODELS").is_err(),
            "{} is not in the hub cache; run scripts/setup.sh",
            fixture.model
        );
        eprintln!(
            "skipped: {} not in the hub cache (bash scripts/setup.sh minilm)",
            fixture.model
        );
        return;
    }
    let enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    assert_eq!(enc.max_len(), fixture.max_seq_length);
    let texts: Vec<&str> = fixture.sentences.iter().map(String::as_str).collect();
    assert!(texts.len() >= 10);
    let mut worst = 1f64;
    for (chunk, expected) in texts.chunks(5).zip(fixture.embeddings.chunks(5)) {
        let got = embed(&enc, chunk, Pooling::Mean).to_vec2::<f32>().unwrap();
        for (g, e) in got.iter().zip(expected) {
            worst = worst.min(cosine(g, e));
        }
    }
    eprintln!("worst cosine vs sentence-transformers: {worst:.8}");
    assert!(worst >= 0.9999, "worst cosine {worst}");
    // the fused frozen path against the differentiable one, on the real weights: candle's
    // fused layer norm takes the variance in one pass (E[x²] - mean²), which over six layers
    // moves hidden states of size ~6 by ~2e-5, so the bound is relative to the largest
    let mut trainable =
        TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    trainable.bert_mut().set_trainable(Trainable::All);
    let batch = enc.tokenize(&texts).unwrap();
    let fused = enc.forward(&batch).unwrap();
    let diff = max_abs_diff(&fused, &trainable.forward(&batch).unwrap());
    let scale = fused.abs().unwrap().flatten_all().unwrap().max(0).unwrap();
    let relative = diff / scale.to_scalar::<f32>().unwrap();
    eprintln!("fused vs differentiable ops: max |diff| {diff:e}, relative {relative:e}");
    assert!(
        relative < 1e-5,
        "fused frozen path differs by {relative:e} of the largest"
    );
    // one sentence alone equals the same sentence in a padded batch
    let alone = embed(&enc, &texts[10..11], Pooling::Mean);
    let batch = embed(&enc, &texts, Pooling::Mean)
        .get(10)
        .unwrap()
        .unsqueeze(0)
        .unwrap();
    assert!(max_abs_diff(&alone, &batch) < 1e-5);
}
