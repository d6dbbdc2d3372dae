//! Checkpoint and resume of the joint trainer on the tiny model: N steps, save, a new trainer,
//! resume, M steps gives every variable bit for bit as N + M steps without stopping; a
//! checkpoint of another configuration, a truncated file and another kind of file are refused
//! with errors naming the file and what differs.

mod common;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use ddcl_hier::{DocumentEncoder, Error, HierConfig, HierTrainConfig, HierTrainer};
use ddcl_readout::{tiny, ModelSource, TextEncoder, Trainable, Weights, ENCODER};

const HIER: &str = "chunk: {window: 8, overlap: 0, batch: 4}
levels:
  - readout: {prototypes: 4, tau: 2.0, pooling: [mixture, mean]}
  - readout: {prototypes: 2, tau: 2.0, pooling: [mixture, mean]}
";

/// Three levels, the middle one reading pairs of chunks.
const HIER3: &str = "chunk: {window: 8, overlap: 0, batch: 4}
levels:
  - readout: {prototypes: 4, tau: 2.0, pooling: [mixture, mean]}
  - readout: {prototypes: 2, tau: 2.0, pooling: [mixture, mean]}
    group: 2
  - readout: {prototypes: 2, tau: 2.0, pooling: [mixture, mean]}
";

/// Rates growing from the encoder (training whole) up, so every group steps.
const TRAIN: &str = r#"{"classes": 2, "lr_encoder": 0.001, "lr_levels": [0.01, 0.1],
    "lr_head": 0.05, "weight_decay": 0.01, "policy": "warn", "seed": 1}"#;

/// A trainer over a fresh tiny BERT (its top layer under `encoder.` in the VarMap) and the
/// folder holding the model.
fn trainer(hier: &str, train: &str) -> (HierTrainer, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    tiny::text_model(dir.path(), 3).unwrap();
    let model = ModelSource::new(dir.path().to_str().unwrap());
    let varmap = VarMap::new();
    let weights = Weights::Trainable {
        varmap: &varmap,
        prefix: ENCODER,
    };
    let mut enc = TextEncoder::load(&model, weights, DType::F32, &Device::Cpu).unwrap();
    enc.bert_mut().set_trainable(Trainable::All);
    let enc = DocumentEncoder::new(enc).unwrap();
    let cfg = HierConfig::from_yaml(hier).unwrap();
    let train: HierTrainConfig = serde_json::from_str(train).unwrap();
    (HierTrainer::new(enc, &cfg, train, varmap).unwrap(), dir)
}

/// Three batches of four documents of one to five chunks, two classes.
fn batches() -> Vec<(Vec<Vec<u32>>, Tensor)> {
    (0..3)
        .map(|b| {
            let docs = (0..4)
                .map(|d| {
                    let words = 6 + 9 * ((b + d) % 5);
                    (0..words)
                        .map(|i| 5 + ((i * 7 + d * 3 + b) % 20) as u32)
                        .collect()
                })
                .collect();
            let labels = Tensor::new(&[0u32, 1, 0, 1], &Device::Cpu).unwrap();
            (docs, labels)
        })
        .collect()
}

/// Every variable's name and the bits of its values, by name (compared exactly).
fn snapshot(t: &HierTrainer) -> Vec<(String, Vec<u32>)> {
    ddcl_readout::snapshot::bits(t.varmap())
}

fn step(t: &mut HierTrainer, (docs, labels): &(Vec<Vec<u32>>, Tensor)) {
    let docs: Vec<&[u32]> = docs.iter().map(Vec::as_slice).collect();
    t.step(&docs, labels).unwrap();
}

fn checkpoint_error(err: &Error) -> (&Path, &str) {
    match err {
        Error::Readout(ddcl_readout::Error::Checkpoint { path, message }) => (path, message),
        other => panic!("not a checkpoint error: {other}"),
    }
}

