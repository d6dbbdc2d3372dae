//! Settings are checked when the config is read: each bad value is an error naming its key.

use ddcl_bench::{BenchConfig, Tau};

/// A valid config with every section, each value on a line of its own so that a case can
/// replace it.
const GOOD: &str = r#"
seeds: [0, 1]
train_share: 0.7
text_model: m
image_model: m
batch_size: 4
cache: cache
datasets:
  - name: a
    source: text_file
    path: x.csv
    limit: 0
    max_len: 16
  - { name: im, source: image_folder, path: imgs, limit: 0 }
  - { name: t, source: tabular_file, path: t.csv, limit: 0 }
methods: [cls, mean, "ddcl:4:mixture"]
fit:
  steps: 1
  lr: 0.1
  batch: 2
  tau: auto
probe: { c: 1.0 }
kmeans_restarts: 1
joint:
  dataset: a
  limit: 0
  epochs: 1
  batch_size: 8
  encoder: 1
  prototypes: 4
  summary: mixture
  lr_encoder: 1.0e-4
  lr_prototypes: 1.0e-2
  lr_head: 1.0e-2
  lambda: 0.01
sweep:
  eps: [0.01, 1.0]
  epochs: 1
  limit: 24
tabular:
  dataset: t
  hidden: 8
  prototypes: 3
  summary: slots
  lambda: 0.01
  epochs: 3
  batch_size: 16
  lr: 1.0e-2
  lr_prototypes: 1.0e-1
speed:
  datasets: [a, im]
  batch_size: 8
  repeats: 1
"#;

/// `GOOD` with the first occurrence of `from` replaced by `to`.
fn with(from: &str, to: &str) -> String {
    assert!(GOOD.contains(from), "`{from}` is not in the config");
    GOOD.replacen(from, to, 1)
}

#[test]
fn the_good_config_parses_and_tau_is_auto_or_a_number() {
    let cfg = BenchConfig::from_yaml(GOOD).unwrap();
    assert_eq!(cfg.fit.tau, Tau::Auto);
    let absent = BenchConfig::from_yaml(&with("  tau: auto\n", "")).unwrap();
    assert_eq!(absent.fit.tau, Tau::Auto);
    let fixed = BenchConfig::from_yaml(&with("tau: auto", "tau: 2.5")).unwrap();
    assert_eq!(fixed.fit.tau, Tau::Fixed(2.5));
    // written back as it was read
    let yaml = ddcl_readout::yaml::to_string(&cfg).unwrap();
    assert!(yaml.contains("tau: auto"), "{yaml}");
    assert_eq!(BenchConfig::from_yaml(&yaml).unwrap(), cfg);
}

