//! The probe and k-means against scikit-learn on committed feature fixtures
//! (tests/fixtures/*.csv; the expected numbers in tests/fixtures/probe_sklearn.json come from
//! scripts/fixtures/probe_sklearn.py), cross-validation, and the probe's settings.

use candle_core::{Device, Tensor};
use ddcl_bench::{accuracy, kmeans, probe, BenchConfig, Logistic, ProbeConfig};
use serde_json::Value;

/// A fixture's rows, split by its `split` column.
struct Fixture {
    classes: usize,
    all: Tensor,
    x_train: Tensor,
    y_train: Vec<usize>,
    x_test: Tensor,
    y_test: Vec<usize>,
    expected: Value,
}

fn fixtures_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn load(name: &str) -> Fixture {
    let json = std::fs::read_to_string(fixtures_dir().join("probe_sklearn.json")).unwrap();
    let expected = serde_json::from_str::<Value>(&json).unwrap()["fixtures"][name].clone();
    let csv = std::fs::read_to_string(fixtures_dir().join(format!("{name}.csv"))).unwrap();
    let (mut train, mut test, mut all) = ((vec![], vec![]), (vec![], vec![]), vec![]);
    let mut width = 0;
    for line in csv.lines().skip(1) {
        let mut cells = line.split(',');
        let split = cells.next().unwrap();
        let label: usize = cells.next().unwrap().parse().unwrap();
        let row: Vec<f64> = cells.map(|c| c.parse().unwrap()).collect();
        width = row.len();
        all.extend_from_slice(&row);
        let (x, y) = if split == "train" {
            &mut train
        } else {
            &mut test
        };
        x.extend(row);
        y.push(label);
    }
    let t = |x: Vec<f64>| {
        let n = x.len() / width;
        Tensor::from_vec(x, (n, width), &Device::Cpu).unwrap()
    };
    Fixture {
        classes: expected["classes"].as_u64().unwrap() as usize,
        all: t(all),
        x_train: t(train.0),
        y_train: train.1,
        x_test: t(test.0),
        y_test: test.1,
        expected,
    }
}

fn floats(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(floats).collect(),
        v => vec![v.as_f64().unwrap()],
    }
}

fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max)
}

const FIXTURES: [&str; 2] = ["probe_3class", "probe_2class"];

/// `c` fixed, no standardisation: scikit-learn's `LogisticRegression(C=c)`. At the default
/// tolerance both stop near the optimum (scikit-learn's own default and tight fits differ by up
/// to 2.8e-3 in probability here): test accuracy within 0.5 points (measured: equal) and
/// probabilities within 2e-3 (measured: at most 7.9e-4). Solved tightly, both reach the one
/// optimum of the same strictly convex objective: probabilities and coefficients agree to 2e-6
/// (measured: at most 5.6e-7; the multinomial intercepts are unique only up to a shift, so only
/// the binomial one is compared).
#[test]
fn the_probe_reproduces_scikit_learns_logistic_regression() {
    for name in FIXTURES {
        let f = load(name);
        for fit in f.expected["logistic"].as_array().unwrap() {
            let c = fit["c"].as_f64().unwrap();
            let ours = probe(
                &f.x_train,
                &f.y_train,
                &f.x_test,
                f.classes,
                &ProbeConfig::fixed(c),
            )
            .unwrap();
            assert!(ours.record.converged, "{name} C={c}");
            let (acc, theirs) = (
                accuracy(&ours.pred, &f.y_test),
                fit["default"]["accuracy"].as_f64().unwrap(),
            );
            assert!(
                (acc - theirs).abs() <= 0.005,
                "{name} C={c}: {acc} vs {theirs}"
            );
            let d = max_abs_diff(&ours.proba, &floats(&fit["default"]["proba"]));
            assert!(d < 2e-3, "{name} C={c}: probabilities differ by {d}");

            let tight = ProbeConfig {
                tol: 1e-10,
                max_iter: 10_000,
                ..ProbeConfig::fixed(c)
            };
            let m = Logistic::fit(&f.x_train, &f.y_train, f.classes, c, &tight).unwrap();
            assert!(m.converged, "{name} C={c} tight");
            let d = max_abs_diff(
                &m.proba(&f.x_test).unwrap(),
                &floats(&fit["tight"]["proba"]),
            );
            assert!(d < 2e-6, "{name} C={c}: tight probabilities differ by {d}");
            // scikit-learn's coef_ is (K', F); ours (F, K')
            let coef = floats(&fit["tight"]["coef"]);
            let cols = m.intercept.len();
            let ours_t: Vec<f64> = (0..cols)
                .flat_map(|j| m.weights.iter().skip(j).step_by(cols).copied())
                .collect();
            let d = max_abs_diff(&ours_t, &coef);
            assert!(d < 2e-6, "{name} C={c}: coefficients differ by {d}");
            if f.classes == 2 {
                let b = fit["tight"]["intercept"][0].as_f64().unwrap();
                assert!((m.intercept[0] - b).abs() < 2e-6, "{name} C={c}: intercept");
            }
        }
    }
}

