//! `ddcl-bench claims` end to end on tiny data and models (no network), its config's typed
//! errors, the shipped config, and the geometry it measures on known inputs.

use std::path::Path;
use std::process::Command;

use candle_core::{Device, Tensor};
use ddcl_bench::{relative_separation, ClaimsConfig, Error, TokenGeometry};
use ddcl_readout::IdentityTally;
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Two sentiments in the tiny tokenizer's vocabulary, and three blobs in four features.
fn write_data(dir: &Path) {
    let good = ["good", "great", "fun", "loved", "funny"];
    let bad = ["bad", "awful", "boring", "hated", "slow"];
    let mut rng = StdRng::seed_from_u64(3);
    let mut csv = String::from("review,sentiment\n");
    for i in 0..24 {
        let words = if i % 2 == 0 { &good } else { &bad };
        let s: Vec<&str> = (0..4).map(|_| words[rng.random_range(0..5)]).collect();
        csv += &format!(
            "\"{}\",{}\n",
            s.join(" the "),
            if i % 2 == 0 { "pos" } else { "neg" }
        );
    }
    std::fs::write(dir.join("reviews.csv"), csv).unwrap();
    let mut table = String::from("a,b,c,d,class\n");
    for i in 0..120 {
        let c = i % 3;
        let x: Vec<String> = (0..4)
            .map(|j| {
                format!(
                    "{:.4}",
                    if j == c { 3.0 } else { 0.0 } + rng.random_range(-1.0..1.0)
                )
            })
            .collect();
        table += &format!("{},c{c}\n", x.join(","));
    }
    std::fs::write(dir.join("table.csv"), table).unwrap();
}

fn tiny(dir: &Path) -> String {
    let d = dir.display();
    format!(
        r#"seeds: [0, 1]
text_model: {d}/text-model
datasets:
  - {{ name: reviews, source: text_file, path: {d}/reviews.csv, text_column: review, label_column: sentiment, limit: 0, max_len: 16 }}
  - {{ name: blobs, source: tabular_file, path: {d}/table.csv, label_column: class, limit: 0 }}
cluster:
  datasets: [reviews, blobs]
  steps: 4
  batch_size: 8
  top_layers: 1
  lr_encoder: 1.0e-4
  lr_prototypes: 1.0e-2
  tabular_lr_encoder: 1.0e-3
  tabular_lr_prototypes: 1.0e-2
  tabular_hidden: 8
  lambda: 1.0
  kmeans_restarts: 2
timescale:
  dataset: blobs
  hidden: 8
  prototypes: 3
  steps: 6
  batch_size: 16
  record_every: 3
  eval_rows: 32
  eps: [0.01, 1.0]
  eta_p: 1.0e-2
  eta_e: 1.0e-3
  lambda_unsupervised: 1.0
  lambda_supervised: 1.0
  tau_over_critical: 0.5
  collapse_noise: 1.0e-3
full: {{ seeds: 3, cluster_steps: 8, timescale_steps: 12 }}
"#
    )
}

