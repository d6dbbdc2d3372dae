//! The bad inputs of issue 17 that reach ddcl-readout, each first reproduced: duplicate tensor
//! names, sizes that would abort on allocation, checkpoints whose readout tensors have another
//! dtype or hold NaN, a bad `encoder` setting, CRLF line numbers, deeply nested YAML.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use ddcl_readout::{
    load_checkpoint, readout_from_checkpoint, save_checkpoint, DdclReadout, Error, ReadoutConfig,
    RunConfig,
};

const RUN: &str = "model: {kind: text, id: m}
readout: {prototypes: 2, tau: 1.0}
classes: 2
train: {epochs: 1, batch_size: 1, lr_encoder: 0, lr_prototypes: 1, lr_head: 1, lambda: 0}
";

#[test]
fn duplicate_tensor_names_are_refused_not_a_panic() {
    // panicked inside safetensors (index out of bounds)
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.safetensors");
    let t = Tensor::new(&[1f32], &Device::Cpu).unwrap();
    let tensors = [("w".to_string(), t.clone()), ("w".to_string(), t)];
    let err = save_checkpoint(&path, &tensors, HashMap::new()).unwrap_err();
    assert!(
        matches!(&err, Error::Checkpoint { path: p, .. } if p == &path),
        "{err}"
    );
    assert!(err.to_string().contains("`w` given twice"), "{err}");
    assert!(!path.exists());
}

#[test]
fn a_trillion_prototypes_fail_validation_not_the_allocator() {
    // passed validation, and DdclReadout::new aborted on a 1.5 PB allocation
    let mut cfg = ReadoutConfig::new(4, 1.0).unwrap();
    cfg.prototypes = 1_000_000_000_000;
    let err = cfg.validate().unwrap_err();
    assert!(
        matches!(&err, Error::OutOfRange { key, .. } if key == "readout.prototypes"),
        "{err}"
    );
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    assert!(DdclReadout::new(384, &cfg, vb.clone()).is_err());
    // K within the cap but K x D beyond the bank cap
    cfg.prototypes = ddcl_core::MAX_PROTOTYPES;
    let err = DdclReadout::new(1 << 20, &cfg, vb).unwrap_err();
    assert!(
        matches!(err, Error::Core(ddcl_core::Error::TooLarge { .. })),
        "{err}"
    );
    assert!(varmap.all_vars().is_empty());
    let yaml = "prototypes: 1000000000000\ntau: 1.0\n";
    let err = ReadoutConfig::from_yaml(yaml).unwrap_err();
    assert!(err.to_string().contains("readout.prototypes"), "{err}");
}

/// A checkpoint holding `prototypes` as the readout's, with the run config above.
fn checkpoint(dir: &std::path::Path, prototypes: Tensor) -> std::path::PathBuf {
    let path = dir.join("ckpt.safetensors");
    let meta = HashMap::from([("config".to_string(), RUN.to_string())]);
    save_checkpoint(&path, &[("readout.prototypes".into(), prototypes)], meta).unwrap();
    path
}

#[test]
fn checkpoint_prototypes_of_another_dtype_are_refused_at_load_naming_file_and_tensor() {
    // loaded, and the first forward failed with Core(DType { name: "prototypes" }) naming no file
    let dir = tempfile::tempdir().unwrap();
    let p = Tensor::new(&[[0.5f32, 1.0], [2.0, -1.0]], &Device::Cpu).unwrap();
    for dtype in [DType::F64, DType::F16, DType::BF16, DType::U8, DType::I64] {
        let path = checkpoint(dir.path(), p.to_dtype(dtype).unwrap());
        let err = readout_from_checkpoint(&path, 2, &Device::Cpu).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::Checkpoint { .. }), "{dtype:?}: {msg}");
        assert!(msg.contains("ckpt.safetensors"), "{msg}");
        assert!(msg.contains("`readout.prototypes`"), "{msg}");
        assert!(msg.contains("expected f32"), "{msg}");
    }
    let path = checkpoint(dir.path(), p.clone());
    let (readout, _) = readout_from_checkpoint(&path, 2, &Device::Cpu).unwrap();
    assert_eq!(readout.prototypes().dtype(), DType::F32);
    // prototypes of another hidden size: named too
    let err = readout_from_checkpoint(&path, 3, &Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("ckpt.safetensors"), "{err}");
}

#[test]
fn non_finite_checkpoint_tensors_are_refused_at_load() {
    let dir = tempfile::tempdir().unwrap();
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let p = Tensor::new(&[[0.5f32, bad], [2.0, -1.0]], &Device::Cpu).unwrap();
        let path = checkpoint(dir.path(), p);
        for err in [
            load_checkpoint(&path, &Device::Cpu).unwrap_err(),
            readout_from_checkpoint(&path, 2, &Device::Cpu).unwrap_err(),
        ] {
            let msg = err.to_string();
            assert!(msg.contains("ckpt.safetensors"), "{msg}");
            assert!(
                msg.contains("tensor `readout.prototypes` holds 1 non-finite value(s)"),
                "{msg}"
            );
        }
    }
}

