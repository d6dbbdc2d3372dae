//! Joint training on a tiny random BERT loaded through the real loading code: the loss falls,
//! the right variables train, checkpoints round-trip bit-exactly and resume exactly, and bad
//! checkpoints, labels and timescale settings are clear errors.
mod common;

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use common::*;
use ddcl_readout::{
    Error, ModelSource, Policy, RunConfig, TextBatch, TextEncoder, Trainer, Weights, ENCODER,
};

fn config(dir: &Path, encoder: &str) -> RunConfig {
    let yaml = format!(
        "model: {{kind: text, id: {id}}}
readout: {{prototypes: 4, tau: 2.0, init: kmeans++, pooling: [mixture, mean]}}
classes: 2
train:
  epochs: 2
  batch_size: 4
  lr_encoder: 1.0e-4
  lr_prototypes: 5.0e-2
  lr_head: 1.0e-2
  lambda: 0.1
  encoder: {encoder}
  timescale: {{policy: refuse, eps_max: 0.1}}
  seed: 3
  log: {log}
  checkpoint: {ckpt}
",
        id = dir.display(),
        log = dir.join("run/steps.jsonl").display(),
        ckpt = dir.join("run/ckpt.safetensors").display(),
    );
    RunConfig::from_yaml(&yaml).unwrap()
}

/// The tiny model in `dir` as a trainable encoder whose variables live in `varmap`.
fn trainable_encoder(dir: &Path, varmap: &VarMap) -> TextEncoder {
    let model = ModelSource::new(dir.to_str().unwrap());
    let weights = Weights::Trainable {
        varmap,
        prefix: ENCODER,
    };
    TextEncoder::load(&model, weights, DType::F32, &Device::Cpu).unwrap()
}

fn trainer(dir: &Path, cfg: RunConfig) -> (Trainer<TextEncoder>, Vec<(TextBatch, Tensor)>) {
    let varmap = VarMap::new();
    let enc = trainable_encoder(dir, &varmap);
    let data = [
        ("good film loved it", 1u32),
        ("bad film hated it", 0),
        ("great fun movie", 1),
        ("awful boring movie", 0),
        ("the story was funny and the music great", 1),
        ("the plot was slow and sad", 0),
        ("loved the actor", 1),
        ("hated the ending", 0),
    ];
    let batches: Vec<(TextBatch, Tensor)> = data
        .chunks(4)
        .map(|c| {
            let texts: Vec<&str> = c.iter().map(|(t, _)| *t).collect();
            let labels: Vec<u32> = c.iter().map(|(_, l)| *l).collect();
            (
                enc.tokenize(&texts).unwrap(),
                Tensor::new(labels, &Device::Cpu).unwrap(),
            )
        })
        .collect();
    let mut t = Trainer::new(enc, cfg, varmap, DType::F32).unwrap();
    t.init_prototypes(&batches[0].0).unwrap();
    (t, batches)
}

fn snapshot(t: &Trainer<TextEncoder>) -> Vec<(String, Vec<u32>)> {
    ddcl_readout::snapshot::bits(t.varmap())
}

#[test]
fn a_few_steps_lower_the_loss_and_only_the_top_layer_trains() {
    let dir = tiny_text_model();
    let (mut t, batches) = trainer(dir.path(), config(dir.path(), "1"));
    let groups = t.optimizer().groups();
    assert!(groups[0]
        .vars
        .iter()
        .all(|(n, _)| n.starts_with("encoder.encoder.layer.1.")));
    assert_eq!(groups[0].vars.len(), 16);
    assert_eq!(groups[1].vars.len(), 1);
    assert_eq!(groups[2].vars.len(), 2);
    let before = snapshot(&t);
    let mut passes = Vec::new();
    let mut last = None;
    for _ in 0..30 {
        let mut total = 0.0;
        for (b, l) in &batches {
            let r = t.step(b, l).unwrap();
            assert!(r.identity_violation < 1e-5, "identity violated: {r:?}");
            total += r.loss;
            last = Some(r);
        }
        passes.push(total / batches.len() as f64);
    }
    let (first, end) = (passes[0], passes[passes.len() - 1]);
    assert!(end < 0.7 * first, "mean loss per pass {first} -> {end}");
    let last = last.unwrap();
    assert!(last.v > 0.0 && last.separation_min > 0.0);
    let after = snapshot(&t);
    for ((name, a), (_, b)) in before.iter().zip(&after) {
        let moved = a != b;
        let trains = !name.starts_with(ENCODER) || name.starts_with("encoder.encoder.layer.1.");
        assert_eq!(
            moved, trains,
            "{name}: moved {moved}, should train {trains}"
        );
    }
    assert!(t.evaluate(&batches).unwrap() >= 0.75);
}

