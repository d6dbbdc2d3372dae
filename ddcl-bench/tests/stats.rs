//! The statistics against known cases, hand-computed binomials and SciPy / NumPy reference
//! numbers (tests/fixtures/stats_scipy.json, written by scripts/fixtures/stats_scipy.py).

use ddcl_bench::{mcnemar_exact, paired, vs_baseline, Error, Interval, Split, RESAMPLES};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/stats_scipy.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn n(v: &Value) -> u64 {
    v.as_u64().unwrap()
}

/// Predictions and labels of a split with `only_m` examples only the method gets right,
/// `only_b` only the baseline, `both` and `neither`: (method, baseline, truth).
fn split_of(only_m: usize, only_b: usize, both: usize, neither: usize) -> [Vec<usize>; 3] {
    let total = only_m + only_b + both + neither;
    let truth = vec![1; total];
    let right = |k: usize| vec![1; k];
    let wrong = |k: usize| vec![0; k];
    let method = [right(only_m), wrong(only_b), right(both), wrong(neither)].concat();
    let baseline = [wrong(only_m), right(only_b), right(both), wrong(neither)].concat();
    [method, baseline, truth]
}

#[test]
fn wilson_on_known_cases() {
    // all correct: the interval reaches 1, no spread
    let all = Interval::wilson(10, 10).unwrap();
    assert_eq!((all.value, all.se, all.high), (1.0, 0.0, 1.0));
    assert!(all.low > 0.7 && all.low < 0.75, "{all:?}");
    // none correct: the mirror image
    let none = Interval::wilson(0, 10).unwrap();
    assert_eq!((none.value, none.se, none.low), (0.0, 0.0, 0.0));
    assert!((none.high - (1.0 - all.low)).abs() < 1e-12);
    // half correct: symmetric about 1/2, SE sqrt(1/4 / 10)
    let half = Interval::wilson(5, 10).unwrap();
    assert_eq!(half.value, 0.5);
    assert!((half.se - (0.025f64).sqrt()).abs() < 1e-15);
    assert!((half.low + half.high - 1.0).abs() < 1e-12);
    // large n: close to p ± 1.96 SE
    let big = Interval::wilson(80_000, 100_000).unwrap();
    assert!(
        (big.half_width() - 1.959964 * big.se).abs() < 1e-5,
        "{big:?}"
    );
}

#[test]
fn wilson_matches_scipy() {
    for case in fixture()["wilson"].as_array().unwrap() {
        let i = Interval::wilson(n(&case["correct"]) as usize, n(&case["n"]) as usize).unwrap();
        let (lo, hi) = (
            case["low"].as_f64().unwrap(),
            case["high"].as_f64().unwrap(),
        );
        assert!(
            (i.low - lo).abs() < 1e-9 && (i.high - hi).abs() < 1e-9,
            "{case}: {i:?}"
        );
    }
}

#[test]
fn pooled_interval_counts_every_split() {
    let (a, b) = (split_of(3, 0, 5, 2), split_of(0, 1, 6, 3));
    let splits = [
        Split::new(&a[0], &a[2]).unwrap(),
        Split::new(&b[0], &b[2]).unwrap(),
    ];
    let i = Interval::pooled(&splits).unwrap();
    assert_eq!((i.correct, i.n), (3 + 5 + 6, 20));
    assert_eq!(i, Interval::wilson(14, 20).unwrap());
}

/// 2 P(X <= k) for X ~ Binomial(m, 1/2), summed in integers.
fn two_sided_by_hand(b: u64, c: u64) -> f64 {
    let (m, k) = (b + c, b.min(c));
    let mut choose = 1u128; // C(m, i)
    let mut tail = 0u128;
    for i in 0..=k {
        tail += choose;
        choose = choose * u128::from(m - i) / u128::from(i + 1);
    }
    (2.0 * tail as f64 / 2f64.powi(m as i32)).min(1.0)
}