#[test]
fn a_negative_encoder_setting_names_the_key() {
    // said "data did not match any variant of untagged enum TrainableRepr"
    for (value, shown) in [
        ("-1", "integer `-1`"),
        ("1.5", "floating point `1.5`"),
        ("everything", "string \"everything\""),
    ] {
        let yaml = RUN.replace("lambda: 0}", &format!("lambda: 0, encoder: {value}}}"));
        let err = RunConfig::from_yaml(&yaml).unwrap_err();
        let msg = err.to_string();
        assert!(!msg.contains("untagged"), "{msg}");
        assert!(msg.contains("train.encoder"), "{msg}");
        assert!(msg.contains(shown), "{msg}");
        assert!(
            msg.contains("expected `frozen`, `all` or a number of top layers"),
            "{msg}"
        );
    }
    for (value, layers) in [
        ("frozen", None),
        ("0", None),
        ("2", Some(4)),
        ("all", Some(0)),
    ] {
        let yaml = RUN.replace("lambda: 0}", &format!("lambda: 0, encoder: {value}}}"));
        let cfg = RunConfig::from_yaml(&yaml).unwrap();
        assert_eq!(cfg.train.encoder.first_layer(6), layers, "{value}");
        // and written back the same way
        assert_eq!(RunConfig::from_yaml(&cfg.to_yaml().unwrap()).unwrap(), cfg);
    }
}

#[test]
fn crlf_files_report_the_right_line() {
    // the empty label on line 3 was reported on line 2
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [
        ("crlf.csv", "text,label\r\ngood,pos\r\nbad,\r\n"),
        ("lf.csv", "text,label\ngood,pos\nbad,\n"),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        let err = ddcl_readout::data::read_text_file(&path, "text", "label").unwrap_err();
        assert!(
            matches!(err, Error::Data { line: Some(3), .. }),
            "{name}: {err}"
        );
    }
    let path = dir.path().join("tab.csv");
    std::fs::write(&path, "a,label\r\n1,x\r\n2,y\r\nz,x\r\n").unwrap();
    let err = ddcl_readout::data::read_tabular_csv(&path, "label").unwrap_err();
    assert!(matches!(err, Error::Data { line: Some(4), .. }), "{err}");
    let path = dir.path().join("t.jsonl");
    std::fs::write(
        &path,
        "{\"text\": \"a\", \"label\": \"x\"}\r\n\r\n{\"text\": \"b\"}\r\n",
    )
    .unwrap();
    let err = ddcl_readout::data::read_text_file(&path, "text", "label").unwrap_err();
    assert!(matches!(err, Error::Data { line: Some(3), .. }), "{err}");
}

#[test]
fn deeply_nested_yaml_is_refused_fast() {
    // a document nested 100,000 levels deep took 38 s to be refused
    let deep = [
        format!("prototypes: {}", "[".repeat(100_000)),
        format!(
            "prototypes: {}1{}",
            "{a: ".repeat(100_000),
            "}".repeat(100_000)
        ),
        format!("prototypes:\n{}1", "- ".repeat(100_000)),
        (0..300)
            .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
            .collect(),
        format!("prototypes: 1\ntau: 1.0\n#{}\n", " ".repeat(2 << 20)),
    ];
    for doc in &deep {
        let start = Instant::now();
        let err = ReadoutConfig::from_yaml(doc).unwrap_err();
        assert!(
            start.elapsed() < Duration::from_millis(500),
            "{:?}",
            start.elapsed()
        );
        assert!(matches!(err, Error::Yaml { .. }), "{err}");
    }
    // nesting a config needs, brackets in quoted strings and comments are fine
    let ok = "prototypes: 2 # [[[[\ntau: 1.0\npooling: [mixture, mean]\n";
    assert!(ReadoutConfig::from_yaml(ok).is_ok());
    let quoted = format!("model: {{kind: text, id: \"{}\"}}\n", "[".repeat(200));
    let run = RUN.replacen("model: {kind: text, id: m}\n", &quoted, 1);
    assert!(RunConfig::from_yaml(&run).is_ok());
}

#[test]
fn a_max_len_within_the_special_tokens_is_refused() {
    // found by the tokenize fuzz target: max_len 1 or 2 overflowed inside tokenizers (a panic
    // in debug builds), as [CLS] and [SEP] are subtracted from it unchecked
    let dir = tempfile::tempdir().unwrap();
    ddcl_readout::tiny::text_model(dir.path(), 1).unwrap();
    let model = ddcl_readout::ModelSource::new(dir.path().to_str().unwrap());
    let mut enc = ddcl_readout::TextEncoder::load(
        &model,
        ddcl_readout::Weights::Frozen,
        DType::F32,
        &Device::Cpu,
    )
    .unwrap();
    for n in [0, 1, 2] {
        let err = enc.set_max_len(n).unwrap_err();
        assert!(
            matches!(&err, Error::OutOfRange { key, .. } if key == "max_len"),
            "{err}"
        );
        assert!(err.to_string().contains("in 3..="), "{err}");
    }
    enc.set_max_len(3).unwrap();
}