#[test]
fn resuming_continues_bit_for_bit() {
    let data = batches();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hier-train.safetensors");

    // N = 1 epoch + 1 step, save, M = 1 epoch + 2 steps
    let (mut first, _m1) = trainer(HIER, TRAIN);
    first.train_epoch(&data).unwrap();
    step(&mut first, &data[0]);
    first.save(&path).unwrap();
    let saved = snapshot(&first);

    let (mut resumed, _m2) = trainer(HIER, TRAIN);
    assert_ne!(snapshot(&resumed), saved);
    resumed.resume(&path).unwrap();
    assert_eq!(resumed.progress(), (4, 1));
    assert_eq!(snapshot(&resumed), saved);
    resumed.train_epoch(&data).unwrap();
    step(&mut resumed, &data[1]);
    step(&mut resumed, &data[2]);

    let (mut straight, _m3) = trainer(HIER, TRAIN);
    straight.train_epoch(&data).unwrap();
    step(&mut straight, &data[0]);
    straight.train_epoch(&data).unwrap();
    step(&mut straight, &data[1]);
    step(&mut straight, &data[2]);

    assert_eq!(resumed.progress(), (9, 2));
    assert_eq!(straight.progress(), (9, 2));
    let after = snapshot(&straight);
    let names: Vec<&str> = after.iter().map(|(n, _)| n.as_str()).collect();
    for name in ["encoder.", "level1.", "level2.", "head."] {
        assert!(names.iter().any(|n| n.starts_with(name)), "{names:?}");
    }
    // every part trained after the save, so the equality below says something
    for prefix in ["encoder.", "level1.", "level2.", "head."] {
        let moved = saved
            .iter()
            .zip(&after)
            .any(|((name, before), (_, now))| name.starts_with(prefix) && before != now);
        assert!(moved, "nothing under {prefix} trained after the save");
    }
    assert_eq!(snapshot(&resumed), after);

    // the variables alone (fresh moments, step count 0) do not continue the run
    let (mut naive, _m4) = trainer(HIER, TRAIN);
    for (name, v) in &saved {
        let vars = naive.varmap().data().lock().unwrap();
        let values: Vec<f32> = v.iter().map(|&b| f32::from_bits(b)).collect();
        let t = Tensor::from_vec(values, vars[name].dims(), &Device::Cpu).unwrap();
        vars[name].set(&t).unwrap();
    }
    assert_eq!(snapshot(&naive), saved);
    naive.train_epoch(&data).unwrap();
    step(&mut naive, &data[1]);
    step(&mut naive, &data[2]);
    assert_ne!(snapshot(&naive), after);
}

#[test]
fn a_checkpoint_of_another_configuration_is_refused() {
    let data = batches();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hier-train.safetensors");
    let (mut t, _m) = trainer(HIER, TRAIN);
    step(&mut t, &data[0]);
    t.save(&path).unwrap();

    let cases = [
        (
            HIER.replace("prototypes: 4", "prototypes: 8"),
            TRAIN.to_string(),
            "hier.levels[0].readout.prototypes: 4 in the checkpoint, 8 in this trainer",
        ),
        (
            HIER3.to_string(),
            TRAIN.replace("[0.01, 0.1]", "[0.01, 0.1, 0.5]"),
            "hier.levels: 2 entries in the checkpoint, 3 in this trainer",
        ),
        (
            HIER.to_string(),
            TRAIN.replace("0.05", "0.06"),
            "train.lr_head: 0.05 in the checkpoint, 0.06 in this trainer",
        ),
    ];
    for (hier, train, expected) in cases {
        let (mut other, _m) = trainer(&hier, &train);
        let before = snapshot(&other);
        let err = other.resume(&path).unwrap_err();
        let (at, message) = checkpoint_error(&err);
        assert_eq!(at, path);
        assert_eq!(
            message,
            format!("a checkpoint of another configuration: {expected}"),
            "{err}"
        );
        assert!(err.to_string().contains("hier-train.safetensors"), "{err}");
        assert_eq!(
            snapshot(&other),
            before,
            "a refused resume changed the trainer"
        );
        assert_eq!(other.progress(), (0, 0));
    }
}