#[test]
fn a_tiny_claims_run_writes_every_section() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    std::fs::create_dir_all(p.join("text-model")).unwrap();
    ddcl_readout::tiny::text_model(&p.join("text-model"), 1).unwrap();
    write_data(p);
    std::fs::write(p.join("claims.yaml"), tiny(p)).unwrap();
    let out = p.join("out");
    let status = Command::new(env!("CARGO_BIN_EXE_ddcl-bench"))
        .args(["claims", "--config"])
        .arg(p.join("claims.yaml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    let c = &json["claims"];
    // 2 datasets x 2 seeds x 3 methods; 2 seeds x 2 settings x 2 starts x 2 axes x 2 eps
    assert_eq!(c["clustering"].as_array().unwrap().len(), 12);
    assert_eq!(c["clustering_summary"].as_array().unwrap().len(), 6);
    let runs = c["timescale"].as_array().unwrap();
    assert_eq!(runs.len(), 32);
    // measured at step 0, 3 and 6
    assert_eq!(runs[0]["curve"].as_array().unwrap().len(), 3);
    let eta = |r: &serde_json::Value| {
        (
            r["axis"].clone(),
            r["eta_e"].as_f64().unwrap(),
            r["eta_p"].as_f64().unwrap(),
        )
    };
    let fixed_p = runs
        .iter()
        .find(|r| r["axis"] == "eta_P fixed" && r["eps"] == 1.0)
        .unwrap();
    assert_eq!(eta(fixed_p).1, 1e-2);
    let fixed_e = runs
        .iter()
        .find(|r| r["axis"] == "eta_E fixed" && r["eps"] == 0.01)
        .unwrap();
    assert!((eta(fixed_e).2 - 0.1).abs() < 1e-12);
    // supervised runs carry the gradient ratio, unsupervised ones none
    let sup = runs.iter().find(|r| r["setting"] == "supervised").unwrap();
    assert!(sup["curve"][1]["gradient_ratio"].as_f64().unwrap() > 0.0);
    let uns = runs
        .iter()
        .find(|r| r["setting"] == "unsupervised")
        .unwrap();
    assert!(uns["curve"][1]["gradient_ratio"].is_null());
    // tau was set at half the critical temperature of the initial tokens
    assert!((runs[0]["curve"][0]["tau_over_critical"].as_f64().unwrap() - 0.5).abs() < 1e-6);
    // the identity: one row per training run, every step counted
    let id = json["identity"].as_array().unwrap();
    assert_eq!(id.len(), 4 + 32);
    let steps: u64 = id.iter().map(|r| r["steps"].as_u64().unwrap()).sum();
    assert_eq!(steps, 4 * 4 + 32 * 6);
    assert!(c["claims"].as_array().unwrap().len() >= 6);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for heading in [
        "## Claims",
        "### Deep clustering",
        "### Two timescales",
        "## The identity",
    ] {
        assert!(report.contains(heading), "{heading}");
    }
    for f in [
        "timescale-unsupervised-k-meanspp.svg",
        "timescale-supervised-collapsed.svg",
    ] {
        assert!(
            std::fs::read_to_string(out.join(f))
                .unwrap()
                .starts_with("<svg"),
            "{f}"
        );
    }
}

#[test]
fn full_adds_seeds_and_steps() {
    let cfg = ClaimsConfig::from_yaml(&tiny(Path::new("d")))
        .unwrap()
        .full();
    assert_eq!(cfg.seeds, [0, 1, 2]);
    assert_eq!((cfg.cluster.steps, cfg.timescale.steps), (8, 12));
}

fn error(from: &str, to: &str) -> Error {
    let text = tiny(Path::new("d"));
    assert!(text.contains(from), "`{from}` is not in the config");
    ClaimsConfig::from_yaml(&text.replacen(from, to, 1)).unwrap_err()
}

fn key(e: &Error) -> String {
    match e {
        Error::Readout(ddcl_readout::Error::OutOfRange { key, .. })
        | Error::Readout(ddcl_readout::Error::Config { key, .. }) => key.clone(),
        other => panic!("not a keyed error: {other}"),
    }
}

#[test]
fn bad_settings_are_typed_errors_naming_the_key() {
    for (from, to, k) in [
        ("  steps: 4", "  steps: 0", "cluster.steps"),
        ("eps: [0.01, 1.0]", "eps: [0.01, -1.0]", "timescale.eps[1]"),
        (
            "lr_prototypes: 1.0e-2\n  tabular",
            "lr_prototypes: 1.0e-4\n  tabular",
            "cluster.lr_encoder",
        ),
        ("dataset: blobs", "dataset: reviews", "timescale.dataset"),
        (
            "datasets: [reviews, blobs]",
            "datasets: [reviews, nope]",
            "cluster.datasets[1]",
        ),
        (
            "tau_over_critical: 0.5",
            "tau_over_critical: 0.0",
            "timescale.tau_over_critical",
        ),
        ("seeds: 3", "seeds: 1", "full.seeds"),
    ] {
        assert_eq!(key(&error(from, to)), k, "{to}");
    }
    let e = error("record_every: 3", "record_evry: 3");
    assert!(e.to_string().contains("record_evry"), "{e}");
}

#[test]
fn the_shipped_config_reads() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/claims.yaml");
    let cfg = ClaimsConfig::from_yaml_file(&path).unwrap();
    assert_eq!(cfg.seeds, [0, 1, 2]);
    assert!(cfg.timescale.steps >= 1000);
    assert_eq!(cfg.timescale.eps.first(), Some(&1e-3));
    assert_eq!(cfg.timescale.eps.last(), Some(&10.0));
    assert_eq!(cfg.cluster.datasets, ["rotten_tomatoes", "bbc", "shuttle"]);
}

#[test]
fn the_identity_tally_counts_steps_above_each_tolerance() {
    let mut t = IdentityTally::default();
    for r in [0.0, 1e-13, 5e-12, 2e-6, 3e-5, 1e-3] {
        t.add(r);
    }
    assert_eq!((t.steps, t.above_f32, t.above_f64), (6, 2, 4));
    assert_eq!(t.max_residual, 1e-3);
    let m = t.merge(&t);
    assert_eq!(
        (m.steps, m.above_f32, m.above_f64, m.max_residual),
        (12, 4, 8, 1e-3)
    );
}

