//! The ddcl-hier command end to end on the tiny model: fit on a file of documents, save,
//! embed a folder with the saved compressor, the same vectors; failures leave outputs alone.

mod common;

use std::path::Path;
use std::process::Command;

const CFG: &str = "chunk: {window: 10, overlap: 2, batch: 4}
levels:
  - readout: {prototypes: 4, tau: 1.0, pooling: [mixture]}
  - readout: {prototypes: 2, tau: 1.0, pooling: [mixture, mean]}
";

fn hier(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ddcl-hier"))
        .args(args)
        .output()
        .unwrap()
}

fn vectors(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn fits_saves_and_embeds_lines_and_folders() {
    let (_enc, model) = common::encoder();
    let m = model.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    std::fs::write(p("hier.yaml"), CFG).unwrap();
    let docs = [common::text(120), common::text(7), String::new()];
    std::fs::write(p("docs.txt"), docs.join("\n") + "\n").unwrap();
    let s = |name: &str| p(name).to_str().unwrap().to_string();
    let out = hier(&[
        "--model",
        m,
        "--config",
        &s("hier.yaml"),
        "--input",
        &s("docs.txt"),
        "--output",
        &s("v.jsonl"),
        "--assignments",
        &s("a.json"),
        "--save",
        &s("hier.safetensors"),
        "--fit-steps",
        "5",
        "--seed",
        "3",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines = vectors(&p("v.jsonl"));
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[1]["line"], 2);
    assert_eq!(lines[1]["text"], docs[1].as_str());
    assert_eq!(lines[0]["vector"].as_array().unwrap().len(), 32);
    let reports: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(p("a.json")).unwrap()).unwrap();
    assert_eq!(reports[0]["line"], 1);
    assert_eq!(reports[0]["chunks"], 15); // 120 tokens, windows of 10 every 8
    let top = &reports[0]["levels"][1]["assignments"][0];
    assert_eq!(top.as_array().unwrap().len(), 15);

    // the saved compressor on the same documents, one file each: the same vectors
    std::fs::create_dir(p("folder")).unwrap();
    for (i, d) in docs.iter().enumerate() {
        std::fs::write(p("folder").join(format!("doc{i}.txt")), d).unwrap();
    }
    let out = hier(&[
        "--model",
        m,
        "--weights",
        &s("hier.safetensors"),
        "--input",
        &s("folder"),
        "--output",
        &s("w.jsonl"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let files = vectors(&p("w.jsonl"));
    assert!(files[2]["file"].as_str().unwrap().ends_with("doc2.txt"));
    for (a, b) in lines.iter().zip(&files) {
        assert_eq!(a["vector"], b["vector"]);
    }
}

#[test]
fn failures_name_the_problem_and_leave_outputs_alone() {
    let (_enc, model) = common::encoder();
    let m = model.path().to_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    let s = |name: &str| p(name).to_str().unwrap().to_string();
    std::fs::write(p("docs.txt"), "the cat sat\n").unwrap();
    std::fs::write(p("v.jsonl"), "old\n").unwrap();
    // a window the tiny model (32 positions) cannot read, and an unknown key
    std::fs::write(p("wide.yaml"), CFG.replace("window: 10", "window: 40")).unwrap();
    std::fs::write(p("typo.yaml"), CFG.replace("batch: 4", "bach: 4")).unwrap();
    for (cfg, expected) in [("wide.yaml", "max_len 32"), ("typo.yaml", "bach")] {
        let out = hier(&[
            "--model",
            m,
            "--config",
            &s(cfg),
            "--input",
            &s("docs.txt"),
            "--output",
            &s("v.jsonl"),
        ]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{err}");
        assert_eq!(std::fs::read_to_string(p("v.jsonl")).unwrap(), "old\n");
    }
    // the input as output, a missing input file, no config
    let (docs, wide, missing) = (s("docs.txt"), s("wide.yaml"), s("missing.txt"));
    let cases: [(Vec<&str>, &str); 3] = [
        (
            vec!["--config", "x.yaml", "--input", &docs, "--output", &docs],
            "is the --input",
        ),
        (vec!["--config", &wide, "--input", &missing], "missing.txt"),
        (vec!["--input", &docs], "--config"),
    ];
    for (args, expected) in cases {
        let mut all = vec!["--model", m];
        all.extend(args);
        let out = hier(&all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expected), "{expected}: {err}");
    }
    assert_eq!(
        std::fs::read_to_string(p("docs.txt")).unwrap(),
        "the cat sat\n"
    );
}