#[test]
fn another_hidden_size_and_a_missing_tensor_are_named() {
    let data = batches();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hier-train.safetensors");
    let (mut t, _m) = trainer(HIER, TRAIN);
    step(&mut t, &data[0]);
    t.save(&path).unwrap();

    // the common encoder is frozen: D = 16 as well, but no `encoder.` variables
    let (enc, _m2) = common::encoder();
    let cfg = HierConfig::from_yaml(HIER).unwrap();
    let train: HierTrainConfig = serde_json::from_str(TRAIN).unwrap();
    let mut frozen = HierTrainer::new(enc, &cfg, train, VarMap::new()).unwrap();
    let err = frozen.resume(&path).unwrap_err();
    let (_, message) = checkpoint_error(&err);
    assert!(
        message.starts_with("tensor `encoder.")
            && message.ends_with("` is not a variable of this trainer"),
        "{err}"
    );

    // a checkpoint of the frozen trainer lacks the trainable encoder's variables
    let frozen_path = dir.path().join("frozen.safetensors");
    frozen.save(&frozen_path).unwrap();
    let (mut trainable, _m3) = trainer(HIER, TRAIN);
    let err = trainable.resume(&frozen_path).unwrap_err();
    let (at, message) = checkpoint_error(&err);
    assert_eq!(at, frozen_path);
    assert!(message.starts_with("no tensor `encoder."), "{err}");

    // a hidden size recorded otherwise is named before any tensor
    let state = ddcl_readout::TrainingState::load(&path, &Device::Cpu).unwrap();
    let mut metadata = state.metadata().clone();
    let recorded = metadata["hier_trainer"].replace("hidden_size: 16", "hidden_size: 32");
    metadata.insert("hier_trainer".into(), recorded);
    let tensors: Vec<(String, Tensor)> = state
        .tensors()
        .iter()
        .map(|(n, t)| (n.clone(), t.clone()))
        .collect();
    let wide = dir.path().join("wide.safetensors");
    ddcl_readout::save_checkpoint(&wide, &tensors, metadata).unwrap();
    let err = trainable.resume(&wide).unwrap_err();
    assert_eq!(
        checkpoint_error(&err).1,
        "a checkpoint of another configuration: hidden_size: 32 in the checkpoint, 16 in this trainer"
    );
}

#[test]
fn truncated_and_foreign_files_are_typed_errors() {
    let data = batches();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hier-train.safetensors");
    let (mut t, _m) = trainer(HIER, TRAIN);
    step(&mut t, &data[0]);
    t.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let (mut other, _m2) = trainer(HIER, TRAIN);
    let before = snapshot(&other);
    for keep in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        let cut = dir.path().join(format!("cut-{keep}.safetensors"));
        std::fs::write(&cut, &bytes[..keep]).unwrap();
        let err = other.resume(&cut).unwrap_err();
        let (at, message) = checkpoint_error(&err);
        assert_eq!(at, cut);
        assert!(message.starts_with("truncated"), "{keep} bytes: {err}");
    }
    // a compressor file (HierCompressor::save) is not a trainer checkpoint
    let compressor = dir.path().join("compressor.safetensors");
    t.compressor().save(&compressor, t.varmap()).unwrap();
    let err = other.resume(&compressor).unwrap_err();
    assert!(
        checkpoint_error(&err)
            .1
            .starts_with("metadata has no valid `step`"),
        "{err}"
    );
    let err = other
        .resume(&dir.path().join("absent.safetensors"))
        .unwrap_err();
    assert!(
        matches!(err, Error::Readout(ddcl_readout::Error::Io { .. })),
        "{err}"
    );
    assert_eq!(snapshot(&other), before);
    // the atomic write leaves no temporary file beside the checkpoint
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 7, "{names:?}");
    other.resume(&path).unwrap();
    assert_eq!(snapshot(&other), snapshot(&t));
}
