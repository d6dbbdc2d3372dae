//! The codebook experiment end to end on a tiny config and a few dozen synthetic images in
//! Fashion-MNIST's IDX format: every method's rows, the table and the plot; bad settings are
//! typed errors naming the key.

use std::io::Write;
use std::path::Path;
use std::process::Command;

use ddcl_bench::{CodebookConfig, Error};
use flate2::{write::GzEncoder, Compression};

/// Writes `bytes` gzipped to `dir/name`.
fn gz(dir: &Path, name: &str, bytes: &[u8]) {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    std::fs::write(dir.join(name), e.finish().unwrap()).unwrap();
}

/// `part`'s IDX files (`train`, `t10k`) with `n` 28 x 28 images: a bright square at a place
/// and of a brightness that vary with the image, label `i % 10`.
fn idx(dir: &Path, part: &str, n: usize) {
    let mut images = Vec::new();
    for v in [2051u32, n as u32, 28, 28] {
        images.extend(v.to_be_bytes());
    }
    let mut labels = Vec::new();
    for v in [2049u32, n as u32] {
        labels.extend(v.to_be_bytes());
    }
    for i in 0..n {
        let (r, c, size) = (2 + (i * 5) % 14, 2 + (i * 3) % 12, 6 + i % 7);
        let level = 120 + (i * 37 % 136) as u8;
        for y in 0..28 {
            for x in 0..28 {
                let inside = (r..r + size).contains(&y) && (c..c + size).contains(&x);
                images.push(if inside { level } else { 0 });
            }
        }
        labels.push((i % 10) as u8);
    }
    gz(dir, &format!("{part}-images-idx3-ubyte.gz"), &images);
    gz(dir, &format!("{part}-labels-idx1-ubyte.gz"), &labels);
}

/// A tiny experiment on the images in `data`: 4 steps of 8 images, 16 codes, curves every
/// 2 steps, a DDCL method, DDCL with every remedy, two hard VQs and FSQ.
fn tiny(data: &Path) -> String {
    format!(
        r#"
data: {}
seeds: [3]
iterations: 4
batch_size: 8
lr: 1.0e-3
weight_decay: 0.0
test_limit: 10
eval_every: 2
eval_batch: 6
codes: [16]
large_codes: [64]
autoencoder: {{ hidden: 4, latent: 8 }}
methods:
  - name: d
    ddcl: {{ beta: 1.0, tau: {{ shape: exponential, start: 1.0, end: 0.1 }} }}
  - name: d-all
    ddcl: {{ tau: {{ start: 0.5 }}, relative: true, tau_min: 1.0e-6, dead_threshold: 0.5, entropy_weight: 0.01, init: kmeans, kmeans_iters: 2 }}
  - name: v
    vq: {{ beta: 0.25 }}
  - name: v-ema
    vq: {{ ema: true, init: kmeans, kmeans_iters: 2, dead_threshold: 2.0 }}
  - name: f
    fsq: {{ levels: [4, 4], codes: 16 }}
  - name: f-large
    fsq: {{ levels: [4, 4, 4], codes: 64 }}
"#,
        data.display()
    )
}

fn fixture() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    idx(dir.path(), "train", 32);
    idx(dir.path(), "t10k", 12);
    dir
}

/// After each run the results so far are shown to the caller: one more row each time, the
/// last call's rows those of the returned results.
#[test]
fn partial_results_grow_by_one_row_per_run() {
    let dir = fixture();
    let cfg = CodebookConfig::from_yaml(&tiny(dir.path())).unwrap();
    let mut seen = Vec::new();
    let results = ddcl_bench::run_codebook_with(cfg, |so_far| {
        let rows = &so_far.codebook.as_ref().unwrap().rows;
        seen.push(rows.iter().map(|r| r.method.clone()).collect::<Vec<_>>());
        Ok(())
    })
    .unwrap();
    let all: Vec<String> = ["d", "d-all", "v", "v-ema", "f"].map(String::from).into();
    let expected: Vec<Vec<String>> = (1..=all.len()).map(|n| all[..n].to_vec()).collect();
    assert_eq!(seen, expected);
    let last = &results.codebook.unwrap().rows;
    assert_eq!(last.len(), all.len());
}