#[test]
fn mcnemar_matches_a_hand_computed_binomial() {
    assert_eq!(two_sided_by_hand(10, 2), 158.0 / 4096.0);
    for (b, c) in [(10, 2), (0, 7), (31, 12), (60, 40), (3, 9), (4, 4), (1, 0)] {
        let p = mcnemar_exact(b, c);
        assert!((p - two_sided_by_hand(b, c)).abs() < 1e-12, "{b} {c}: {p}");
        assert_eq!(p, mcnemar_exact(c, b), "symmetric");
    }
    assert_eq!(mcnemar_exact(0, 0), 1.0);
}

#[test]
fn mcnemar_matches_scipy() {
    for case in fixture()["mcnemar"].as_array().unwrap() {
        let p = mcnemar_exact(n(&case["b"]), n(&case["c"]));
        let want = case["p"].as_f64().unwrap();
        assert!((p - want).abs() <= 1e-9 * want.max(1e-300), "{case}: {p}");
    }
}

#[test]
fn identical_predictions_differ_by_nothing() {
    let truth = [0, 1, 2, 1, 0, 2, 2];
    let pred = [0, 1, 1, 1, 2, 2, 0];
    let s = [Split::new(&pred, &truth).unwrap()];
    let p = paired(&s, &s, "mean", 7).unwrap();
    assert_eq!((p.diff, p.low, p.high, p.p_value), (0.0, 0.0, 0.0, 1.0));
    assert_eq!((p.only_method, p.only_baseline, p.n), (0, 0, 7));
    assert!(!p.significant);
}

#[test]
fn paired_counts_and_test_on_a_constructed_case() {
    // two splits: 7 + 3 examples only the method gets right, 1 + 1 only the baseline
    let (a, b) = (split_of(7, 1, 40, 12), split_of(3, 1, 30, 6));
    let m = [
        Split::new(&a[0], &a[2]).unwrap(),
        Split::new(&b[0], &b[2]).unwrap(),
    ];
    let base = [
        Split::new(&a[1], &a[2]).unwrap(),
        Split::new(&b[1], &b[2]).unwrap(),
    ];
    let p = paired(&m, &base, "mean", 0).unwrap();
    assert_eq!((p.only_method, p.only_baseline, p.n), (10, 2, 100));
    assert!((p.diff - 0.08).abs() < 1e-15);
    // b = 10, c = 2: 2 (1 + 12 + 66) / 2^12
    assert!((p.p_value - 158.0 / 4096.0).abs() < 1e-12);
    assert!(p.significant && p.low < p.diff && p.diff < p.high);
    assert_eq!((p.baseline.as_str(), p.resamples), ("mean", RESAMPLES));
    // the other way round: the same test, the difference negated
    let q = paired(&base, &m, "mean", 0).unwrap();
    assert_eq!(
        (q.only_method, q.only_baseline, q.p_value),
        (2, 10, p.p_value)
    );
    assert!((q.diff + p.diff).abs() < 1e-15);
}

#[test]
fn paired_bootstrap_matches_resampling_the_examples() {
    // NumPy resampled the examples themselves, stratified by split, 200,000 times; the
    // count draws must give the same percentiles up to Monte-Carlo error (~3e-4 here)
    let f = fixture();
    let boot = &f["bootstrap"];
    let sets: Vec<[Vec<usize>; 3]> = boot["splits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let c: Vec<usize> = s
                .as_array()
                .unwrap()
                .iter()
                .map(|x| n(x) as usize)
                .collect();
            split_of(c[0], c[1], c[2], c[3])
        })
        .collect();
    let m: Vec<Split> = sets
        .iter()
        .map(|s| Split::new(&s[0], &s[2]).unwrap())
        .collect();
    let b: Vec<Split> = sets
        .iter()
        .map(|s| Split::new(&s[1], &s[2]).unwrap())
        .collect();
    let p = paired(&m, &b, "mean", 3).unwrap();
    let want = |k: &str| boot[k].as_f64().unwrap();
    assert!((p.diff - want("diff")).abs() < 1e-15);
    assert!(
        (p.low - want("low")).abs() < 1.5e-3,
        "{} vs {}",
        p.low,
        want("low")
    );
    assert!(
        (p.high - want("high")).abs() < 1.5e-3,
        "{} vs {}",
        p.high,
        want("high")
    );
}