#[test]
fn each_bad_setting_is_an_error_naming_its_key() {
    // (what is replaced, by what, what the error must say)
    let cases: &[(&str, &str, &str)] = &[
        ("seeds: [0, 1]", "seeds: []", "seeds is empty"),
        (
            "seeds: [0, 1]",
            "seeds: [1, 1]",
            "seeds: `1` is given twice",
        ),
        (
            "train_share: 0.7",
            "train_share: 1.0",
            "train_share must be in (0, 1)",
        ),
        (
            "train_share: 0.7",
            "train_share: .nan",
            "train_share must be in (0, 1)",
        ),
        (
            "path: imgs, limit: 0 }",
            "path: imgs, limit: 0, train_share: 1.5 }",
            "datasets.im.train_share must be in (0, 1), got 1.5",
        ),
        (
            "batch_size: 4",
            "batch_size: 0",
            "batch_size must be >= 1, got 0",
        ),
        ("cache: cache", "cache: ''", "cache: must name a folder"),
        ("name: im,", "name: a,", "datasets: `a` is given twice"),
        (
            "    max_len: 16",
            "    max_len: 0",
            "datasets.a.max_len must be >= 1",
        ),
        ("    path: x.csv\n", "", "datasets.a.path"),
        (
            "methods: [cls, mean, \"ddcl:4:mixture\"]",
            "methods: []",
            "methods is empty",
        ),
        (
            "methods: [cls, mean,",
            "methods: [cls, cls,",
            "methods: `cls` is given twice",
        ),
        ("steps: 1", "steps: 0", "fit.steps must be >= 1, got 0"),
        ("lr: 0.1", "lr: -0.1", "fit.lr must be finite and > 0"),
        ("batch: 2", "batch: 0", "fit.batch must be >= 1, got 0"),
        (
            "tau: auto",
            "tau: -1",
            "fit.tau must be finite and > 0, got -1",
        ),
        (
            "tau: auto",
            "tau: .nan",
            "fit.tau must be finite and > 0, got NaN",
        ),
        (
            "tau: auto",
            "tau: 0",
            "fit.tau must be finite and > 0, got 0",
        ),
        (
            "tau: auto",
            "tau: automatic",
            "expected `auto` or a number > 0",
        ),
        (
            "tau: auto",
            "tau: [1.0]",
            "invalid type: sequence, expected `auto` or a number > 0",
        ),
        (
            "tau: auto",
            "tau: true",
            "invalid type: boolean `true`, expected `auto` or a number > 0",
        ),
        (
            "probe: { c: 1.0 }",
            "probe: { c: -1.0 }",
            "probe.c must be finite and > 0",
        ),
        (
            "kmeans_restarts: 1",
            "kmeans_restarts: 0",
            "kmeans_restarts must be >= 1",
        ),
        (
            "dataset: a",
            "dataset: nope",
            "joint.dataset: `nope` is not one of datasets",
        ),
        (
            "dataset: a",
            "dataset: t",
            "joint.dataset: `t` holds Tabular data",
        ),
        (
            "epochs: 1\n  batch_size: 8",
            "epochs: 0\n  batch_size: 8",
            "joint.epochs must be >= 1",
        ),
        (
            "batch_size: 8\n  encoder",
            "batch_size: 0\n  encoder",
            "joint.batch_size must be >= 1",
        ),
        (
            "prototypes: 4",
            "prototypes: 0",
            "joint.prototypes must be >= 1",
        ),
        (
            "summary: mixture",
            "summary: mean",
            "joint.summary: `mean` is not a DDCL summary",
        ),
        (
            "lr_encoder: 1.0e-4",
            "lr_encoder: 0",
            "joint.lr_encoder must be finite and > 0",
        ),
        (
            "lr_head: 1.0e-2",
            "lr_head: .inf",
            "joint.lr_head must be finite and > 0",
        ),
        (
            "lambda: 0.01\nsweep",
            "lambda: -1\nsweep",
            "joint.lambda must be finite and >= 0",
        ),
        (
            "  limit: 0\n  epochs: 1\n  batch_size: 8",
            "  limit: 0\n  train: 0\n  epochs: 1\n  batch_size: 8",
            "joint.train must be >= 1, got 0",
        ),
        (
            "  limit: 0\n  epochs: 1\n  batch_size: 8",
            "  limit: 100\n  train: 100\n  epochs: 1\n  batch_size: 8",
            "joint.train: must be below joint.limit (100) to leave test examples, got 100",
        ),
        ("eps: [0.01, 1.0]", "eps: []", "sweep.eps is empty"),
        (
            "eps: [0.01, 1.0]",
            "eps: [0.01, 0]",
            "sweep.eps[1] must be finite and > 0, got 0",
        ),
        (
            "eps: [0.01, 1.0]",
            "eps: [.nan]",
            "sweep.eps[0] must be finite and > 0, got NaN",
        ),
        (
            "epochs: 1\n  limit: 24",
            "epochs: 0\n  limit: 24",
            "sweep.epochs must be >= 1",
        ),
        (
            "dataset: t",
            "dataset: a",
            "tabular.dataset: `a` holds Text data",
        ),
        (
            "hidden: 8",
            "hidden: 0",
            "tabular.hidden must be >= 1, got 0",
        ),
        (
            "prototypes: 3",
            "prototypes: 0",
            "tabular.prototypes must be >= 1",
        ),
        (
            "summary: slots",
            "summary: max",
            "tabular.summary: `max` is not a DDCL summary",
        ),
        ("epochs: 3", "epochs: 0", "tabular.epochs must be >= 1"),
        (
            "batch_size: 16",
            "batch_size: 0",
            "tabular.batch_size must be >= 1, got 0",
        ),
        (
            "lr: 1.0e-2\n  lr_prototypes",
            "lr: 0\n  lr_prototypes",
            "tabular.lr must be finite",
        ),
        (
            "lr_prototypes: 1.0e-1",
            "lr_prototypes: -1",
            "tabular.lr_prototypes must be finite",
        ),
        (
            "datasets: [a, im]",
            "datasets: []",
            "speed.datasets is empty",
        ),
        (
            "datasets: [a, im]",
            "datasets: [a, t]",
            "speed.datasets: `t` holds Tabular data",
        ),
        (
            "datasets: [a, im]",
            "datasets: [a, zz]",
            "speed.datasets: `zz` is not one of",
        ),
        (
            "datasets: [a, im]",
            "datasets: [a, a]",
            "speed.datasets: `a` is given twice",
        ),
        (
            "batch_size: 8\n  repeats",
            "batch_size: 0\n  repeats",
            "speed.batch_size must be >= 1, got 0",
        ),
        (
            "repeats: 1",
            "repeats: 0",
            "speed.repeats must be >= 1, got 0",
        ),
    ];
    for (from, to, expected) in cases {
        let err = match BenchConfig::from_yaml(&with(from, to)) {
            Ok(_) => panic!("`{to}` was accepted"),
            Err(e) => e.to_string(),
        };
        assert!(err.contains(expected), "`{to}`: {err}");
    }
}

