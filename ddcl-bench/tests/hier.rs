//! The hierarchical experiment end to end on a tiny random text model and a few dozen
//! synthetic documents in BBC News's folder layout: every method's rows, the scaling points,
//! the table and the plot, the chunk cache on a second run; bad settings are typed errors
//! naming the key.

use std::path::Path;
use std::process::Command;

use ddcl_bench::{Error, HierConfig};
use ddcl_readout::tiny::WORDS;

/// `$DDCL_DATA/bbc/<topic>/<n>.txt` for three topics, each with its own words and some shared
/// ones; lengths from 3 to about 60 words, so that documents span one to several chunks.
fn bbc(data: &Path) {
    let topics = [("business", 4..14), ("sport", 14..24), ("tech", 24..34)];
    for (t, (name, words)) in topics.iter().enumerate() {
        let dir = data.join("bbc").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let own: Vec<&str> = WORDS[words.clone()].to_vec();
        for i in 0..14 {
            let len = 3 + (i * 7 + t * 5) % 58;
            let text: Vec<&str> = (0..len)
                .map(|j| {
                    if (i + j) % 3 == 0 {
                        WORDS[j % 4]
                    } else {
                        own[(i * 3 + j) % own.len()]
                    }
                })
                .collect();
            std::fs::write(dir.join(format!("{i:03}.txt")), text.join(" ")).unwrap();
        }
    }
}

/// A tiny experiment: two seeds, windows of 12 tokens overlapping by 2 in batches of 4, one
/// variant of two DDCL levels, a few fit steps, a probe with one C, scaling at 40 and 2,000
/// tokens.
fn tiny(model: &Path, cache: &Path) -> String {
    format!(
        r#"
seeds: [0, 1]
train_share: 0.5
limit: 0
text_model: {}
cache: {}
chunk: {{ window: 12, overlap: 2, batch: 4 }}
variants:
  - name: h
    levels: [{{ k: 3, summary: slots }}, {{ k: 2, summary: slots }}]
fit: {{ steps: 5, lr: 0.01, batch: 8 }}
probe: {{ grid: [1.0], folds: 2 }}
speed_docs: 3
scaling: {{ lengths: [40, 2000] }}
"#,
        model.display(),
        cache.display()
    )
}