#[test]
fn epochs_log_jsonl_and_checkpoint_round_trips_bit_exactly() {
    let dir = tiny_text_model();
    let cfg = config(dir.path(), "all");
    let (mut a, batches) = trainer(dir.path(), cfg.clone());
    let e = a.train_epoch(&batches).unwrap();
    assert_eq!(e.epoch, 1);
    assert!(e.timescale.as_ref().unwrap().holds);
    let ckpt = dir.path().join("run/ckpt.safetensors");
    assert!(ckpt.is_file());
    let log = std::fs::read_to_string(dir.path().join("run/steps.jsonl")).unwrap();
    let lines: Vec<serde_json::Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["kind"], "step");
    for key in [
        "l_sq",
        "l_ols",
        "v",
        "identity_violation",
        "separation_min",
        "soft_utilisation",
    ] {
        assert!(lines[0][key].is_number(), "{key} missing from the log");
    }
    assert_eq!(lines[2]["kind"], "epoch");

    // a fresh trainer resumed from the checkpoint holds the same bits ...
    let (mut b, _) = trainer(dir.path(), cfg.clone());
    b.resume(&ckpt).unwrap();
    assert_eq!(snapshot(&a), snapshot(&b));
    assert_eq!(b.progress(), (2, 1));
    // ... and continues exactly as the uninterrupted run
    let ra = a.train_epoch(&batches).unwrap();
    let rb = b.train_epoch(&batches).unwrap();
    assert_eq!(ra.loss.to_bits(), rb.loss.to_bits());
    assert_eq!(snapshot(&a), snapshot(&b));
    let (_, meta) = ddcl_readout::load_checkpoint(&ckpt, &Device::Cpu).unwrap();
    assert_eq!(RunConfig::from_yaml(&meta["config"]).unwrap(), cfg);
    assert_eq!(meta["epoch"], "2");
}

#[test]
fn bad_checkpoints_are_clear_errors() {
    let dir = tiny_text_model();
    let cfg = config(dir.path(), "frozen");
    let (t, _) = trainer(dir.path(), cfg.clone());
    let ckpt = dir.path().join("ok.safetensors");
    t.save(&ckpt).unwrap();
    // another shape
    let mut other = cfg.clone();
    other.readout.prototypes = 3;
    let (mut t3, _) = trainer(dir.path(), other);
    let err = t3.resume(&ckpt).unwrap_err().to_string();
    assert!(
        err.contains("readout.prototypes") && err.contains("[4, 16]"),
        "{err}"
    );
    // truncated
    let bytes = std::fs::read(&ckpt).unwrap();
    let cut = dir.path().join("cut.safetensors");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (mut t2, _) = trainer(dir.path(), cfg.clone());
    let err = t2.resume(&cut).unwrap_err();
    assert!(matches!(err, Error::Checkpoint { .. }), "{err}");
    assert!(err.to_string().contains("cut.safetensors"), "{err}");
    // not a ddcl checkpoint
    let plain = dir.path().join("model.safetensors");
    let err = t2.resume(&plain).unwrap_err().to_string();
    assert!(err.contains("not a ddcl checkpoint"), "{err}");
    // a missing file names the file
    let err = t2
        .resume(&dir.path().join("nope.safetensors"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("nope.safetensors"), "{err}");
    // no temporary file is left behind
    let leftovers = std::fs::read_dir(dir.path()).unwrap().filter(|e| {
        e.as_ref()
            .unwrap()
            .file_name()
            .to_string_lossy()
            .contains(".tmp-")
    });
    assert_eq!(leftovers.count(), 0);
}

#[test]
fn timescale_policy_and_labels() {
    let dir = tiny_text_model();
    let mut cfg = config(dir.path(), "all");
    cfg.train.lr_encoder = 1e-2; // eps = 0.2 > 0.1
    let varmap = VarMap::new();
    let enc = trainable_encoder(dir.path(), &varmap);
    let err = Trainer::new(enc, cfg.clone(), varmap, DType::F32)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Timescale(_)), "{err}");
    cfg.train.timescale.policy = Policy::Warn;
    let (mut t, batches) = trainer(dir.path(), cfg);
    let e = t.train_epoch(&batches).unwrap();
    let ts = e.timescale.unwrap();
    assert!(!ts.holds && (ts.check.eps - 0.2).abs() < 1e-12);
    let bad = Tensor::new(&[0u32, 1, 2, 0], &Device::Cpu).unwrap();
    let err = t.step(&batches[0].0, &bad).unwrap_err().to_string();
    assert!(err.contains("class 2 out of range"), "{err}");
    let short = Tensor::new(&[0u32, 1], &Device::Cpu).unwrap();
    assert!(t.step(&batches[0].0, &short).is_err());
}