/// A failing partial write ends the experiment with that error.
#[test]
fn a_failing_partial_write_ends_the_run() {
    let dir = fixture();
    let cfg = CodebookConfig::from_yaml(&tiny(dir.path())).unwrap();
    let mut calls = 0;
    let e = ddcl_bench::run_codebook_with(cfg, |_| {
        calls += 1;
        Err(Error::Config("disk full".into()))
    })
    .unwrap_err();
    assert_eq!(
        (calls, e.to_string().contains("disk full")),
        (1, true),
        "{e}"
    );
}

#[test]
fn a_tiny_run_writes_every_methods_rows_the_table_and_the_plot() {
    let dir = fixture();
    let config = dir.path().join("codebook.yaml");
    std::fs::write(&config, tiny(dir.path())).unwrap();
    let out = dir.path().join("run");
    let status = Command::new(env!("CARGO_BIN_EXE_ddcl-bench"))
        .args(["codebook", "--config"])
        .arg(&config)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        !dir.path().join("run.partial").exists(),
        "the partial results are removed at the end"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], "ddcl-bench/2");
    assert!(json.get("config").is_none(), "no comparison config");
    assert_eq!(json["datasets"][0]["train"], 32);
    assert_eq!(json["datasets"][0]["test"], 10);
    let c = &json["codebook"];
    assert_eq!(
        (c["train_images"].as_u64(), c["test_images"].as_u64()),
        (Some(32), Some(10))
    );
    assert_eq!(c["grid"], serde_json::json!([7, 7]));
    let rows = c["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["d", "d-all", "v", "v-ema", "f"],
        "f-large only with --large"
    );
    for r in rows {
        let name = r["method"].as_str().unwrap();
        let u = r["utilisation"].as_f64().unwrap();
        assert!(u > 0.0 && u <= 1.0, "{name}: {u}");
        assert!(r["perplexity"].as_f64().unwrap() >= 1.0, "{name}");
        assert_eq!(
            (r["group"].as_u64(), r["codes"].as_u64()),
            (Some(16), Some(16))
        );
        let used = (u * 16.0).round() as u64;
        assert_eq!(r["dead"].as_u64(), Some(16 - used), "{name}");
        assert!(r["mse"].as_f64().unwrap().is_finite() && r["l1"].as_f64().unwrap() > 0.0);
        assert_eq!(r["seed"], 3);
        assert_eq!(r["curve"]["step"], serde_json::json!([2, 4]), "{name}");
        assert_eq!(r["curve"]["mse"].as_array().unwrap().len(), 2);
        let soft = r["mse_soft"].as_f64();
        assert_eq!(
            soft.is_some(),
            name.starts_with('d'),
            "{name}: soft codes for DDCL only"
        );
    }
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(report.contains("## Codebook"), "{report}");
    assert!(report.contains("| method | K | utilisation, % | perplexity | dead | MSE hard | MSE soft | L1 hard | seconds |"));
    for name in ["| d |", "| d-all |", "| v |", "| v-ema |", "| f |"] {
        assert!(report.contains(name), "{name} in {report}");
    }
    let svg = std::fs::read_to_string(out.join("codebook.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("d-all K=16"),
        "{svg:.200}"
    );
}

#[test]
fn large_adds_the_large_sizes_and_full_three_seeds() {
    let dir = fixture();
    let cfg = CodebookConfig::from_yaml(&tiny(dir.path())).unwrap();
    let large = cfg.clone().large();
    assert_eq!(large.codes, [16, 64]);
    let f = &large.methods[5];
    assert_eq!(f.sizes(&large.codes), [64]);
    assert_eq!(cfg.clone().full().seeds, [3, 0, 1]);
}

/// The error reading the tiny config with `from` replaced by `to`.
fn error(from: &str, to: &str) -> Error {
    let text = tiny(Path::new("data"));
    assert!(text.contains(from), "`{from}` is not in the config");
    CodebookConfig::from_yaml(&text.replacen(from, to, 1)).unwrap_err()
}

/// The key an out-of-range error names.
fn out_of_range(e: &Error) -> &str {
    match e {
        Error::Readout(ddcl_readout::Error::OutOfRange { key, .. }) => key,
        other => panic!("not an out-of-range error: {other}"),
    }
}