/// Protocol 2's k-means (k-means++, 10 restarts) against `KMeans(n_clusters=K, n_init=10,
/// random_state=0)`: inertia within 1% (measured: within 0.01%).
#[test]
fn kmeans_reaches_scikit_learns_inertia() {
    for name in FIXTURES {
        let f = load(name);
        let theirs = f.expected["kmeans"]["inertia"].as_f64().unwrap();
        let ours = kmeans(&f.all, f.classes, 10, 0).unwrap();
        assert_eq!(ours.labels.len(), f.all.dim(0).unwrap());
        let rel = (ours.inertia - theirs) / theirs;
        assert!(
            rel.abs() < 0.01,
            "{name}: {} vs {theirs} ({rel:+.4})",
            ours.inertia
        );
    }
}

/// By default `C` is chosen by stratified 5-fold cross-validation on the training rows: the
/// record holds every grid value's fold scores, the choice is the best mean, the final fit
/// converges, and the whole is deterministic.
#[test]
fn cross_validation_records_the_grid_and_picks_the_best_mean() {
    let f = load("probe_3class");
    let cfg = ProbeConfig::default();
    let run = || probe(&f.x_train, &f.y_train, &f.x_test, f.classes, &cfg).unwrap();
    let fit = run();
    let cv = fit.record.cv.as_ref().unwrap();
    assert_eq!(cv.grid, cfg.grid);
    assert_eq!(cv.accuracy.len(), cfg.grid.len());
    assert!(cv.accuracy.iter().all(|a| a.len() == cfg.folds));
    let best = cv.mean.iter().copied().fold(f64::MIN, f64::max);
    let chosen = cv.grid.iter().position(|&c| c == fit.record.c).unwrap();
    assert_eq!(cv.mean[chosen], best);
    assert!(fit.record.standardised && fit.record.converged && cv.unconverged == 0);
    // a sensible probe on this fixture: scikit-learn's C=1 scores 0.8375
    assert!(accuracy(&fit.pred, &f.y_test) > 0.8, "{:?}", fit.record);
    assert_eq!(run(), fit);
}

#[test]
fn bad_inputs_are_errors_before_any_fit() {
    let f = load("probe_2class");
    let cfg = ProbeConfig::fixed(1.0);
    let err = |r: ddcl_bench::Result<ddcl_bench::ProbeFit>| r.unwrap_err().to_string();
    let short = &f.y_train[1..];
    assert!(err(probe(&f.x_train, short, &f.x_test, 2, &cfg)).contains("labels"));
    assert!(err(probe(&f.x_train, &f.y_train, &f.x_test, 1, &cfg)).contains("class 1 out of range"));
    let narrow = f.x_test.narrow(1, 0, 3).unwrap();
    assert!(err(probe(&f.x_train, &f.y_train, &narrow, 2, &cfg)).contains("test"));
    let nan = (f.x_train.clone() * f64::NAN).unwrap();
    assert!(err(probe(&nan, &f.y_train, &f.x_test, 2, &cfg)).contains("non-finite"));
    let few = f.x_train.narrow(0, 0, 3).unwrap();
    let cv = ProbeConfig::default();
    assert!(err(probe(&few, &f.y_train[..3], &f.x_test, 2, &cv)).contains("probe.folds"));
}

/// Every probe setting is range-checked when the YAML is read, naming the key.
#[test]
fn probe_settings_are_checked_when_read() {
    let yaml = |probe: &str| {
        format!(
            "seeds: [0]\ntrain_share: 0.7\ntext_model: m\nimage_model: m\nbatch_size: 4\n\
             cache: c\ndatasets:\n  - {{ name: a, source: text_file, path: x.csv, limit: 0 }}\n\
             methods: [mean]\nfit: {{ steps: 1, lr: 0.1, batch: 2 }}\nprobe: {probe}\n\
             kmeans_restarts: 1\n"
        )
    };
    let cfg = BenchConfig::from_yaml(&yaml("{ c: 0.5, standardise: false }")).unwrap();
    assert_eq!(cfg.probe, ProbeConfig::fixed(0.5));
    assert_eq!(
        BenchConfig::from_yaml(&yaml("{}")).unwrap().probe,
        ProbeConfig::default()
    );
    for (probe, key) in [
        ("{ c: 0 }", "probe.c"),
        ("{ c: .nan }", "probe.c"),
        ("{ c: -1.0 }", "probe.c"),
        ("{ grid: [] }", "probe.grid"),
        ("{ grid: [1.0, -1.0] }", "probe.grid[1]"),
        ("{ grid: [1.0, .inf] }", "probe.grid[1]"),
        ("{ grid: [1.0, 1.0] }", "probe.grid[1]"),
        ("{ folds: 1 }", "probe.folds"),
        ("{ tol: 0 }", "probe.tol"),
        ("{ max_iter: 0 }", "probe.max_iter"),
        ("{ steps: 300 }", "steps"),
    ] {
        let err = BenchConfig::from_yaml(&yaml(probe))
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{probe}: {err}");
    }
}