/// `GOOD` with the text from `start` up to `end` replaced by `to`.
fn cut(start: &str, end: &str, to: &str) -> String {
    let (a, b) = (GOOD.find(start).unwrap(), GOOD.find(end).unwrap());
    format!("{}{to}{}", &GOOD[..a], &GOOD[b..])
}

#[test]
fn empty_datasets_and_a_sweep_without_joint_are_errors() {
    let err = BenchConfig::from_yaml(&cut("datasets:", "methods:", "datasets: []\n"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("datasets is empty"), "{err}");
    let err = BenchConfig::from_yaml(&cut("joint:", "sweep:", ""))
        .unwrap_err()
        .to_string();
    assert!(err.contains("sweep: needs the joint section"), "{err}");
}

#[test]
fn a_config_built_in_code_is_checked_before_any_work() {
    let mut cfg = BenchConfig::from_yaml(GOOD).unwrap();
    cfg.fit.batch = 0;
    // the dataset files do not exist: the range check comes first, before any file is read
    let err = ddcl_bench::run(cfg).expect_err("fit.batch 0 is refused");
    assert!(err.to_string().contains("fit.batch must be >= 1"), "{err}");
}

#[test]
fn missing_data_and_models_fail_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BenchConfig::from_yaml(&with(
        "cache: cache",
        &format!("cache: {}", dir.path().display()),
    ))
    .unwrap();
    let err = ddcl_bench::run(cfg.clone()).err().unwrap().to_string();
    assert!(err.contains("x.csv: no such file"), "{err}");

    let p = dir.path();
    std::fs::write(p.join("x.csv"), "text,label\na,0\nb,1\n").unwrap();
    std::fs::create_dir_all(p.join("imgs")).unwrap();
    std::fs::write(p.join("t.csv"), "a,label\n1,0\n2,1\n").unwrap();
    let mut cfg = cfg;
    for d in &mut cfg.datasets {
        d.path = d.path.as_ref().map(|x| p.join(x));
    }
    cfg.text_model = p.join("no-model").display().to_string();
    let err = ddcl_bench::run(cfg).err().unwrap().to_string();
    assert!(err.contains("no-model"), "{err}");
}