#[test]
fn bad_settings_are_typed_errors_naming_the_key() {
    assert_eq!(
        out_of_range(&error("codes: [16]", "codes: [0]")),
        "codes[0]"
    );
    assert_eq!(
        out_of_range(&error("start: 1.0, end: 0.1", "start: 0.0, end: 0.1")),
        "methods.d.ddcl.tau.start"
    );
    assert_eq!(
        out_of_range(&error("start: 0.5 }", "start: -1.0 }")),
        "methods.d-all.ddcl.tau.start"
    );
    assert_eq!(
        out_of_range(&error("ddcl: { beta: 1.0", "ddcl: { beta: -1.0")),
        "methods.d.ddcl.beta"
    );
    assert_eq!(
        out_of_range(&error("vq: { beta: 0.25 }", "vq: { beta: -0.5 }")),
        "methods.v.vq.beta"
    );
    assert_eq!(
        out_of_range(&error("levels: [4, 4]", "levels: [4, 1]")),
        "methods.f.fsq.levels[1]"
    );
    assert_eq!(
        out_of_range(&error("ema: true,", "ema: true, decay: 1.0,")),
        "methods.v-ema.vq.decay"
    );
    // a mistyped key of a method, and a kind no method has: the YAML error names it
    for (from, to, key) in [
        ("vq: { beta: 0.25 }", "vq: { betta: 0.25 }", "betta"),
        (
            "fsq: { levels: [4, 4], codes: 16 }",
            "pq: { levels: [4, 4] }",
            "pq",
        ),
    ] {
        let e = error(from, to);
        assert!(
            matches!(&e, Error::Readout(ddcl_readout::Error::Yaml { .. }))
                && e.to_string().contains(key),
            "{e}"
        );
    }
    // two quantisers in one method, an FSQ beside a K that is not run
    let e = error(
        "vq: { beta: 0.25 }",
        "vq: { beta: 0.25 }\n    fsq: { levels: [4], codes: 16 }",
    );
    assert!(
        matches!(&e, Error::Readout(ddcl_readout::Error::Config { key, .. }) if key == "methods.v"),
        "{e}"
    );
    let e = error("levels: [4, 4], codes: 16", "levels: [4, 4], codes: 32");
    assert!(
        matches!(&e, Error::Readout(ddcl_readout::Error::Config { key, .. }) if key == "methods.f.fsq.codes"),
        "{e}"
    );
    let e = error("name: v-ema", "name: d");
    assert!(e.to_string().contains("`d` is given twice"), "{e}");
}

/// The default: the protocol at K = 256 with the three quantisers of the target.
#[test]
fn the_shipped_default_config_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/codebook.yaml");
    let cfg = CodebookConfig::from_yaml_file(&path).unwrap();
    assert_eq!((cfg.iterations, cfg.batch_size, cfg.lr), (1000, 128, 3e-4));
    assert_eq!((cfg.codes.clone(), cfg.seeds.clone()), (vec![256], vec![0]));
    let names: Vec<&str> = cfg.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["ddcl-all", "vq-ema-kmeans-expiry", "fsq-8-6-5"]);
}

/// The whole protocol: every DDCL variant, both VQs and FSQ at K = 256 and 1024.
#[test]
fn the_shipped_full_config_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/codebook-full.yaml");
    let cfg = CodebookConfig::from_yaml_file(&path).unwrap();
    assert_eq!((cfg.iterations, cfg.batch_size, cfg.lr), (1000, 128, 3e-4));
    assert_eq!(
        (cfg.codes.clone(), cfg.seeds.clone()),
        (vec![256, 1024], vec![0])
    );
    let kinds: Vec<&str> = cfg.methods.iter().map(|m| m.kind()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "ddcl").count(), 6);
    assert_eq!(kinds.iter().filter(|k| **k == "vq").count(), 2);
    let per_k = |k: usize| {
        cfg.methods
            .iter()
            .filter(|m| m.sizes(&cfg.codes).contains(&k))
            .count()
    };
    assert_eq!((per_k(256), per_k(1024)), (9, 9));
}