#[test]
fn paired_bootstrap_approaches_the_normal_interval() {
    // d = (b - c) / n, var = ((b + c) / n - d^2) / n
    let s = split_of(300, 200, 1200, 300);
    let p = paired(
        &[Split::new(&s[0], &s[2]).unwrap()],
        &[Split::new(&s[1], &s[2]).unwrap()],
        "mean",
        11,
    )
    .unwrap();
    let d = 0.05;
    let se = ((500.0 / 2000.0 - d * d) / 2000.0f64).sqrt();
    assert!((p.low - (d - 1.96 * se)).abs() < 1e-3, "{p:?}");
    assert!((p.high - (d + 1.96 * se)).abs() < 1e-3, "{p:?}");
    // seeded: the same seed draws the same interval; another seed one as close to the
    // normal interval (the differences lie on a grid of 1/2000, so often the same one)
    let again = paired(
        &[Split::new(&s[0], &s[2]).unwrap()],
        &[Split::new(&s[1], &s[2]).unwrap()],
        "mean",
        11,
    )
    .unwrap();
    assert_eq!(p, again);
    let other = paired(
        &[Split::new(&s[0], &s[2]).unwrap()],
        &[Split::new(&s[1], &s[2]).unwrap()],
        "mean",
        12,
    )
    .unwrap();
    assert!((p.low - other.low).abs() < 1e-3 && (p.high - other.high).abs() < 1e-3);
}

#[test]
fn mismatches_are_typed_errors() {
    let count = |e: Error| match e {
        Error::Count { expected, got, .. } => (expected, got),
        other => panic!("{other}"),
    };
    assert_eq!(count(Split::new(&[0, 1], &[0]).unwrap_err()), (1, 2));
    assert_eq!(count(Interval::wilson(0, 0).unwrap_err()), (1, 0));
    assert_eq!(count(Interval::wilson(3, 2).unwrap_err()), (2, 3));
    let (t1, t2) = ([0, 1, 1], [0, 0, 1]);
    let a = [Split::new(&[0, 1, 1], &t1).unwrap()];
    let other_labels = [Split::new(&[0, 1, 1], &t2).unwrap()];
    assert_eq!(
        count(paired(&a, &other_labels, "mean", 0).unwrap_err()),
        (0, 1)
    );
    let shorter = [Split::new(&[0, 1], &[0, 1]).unwrap()];
    assert_eq!(count(paired(&a, &shorter, "mean", 0).unwrap_err()), (3, 2));
    assert_eq!(count(paired(&a, &[], "mean", 0).unwrap_err()), (1, 0));
}

#[test]
fn every_method_is_compared_with_mean_pooling_when_there_is_one() {
    let truth = [0, 1, 1, 0, 1];
    let (cls, mean, ddcl) = ([0, 0, 1, 0, 1], [0, 1, 1, 0, 0], [0, 1, 1, 0, 1]);
    let one = |p| vec![Split::new(p, &truth).unwrap()];
    let c = vs_baseline(
        &["cls", "mean", "ddcl:4:slots"],
        &[one(&cls), one(&mean), one(&ddcl)],
        0,
    )
    .unwrap();
    assert!(c[1].is_none());
    let (a, d) = (c[0].as_ref().unwrap(), c[2].as_ref().unwrap());
    assert_eq!((a.only_method, a.only_baseline, a.diff), (1, 1, 0.0));
    assert_eq!((d.only_method, d.only_baseline), (1, 0));
    assert!((d.diff - 0.2).abs() < 1e-15);
    let none = vs_baseline(&["cls", "max"], &[one(&cls), one(&ddcl)], 0).unwrap();
    assert!(none.iter().all(Option::is_none));
}