#[test]
fn shipped_configs_load_and_typos_are_named() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs");
    for name in ["text.yaml", "image.yaml"] {
        RunConfig::from_yaml_file(&root.join(name)).unwrap();
    }
    let text = std::fs::read_to_string(root.join("text.yaml")).unwrap();
    let typo = text.replace("lr_head:", "lr_haed:");
    let err = RunConfig::from_yaml(&typo).unwrap_err().to_string();
    assert!(err.contains("lr_haed"), "{err}");
    let bad = text.replace("encoder: 2 ", "encoder: most ");
    let err = RunConfig::from_yaml(&bad).unwrap_err().to_string();
    assert!(err.contains("most"), "{err}");
}

#[test]
fn embedder_serves_classic_and_checkpointed_ddcl_modes() {
    use ddcl_readout::{readout_from_checkpoint, Embedder, Pooling};
    let dir = tiny_text_model();
    let cfg = config(dir.path(), "frozen");
    let (t, _) = trainer(dir.path(), cfg);
    let ckpt = dir.path().join("e.safetensors");
    t.save(&ckpt).unwrap();
    let model = ModelSource::new(dir.path().to_str().unwrap());
    let enc = || TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    let texts = ["good film", "the plot was slow"];
    let plain = Embedder::new(enc(), vec![Pooling::Cls, Pooling::Max], None).unwrap();
    let v = plain.embed(&texts, true).unwrap();
    assert_eq!(v.dims(), &[2, 32]);
    let norms = v.sqr().unwrap().sum(1).unwrap().to_vec1::<f32>().unwrap();
    assert!(norms.iter().all(|n| (n - 1.0).abs() < 1e-5));
    let err = Embedder::new(enc(), vec![Pooling::Mixture], None)
        .err()
        .unwrap();
    assert!(err.to_string().contains("mixture"), "{err}");
    let (readout, _) = readout_from_checkpoint(&ckpt, 16, &Device::Cpu).unwrap();
    assert_eq!(
        max_abs_diff(readout.prototypes(), t.model().readout.prototypes()),
        0.0
    );
    let ddcl = Embedder::new(
        enc(),
        vec![Pooling::Occupancy, Pooling::Mean],
        Some(readout),
    )
    .unwrap();
    let v = ddcl.embed(&texts, false).unwrap();
    assert_eq!(v.dims(), &[2, 4 + 16]);
    let occupancy = v
        .narrow(1, 0, 4)
        .unwrap()
        .sum(1)
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(occupancy.iter().all(|s| (s - 1.0).abs() < 1e-5));
}

#[test]
fn the_same_seed_trains_the_same_model_bit_for_bit() {
    // candle's CPU generator cannot be seeded; the trainer draws new variables (head, randomly
    // initialised prototypes) from the config's seed instead
    let dir = tiny_text_model();
    let run = |seed: u64| {
        let mut cfg = config(dir.path(), "1");
        cfg.readout.init = ddcl_readout::Init::Random;
        cfg.train.seed = seed;
        cfg.train.log = None;
        cfg.train.checkpoint = None;
        let (mut t, batches) = trainer(dir.path(), cfg);
        for (b, l) in &batches {
            t.step(b, l).unwrap();
        }
        snapshot(&t)
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
}

#[test]
fn cached_frozen_outputs_train_the_same_numbers() {
    use ddcl_readout::FrozenOutputs;
    let dir = tiny_text_model();
    for encoder in ["1", "frozen"] {
        let run = |mode: FrozenOutputs| {
            let mut cfg = config(dir.path(), encoder);
            cfg.train.log = None;
            cfg.train.checkpoint = None;
            let (mut t, batches) = trainer(dir.path(), cfg);
            t.set_frozen_outputs(mode);
            let losses: Vec<u64> = (0..3)
                .map(|_| t.train_epoch(&batches).unwrap().loss.to_bits())
                .collect();
            let kept = t.model().encoder.bert().kept_frozen_outputs().unwrap();
            (losses, snapshot(&t), kept)
        };
        let (cached, cached_vars, kept) = run(FrozenOutputs::Cached);
        let (fresh, fresh_vars, none) = run(FrozenOutputs::PerExample);
        assert_eq!(cached, fresh, "{encoder}: losses, bit for bit");
        assert_eq!(cached_vars, fresh_vars, "{encoder}: variables, bit for bit");
        assert_eq!((kept, none), (8, 0), "{encoder}: one output per example");
        // the padded batch sums in another order: the same run up to rounding
        let (batched, _, _) = run(FrozenOutputs::Batched);
        for (a, b) in cached.iter().zip(&batched) {
            let (a, b) = (f64::from_bits(*a), f64::from_bits(*b));
            assert!(
                (a - b).abs() < 1e-5 * a.abs().max(1.0),
                "{encoder}: {a} vs {b}"
            );
        }
    }
}