/// Runs `ddcl-bench hier` on the fixture's config into `out`.
fn run(root: &Path, out: &Path) -> serde_json::Value {
    let status = Command::new(env!("CARGO_BIN_EXE_ddcl-bench"))
        .args(["hier", "--config"])
        .arg(root.join("hier.yaml"))
        .arg("--out")
        .arg(out)
        .env("DDCL_DATA", root.join("data"))
        .status()
        .unwrap();
    assert!(status.success());
    serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_tiny_run_writes_every_methods_rows_the_scaling_the_table_and_the_plot() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    bbc(&root.join("data"));
    std::fs::create_dir_all(root.join("model")).unwrap();
    ddcl_readout::tiny::text_model(&root.join("model"), 1).unwrap();
    std::fs::write(
        root.join("hier.yaml"),
        tiny(&root.join("model"), &root.join("cache")),
    )
    .unwrap();
    let json = run(root, &root.join("run"));
    assert_eq!(json["schema"], "ddcl-bench/2");
    assert!(json.get("config").is_none(), "no comparison config");
    let d = &json["datasets"][0];
    assert_eq!(
        (d["examples"].as_u64(), d["train"].as_u64()),
        (Some(42), Some(21))
    );
    assert_eq!(d["splits"].as_array().unwrap().len(), 2);
    let h = &json["hier"];
    assert_eq!(h["cached"], false);
    assert_eq!(h["baseline"], "chunk-mean");
    let docs = &h["documents"];
    assert_eq!(docs["documents"], 42);
    assert!(docs["max_chunks"].as_u64().unwrap() >= 5, "{docs}");
    assert!(docs["longer_than_window"].as_f64().unwrap() > 0.5, "{docs}");
    let rows = h["rows"].as_array().unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r["method"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["truncate-mean", "chunk-mean", "two-level-mean", "h"]
    );
    for r in rows {
        let name = r["method"].as_str().unwrap();
        let acc = r["accuracy"].as_array().unwrap();
        assert_eq!(acc.len(), 2, "{name}");
        assert!(acc
            .iter()
            .all(|a| (0.0..=1.0).contains(&a.as_f64().unwrap())));
        assert_eq!(r["pooled"]["n"], 42, "{name}: both seeds' test documents");
        assert_eq!(r["predictions"][0].as_array().unwrap().len(), 21);
        assert_eq!(r["vs_baseline"].is_null(), name == "chunk-mean", "{name}");
        assert!(r["docs_per_s"].as_f64().unwrap() > 0.0, "{name}");
        assert!(r["readout_docs_per_s"].as_f64().unwrap() > 0.0, "{name}");
    }
    // 3 slots of 16 at level 1, then 2 slots of those: 2 x 3 x 16 features
    assert_eq!(rows[3]["width"], 96);
    assert_eq!(rows[0]["width"], 16);
    let scaling = h["scaling"].as_array().unwrap();
    let tokens: Vec<u64> = scaling
        .iter()
        .map(|p| p["tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(tokens, [40, 2000]);
    for p in scaling {
        assert!(p["peak_heap_bytes"].as_u64().unwrap() > 0, "{p}");
        assert!(p["seconds"].as_f64().unwrap() > 0.0);
    }
    // 2,000 tokens (more than the 42 documents hold: they repeat) in windows of 12 advancing
    // by 10: 200 chunks
    assert_eq!(scaling[1]["chunks"], 200);
    assert_eq!(h["scaling_fit"]["buffer_tokens"], 48);
    let report = std::fs::read_to_string(root.join("run/report.md")).unwrap();
    assert!(
        report.contains("## Hierarchical: BBC News, whole documents"),
        "{report}"
    );
    for name in [
        "| truncate-mean |",
        "| chunk-mean |",
        "| two-level-mean |",
        "| h |",
    ] {
        assert!(report.contains(name), "{name} in {report}");
    }
    let svg = std::fs::read_to_string(root.join("run/hier.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("peak heap"),
        "{svg:.200}"
    );

    // a second run reads the chunk states from the cache and gives the same numbers
    let again = run(root, &root.join("run2"));
    assert_eq!(again["hier"]["cached"], true);
    assert_eq!(again["hier"]["encode_seconds"], 0.0);
    for (a, b) in rows.iter().zip(again["hier"]["rows"].as_array().unwrap()) {
        assert_eq!(a["predictions"], b["predictions"], "{}", a["method"]);
    }
}

/// The error reading the tiny config with `from` replaced by `to`.
fn error(from: &str, to: &str) -> Error {
    let text = tiny(Path::new("model"), Path::new("cache"));
    assert!(text.contains(from), "`{from}` is not in the config");
    HierConfig::from_yaml(&text.replacen(from, to, 1)).unwrap_err()
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
        out_of_range(&error("overlap: 2", "overlap: 12")),
        "chunk.overlap"
    );
    assert_eq!(
        out_of_range(&error("window: 12", "window: 0")),
        "chunk.window"
    );
    assert_eq!(out_of_range(&error("batch: 4", "batch: 0")), "chunk.batch");
    assert_eq!(
        out_of_range(&error("train_share: 0.5", "train_share: 1.0")),
        "train_share"
    );
    assert_eq!(
        out_of_range(&error(
            "{ k: 2, summary: slots }",
            "{ k: 0, summary: slots }"
        )),
        "variants.h.levels[1].k"
    );
    assert_eq!(
        out_of_range(&error(
            "[{ k: 3, summary: slots }, { k: 2, summary: slots }]",
            "[{ k: 3, summary: slots }]"
        )),
        "variants.h.levels"
    );
    assert_eq!(
        out_of_range(&error("lengths: [40, 2000]", "lengths: [2000, 40]")),
        "scaling.lengths[1]"
    );
    assert_eq!(out_of_range(&error("steps: 5", "steps: 0")), "fit.steps");
    assert_eq!(
        out_of_range(&error("speed_docs: 3", "speed_docs: 0")),
        "speed_docs"
    );
    let e = error("{ k: 2, summary: slots }", "{ k: 2, summary: mean }");
    assert!(
        matches!(&e, Error::Readout(ddcl_readout::Error::Config { key, .. }) if key == "variants.h.levels[1].summary"),
        "{e}"
    );
    let e = error("seeds: [0, 1]", "seeds: [1, 1]");
    assert!(e.to_string().contains("`1` is given twice"), "{e}");
    // a mistyped key: the YAML error names it
    let e = error("speed_docs: 3", "speed_doc: 3");
    assert!(
        matches!(&e, Error::Readout(ddcl_readout::Error::Yaml { .. }))
            && e.to_string().contains("speed_doc"),
        "{e}"
    );
}

#[test]
fn the_shipped_config_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/hier.yaml");
    let cfg = HierConfig::from_yaml_file(&path).unwrap();
    assert_eq!(cfg.seeds.len(), 3);
    assert_eq!((cfg.chunk.window, cfg.chunk.overlap), (254, 32));
    assert!(!cfg.variants.is_empty());
    assert_eq!(cfg.scaling.lengths.first(), Some(&1000));
    assert_eq!(cfg.scaling.lengths.last(), Some(&100_000));
    assert_eq!(cfg.clone().full().limit, 0);
}