#[test]
fn effective_rank_and_scale_on_known_clouds() {
    // d orthogonal directions with equal spread: rank d; a line: rank 1
    let square = Tensor::new(
        &[[2f32, 0., 0.], [-2., 0., 0.], [0., 2., 0.], [0., -2., 0.]],
        &Device::Cpu,
    )
    .unwrap();
    let g = TokenGeometry::of(&square).unwrap();
    assert!((g.effective_rank - 2.0).abs() < 1e-9, "{g:?}");
    assert!((g.rms - 2.0).abs() < 1e-9 && (g.lambda_max - 2.0).abs() < 1e-9);
    let line = Tensor::new(&[[1f32, 1.], [2., 2.], [3., 3.], [5., 5.]], &Device::Cpu).unwrap();
    let g = TokenGeometry::of(&line).unwrap();
    assert!((g.effective_rank - 1.0).abs() < 1e-6, "{g:?}");
    // singular values 3 and 1 (spread 3 along x, 1 along y): p = (3/4, 1/4)
    let rect = Tensor::new(&[[3f32, 0.], [-3., 0.], [0., 1.], [0., -1.]], &Device::Cpu).unwrap();
    let g = TokenGeometry::of(&rect).unwrap();
    let h: f64 = -(0.75f64 * 0.75f64.ln() + 0.25 * 0.25f64.ln());
    assert!((g.effective_rank - h.exp()).abs() < 1e-9, "{g:?}");
    // separation: distances 3, 4, 5 over a scale of 2
    let p = Tensor::new(&[[0f32, 0.], [3., 0.], [0., 4.]], &Device::Cpu).unwrap();
    let (min, mean) = relative_separation(&p, 2.0).unwrap();
    assert!((min - 1.5).abs() < 1e-9 && (mean - 2.0).abs() < 1e-9);
}

/// L_SQ around a collapsed bank p_k = mu +- a v along the top eigenvector v: below tau_c the
/// split lowers L_SQ, above it the split raises it (the constant 4 of tau_c = 4 lambda_max).
#[test]
fn the_collapsed_bank_is_a_minimum_exactly_above_the_critical_temperature() {
    let mut rng = StdRng::seed_from_u64(9);
    let rows: Vec<f32> = (0..400)
        .flat_map(|_| {
            [
                2.0 * rng.random_range(-1.0f32..1.0),
                0.5 * rng.random_range(-1.0f32..1.0),
            ]
        })
        .collect();
    let x = Tensor::from_vec(rows, (400, 2), &Device::Cpu).unwrap();
    let g = TokenGeometry::of(&x).unwrap();
    let mu = x.mean_keepdim(0).unwrap();
    let l_sq = |tau: f64, a: f32| -> f64 {
        let d = Tensor::new(&[[a, 0.], [-a, 0.]], &Device::Cpu).unwrap();
        let p = d.broadcast_add(&mu).unwrap();
        let h = x.unsqueeze(0).unwrap();
        let out =
            ddcl_core::assign(&h, None, &p, &ddcl_core::AssignConfig::new(tau).unwrap()).unwrap();
        out.losses
            .sq
            .to_dtype(candle_core::DType::F64)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    };
    let tc = g.critical_tau();
    for (ratio, lower) in [(0.8, true), (1.25, false)] {
        let tau = ratio * tc;
        let (split, collapsed) = (l_sq(tau, 0.05), l_sq(tau, 0.0));
        assert_eq!(
            split < collapsed,
            lower,
            "tau = {ratio} tau_c: {split} vs {collapsed}"
        );
    }
}

/// Unsupervised steps train encoder and prototypes on lambda * L_SQ, never the head, and
/// every step is counted by the identity tally; the gradient norms are positive.
#[test]
fn unsupervised_steps_leave_the_head_and_count_every_step() {
    use candle_core::DType;
    use candle_nn::VarMap;
    use ddcl_readout::{ReadoutConfig, RunConfig, Trainer};
    let varmap = VarMap::new();
    let vb = ddcl_readout::seeded_builder(&varmap, 1, DType::F32, &Device::Cpu);
    let enc = ddcl_bench::TabularEncoder::new(4, 8, vb.pp("encoder")).unwrap();
    let mut cfg = RunConfig::from_yaml(
        "model: {kind: text, id: none}\nreadout: {prototypes: 3, tau: 1.0, init: kmeans++, pooling: [mixture]}\n\
         classes: 3\ntrain: {epochs: 1, batch_size: 8, lr_encoder: 1.0e-3, lr_prototypes: 1.0e-2, lr_head: 1.0e-2, lambda: 1.0, encoder: all}\n",
    )
    .unwrap();
    cfg.readout = ReadoutConfig::new(3, 1.0).unwrap();
    let x = Tensor::randn(0f32, 1., (8, 4), &Device::Cpu).unwrap();
    let y = Tensor::new(&[0u32, 1, 2, 0, 1, 2, 0, 1], &Device::Cpu).unwrap();
    let mut t = Trainer::new(enc, cfg, varmap, DType::F32).unwrap();
    t.init_prototypes(&x).unwrap();
    let head = t.model().head.weight().to_vec2::<f32>().unwrap();
    let p0 = t.model().readout.prototypes().to_vec2::<f32>().unwrap();
    for _ in 0..3 {
        assert_eq!(t.step_unsupervised(&x).unwrap().task, 0.0);
    }
    assert_eq!(t.model().head.weight().to_vec2::<f32>().unwrap(), head);
    assert_ne!(t.model().readout.prototypes().to_vec2::<f32>().unwrap(), p0);
    t.step(&x, &y).unwrap();
    assert_ne!(t.model().head.weight().to_vec2::<f32>().unwrap(), head);
    let tally = t.identity();
    assert_eq!((tally.steps, tally.above_f32), (4, 0));
    let (task, sq) = t.encoder_gradient_norms(&x, &y).unwrap();
    assert!(task > 0.0 && sq > 0.0, "{task} {sq}");
}
