//! The whole bench end to end on tiny synthetic data (text CSV and JSON Lines, an image folder,
//! tabular CSV) with tiny random encoders written in the real file formats.

use std::path::Path;

use ddcl_bench::{BenchConfig, Results};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// Sentences from the tiny tokenizer's vocabulary; the label is which sentiment words occur.
fn write_text(dir: &Path) {
    let good = ["good", "great", "fun", "loved", "funny"];
    let bad = ["bad", "awful", "boring", "hated", "slow"];
    let filler = [
        "the", "film", "movie", "plot", "was", "is", "very", "story", "music", "and",
    ];
    let mut rng = StdRng::seed_from_u64(3);
    let mut csv = String::from("review,sentiment\n");
    let mut jsonl = String::new();
    for i in 0..48 {
        let words = if i % 2 == 0 { &good } else { &bad };
        let n = rng.random_range(2..9);
        let sentence: Vec<&str> = (0..n)
            .map(|j| {
                if j % 2 == 0 {
                    words[rng.random_range(0..5)]
                } else {
                    filler[rng.random_range(0..10)]
                }
            })
            .collect();
        let label = if i % 2 == 0 { "pos" } else { "neg" };
        csv += &format!("\"{}\",{label}\n", sentence.join(" "));
        jsonl += &format!(
            "{{\"text\": \"{}\", \"label\": \"{label}\"}}\n",
            sentence.join(" ")
        );
    }
    std::fs::write(dir.join("reviews.csv"), csv).unwrap();
    std::fs::write(dir.join("reviews.jsonl"), jsonl).unwrap();
}

/// Three classes of 28x28 images: bright, dark, striped.
fn write_images(dir: &Path) {
    for (class, f) in [
        ("bright", (|_, _| 220u8) as fn(u32, u32) -> u8),
        ("dark", |_, _| 30),
        ("stripes", |x, _| if x % 4 < 2 { 255 } else { 0 }),
    ] {
        let d = dir.join("images").join(class);
        std::fs::create_dir_all(&d).unwrap();
        for i in 0..8u32 {
            let im = image::GrayImage::from_fn(28, 28, |x, y| {
                image::Luma([f(x, y).saturating_add((x * 7 + y * 3 + i * 11) as u8 % 20)])
            });
            im.save(d.join(format!("{i}.png"))).unwrap();
        }
    }
}

/// Three Gaussian blobs in four features.
fn write_tabular(dir: &Path) {
    let mut rng = StdRng::seed_from_u64(4);
    let mut csv = String::from("a,b,c,d,class\n");
    for i in 0..90 {
        let c = i % 3;
        let x: Vec<String> = (0..4)
            .map(|j| {
                format!(
                    "{:.4}",
                    if j == c { 3.0 } else { 0.0 } + rng.random_range(-1.0..1.0)
                )
            })
            .collect();
        csv += &format!("{},c{c}\n", x.join(","));
    }
    std::fs::write(dir.join("table.csv"), csv).unwrap();
}

fn config(dir: &Path) -> BenchConfig {
    let d = dir.display();
    BenchConfig::from_yaml(&format!(
        r#"
seeds: [0, 1, 2]
train_share: 0.7
text_model: {d}/text-model
image_model: {d}/image-model
batch_size: 16
cache: {d}/cache
datasets:
  - {{ name: reviews, source: text_file, path: {d}/reviews.csv, text_column: review, label_column: sentiment, limit: 0, max_len: 16 }}
  - {{ name: reviews_jsonl, source: text_file, path: {d}/reviews.jsonl, limit: 40, train_share: 0.25 }}
  - {{ name: shapes, source: image_folder, path: {d}/images, limit: 0 }}
  - {{ name: blobs, source: tabular_file, path: {d}/table.csv, label_column: class, limit: 0 }}
methods: [cls, mean, max, mean_sqrt_len_tokens, weightedmean, lasttoken, "ddcl:4:mixture", "ddcl:3:slots", "pma:2"]
fit: {{ steps: 5, lr: 0.05, batch: 8, tau: auto }}
probe: {{ folds: 2, grid: [0.1, 1.0] }}
kmeans_restarts: 2
joint: {{ dataset: reviews, limit: 40, train: 16, epochs: 2, batch_size: 8, encoder: 1, prototypes: 4,
          summary: mixture, lr_encoder: 1.0e-4, lr_prototypes: 1.0e-2, lr_head: 1.0e-2, lambda: 0.01 }}
sweep: {{ eps: [0.01, 1.0], epochs: 1, limit: 24 }}
tabular: {{ dataset: blobs, hidden: 8, prototypes: 3, summary: slots, lambda: 0.01, epochs: 3,
            batch_size: 16, lr: 1.0e-2, lr_prototypes: 1.0e-1 }}
speed: {{ datasets: [reviews, shapes], batch_size: 8, repeats: 1 }}
"#
    ))
    .unwrap()
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    for m in ["text-model", "image-model"] {
        std::fs::create_dir_all(p.join(m)).unwrap();
    }
    ddcl_readout::tiny::text_model(&p.join("text-model"), 1).unwrap();
    ddcl_readout::tiny::image_model(&p.join("image-model"), 2).unwrap();
    write_text(p);
    write_images(p);
    write_tabular(p);
    dir
}

fn probe_means(r: &Results) -> Vec<(String, String, f64)> {
    r.probe
        .iter()
        .map(|p| (p.dataset.clone(), p.method.clone(), p.mean))
        .collect()
}

#[test]
fn every_protocol_runs_and_writes_json_report_and_plots() {
    let dir = setup();
    let cfg = config(dir.path());
    let r = ddcl_bench::run(cfg.clone()).unwrap();

    // datasets, with their seeded splits recorded
    assert_eq!(r.datasets.len(), 4);
    let reviews = &r.datasets[0];
    assert_eq!((reviews.examples, reviews.classes.len()), (48, 2));
    assert_eq!(reviews.splits.len(), 3);
    for s in &reviews.splits {
        assert_eq!((s.train.len(), s.test.len(), s.labels.len()), (34, 14, 14));
        let mut all: Vec<usize> = s.train.iter().chain(&s.test).copied().collect();
        all.sort();
        assert_eq!(all, (0..48).collect::<Vec<_>>());
    }
    assert_ne!(reviews.splits[0].test, reviews.splits[1].test);
    assert_eq!(r.datasets[1].examples, 40);
    // a dataset's own train share: 10 of its 40 train, 30 test
    assert!(r.datasets[1]
        .splits
        .iter()
        .all(|s| (s.train.len(), s.test.len()) == (10, 30)));
    assert_eq!(r.datasets[2].classes, ["bright", "dark", "stripes"]);
    assert_eq!(r.datasets[2].tokens_per_example, Some(5.0)); // CLS + 4 patches

    // protocol 1: every method on every encoder dataset, one accuracy per seed
    assert_eq!(r.probe.len(), 3 * cfg.methods.len());
    for p in &r.probe {
        assert_eq!(p.accuracy.len(), 3);
        assert!(p.accuracy.iter().all(|a| (0.0..=1.0).contains(a)), "{p:?}");
        // every seed's predictions kept and pooled: equal splits, so the pooled accuracy is
        // the mean over seeds
        let info = r.datasets.iter().find(|d| d.name == p.dataset).unwrap();
        assert_eq!(p.predictions.len(), 3);
        for (pred, split) in p.predictions.iter().zip(&info.splits) {
            assert_eq!(pred.len(), split.labels.len());
        }
        let i = &p.pooled;
        assert_eq!(i.n, 3 * info.test);
        assert!((i.value - p.mean).abs() < 1e-12, "{p:?}");
        assert!(
            i.low <= i.value && i.value <= i.high && i.low < i.high,
            "{i:?}"
        );
        // every method against mean pooling on the same splits
        let mean = r
            .probe
            .iter()
            .find(|m| m.dataset == p.dataset && m.method == "mean")
            .unwrap();
        match &p.vs_mean {
            None => assert_eq!(p.method, "mean"),
            Some(v) => {
                assert_eq!((v.baseline.as_str(), v.n), ("mean", i.n));
                assert!(
                    (v.diff - (i.value - mean.pooled.value)).abs() < 1e-12,
                    "{v:?}"
                );
                assert!(v.low <= v.high && (0.0..=1.0).contains(&v.p_value), "{v:?}");
                assert_eq!(v.significant, v.p_value < 0.05);
            }
        }
    }
    // protocol 2: k-means per non-PMA method, plus DDCL's own hard assignment
    let per_dataset = cfg.methods.len() - 1 + 1;
    assert_eq!(r.clustering.len(), 3 * per_dataset);
    assert!(r.clustering.iter().any(|c| c.method == "ddcl-hard(K=3)"));
    for c in &r.clustering {
        assert!(
            c.accuracy > 0.0 && c.nmi.is_finite() && c.ari.is_finite(),
            "{c:?}"
        );
        let (i, info) = (
            &c.accuracy_interval,
            r.datasets.iter().find(|d| d.name == c.dataset).unwrap(),
        );
        // one clustering per seed, pooled
        assert_eq!(
            (i.n, i.value),
            (cfg.seeds.len() * info.examples, c.accuracy)
        );
        assert!(i.low <= i.value && i.value <= i.high, "{i:?}");
    }
    // protocol 3: DDCL and mean, a loss per epoch
    assert_eq!(r.joint.len(), 2);
    assert_eq!(r.joint[0].method, "ddcl:4:mixture");
    assert!(r
        .joint
        .iter()
        .all(|j| j.loss.len() == 2 && j.loss.iter().all(|l| l.is_finite())));
    assert!(r.joint[0].timescale_held);
    for j in &r.joint {
        assert_eq!(
            (j.interval.n, j.predictions.len(), j.labels.len()),
            (24, 24, 24),
            "joint.train: 16 of 40 train, the rest test"
        );
        assert_eq!(j.interval.value, j.accuracy);
    }
    let vs = r.joint[0].vs_mean.as_ref().unwrap();
    assert!((vs.diff - (r.joint[0].accuracy - r.joint[1].accuracy)).abs() < 1e-12);
    assert!(r.joint[1].vs_mean.is_none());
    // protocol 4: one row per eps, separation and V per step
    assert_eq!(r.sweep.len(), 2);
    assert!(r.sweep[0].separated && !r.sweep[1].separated);
    assert_eq!(r.sweep[0].separation.len(), 3); // 17 training examples, batches of 8
    assert_eq!(r.sweep[0].v.len(), r.sweep[0].separation.len());
    assert_eq!(r.sweep[0].interval.n, 7); // 24 examples, 17 training
                                          // protocol 5: both methods learn the blobs
    assert_eq!(r.tabular.len(), 2);
    assert_eq!(r.tabular[0].interval.n, 27);
    assert!(r.tabular[0].vs_mean.is_some() && r.tabular[1].vs_mean.is_none());
    assert!(
        r.tabular.iter().all(|t| t.accuracy > t.majority),
        "{:?}",
        r.tabular
    );
    // speed: every method on text and on images, mean pooling the unit on each
    assert_eq!(r.speed.len(), 2 * cfg.methods.len());
    for d in ["reviews", "shapes"] {
        let mean = r
            .speed
            .iter()
            .find(|s| s.dataset == d && s.method == "mean")
            .unwrap();
        assert_eq!(mean.readout_vs_mean, 1.0);
    }
    let images = r.speed.iter().find(|s| s.dataset == "shapes").unwrap();
    assert_eq!((images.batch, images.tokens), (8, 8 * 5));
    assert!(r
        .speed
        .iter()
        .all(|s| s.readout_ms > 0.0 && s.total_ms >= s.readout_ms));
    assert!(r.speed.iter().all(|s| s.total_examples_per_s > 0.0));

    // outputs
    let out = dir.path().join("out");
    ddcl_bench::write(&r, &out).unwrap();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["schema"], ddcl_bench::SCHEMA);
    assert_eq!(ddcl_bench::SCHEMA, "ddcl-bench/2");
    assert_eq!(json["stats"]["resamples"], 10_000);
    let first = &json["probe"][0];
    assert!(first["pooled"]["se"].is_f64() && first["pooled"]["n"] == 42);
    assert_eq!(first["predictions"].as_array().unwrap().len(), 3);
    let compared = json["probe"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["vs_mean"]["p_value"].is_f64())
        .count();
    assert_eq!(compared, 3 * (cfg.methods.len() - 1));
    assert!(json["clustering"][0]["accuracy_interval"]["low"].is_f64());
    assert!(json["joint"][0]["vs_mean"]["p_value"].is_f64());
    assert!(json["tabular"][0]["vs_mean"]["p_value"].is_f64());
    assert_eq!(json["config"]["seeds"], serde_json::json!([0, 1, 2]));
    assert!(json["machine"]["cpus"].as_u64().unwrap() >= 1);
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    for heading in ["## 1.", "## 2.", "## 3.", "## 4.", "## 5.", "## Speed"] {
        assert!(report.contains(heading), "{heading} missing:\n{report}");
    }
    assert!(report.contains("| ddcl:3:slots |"));
    // the page of what the first DDCL method's prototypes learned, linked from the report
    let page = r
        .interpret
        .as_ref()
        .expect("a text dataset and a DDCL method: a page");
    assert_eq!(
        (page.dataset.as_str(), page.method.as_str()),
        ("reviews", "ddcl:4:mixture")
    );
    assert!((1..=30).contains(&page.sentences));
    assert_eq!(json["interpret"]["file"], "interpret.html");
    assert!(json["interpret"].get("html").is_none());
    let html = std::fs::read_to_string(out.join("interpret.html")).unwrap();
    assert_eq!(html.matches("class=\"sentence\"").count(), page.sentences);
    assert_eq!(html.matches("class=\"proto\"").count(), 4);
    assert!(report.contains("[interpret.html](interpret.html)"));
    // and on the first image dataset: a picture per test image, a strip per prototype
    let pages = r
        .interpret_images
        .as_ref()
        .expect("an image dataset and a DDCL method: pages");
    assert_eq!((pages.dataset.as_str(), pages.prototypes), ("shapes", 4));
    assert!((1..=12).contains(&pages.images));
    assert_eq!(json["interpret_images"]["folder"], "interpret-images");
    assert!(json["interpret_images"].get("assigned").is_none());
    let folder = out.join("interpret-images");
    let index = std::fs::read_to_string(folder.join("index.html")).unwrap();
    assert!(index.contains("shapes: what the prototypes of ddcl:4:mixture learned"));
    for i in 0..pages.images {
        assert!(
            folder.join(format!("image-{i:03}.png")).exists(),
            "image {i}"
        );
    }
    for p in 0..4 {
        assert!(
            folder.join(format!("prototype-{p}.png")).exists(),
            "strip {p}"
        );
    }
    assert!(report.contains("[interpret-images/index.html](interpret-images/index.html)"));
    // intervals, n and SE per cell; the paired table with its verdicts
    for needle in [
        "reviews (n = 42)",
        " ± ",
        "(SE ",
        "### Each method against mean pooling, same splits",
        "| reviews | ddcl:3:slots | ",
        "| − mean | 95% interval |",
        "exact McNemar",
    ] {
        assert!(report.contains(needle), "{needle} missing:\n{report}");
    }
    let verdicts = report
        .lines()
        .filter(|l| l.ends_with("| not significant |") || l.ends_with(", significant |"))
        .count();
    assert_eq!(verdicts, 3 * (cfg.methods.len() - 1) + 2, "{report}");
    // 14 test examples per split: far from an SE of 1 point, and the report says so
    assert!(report.contains("SE above 1 point: reviews"), "{report}");
    for svg in ["accuracy.svg", "sweep.svg", "speed.svg"] {
        let s = std::fs::read_to_string(out.join(svg)).unwrap();
        assert!(s.starts_with("<svg") && s.contains("</svg>"), "{svg}");
    }
    // written again: replaced whole, nothing of the old folder left, nothing beside it
    std::fs::write(out.join("stale.svg"), "<svg/>").unwrap();
    ddcl_bench::write(&r, &out).unwrap();
    assert!(!out.join("stale.svg").exists() && out.join("report.md").exists());
    let beside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with("out"))
        .collect();
    assert_eq!(beside, ["out"]);

    // features are cached: the second run encodes nothing and reproduces the numbers
    let cached = std::fs::read_dir(dir.path().join("cache")).unwrap().count();
    assert_eq!(cached, 3);
    let mut again = cfg.clone();
    again.joint = None;
    again.sweep = None;
    again.tabular = None;
    again.speed = None;
    let r2 = ddcl_bench::run(again).unwrap();
    assert_eq!(probe_means(&r), probe_means(&r2));
    assert_eq!(
        std::fs::read_dir(dir.path().join("cache")).unwrap().count(),
        3
    );
}

#[test]
fn quick_and_full_adjust_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.datasets[0].limit = 5000;
    let q = cfg.clone().quick();
    assert_eq!(q.seeds, [0, 1]);
    assert_eq!(q.datasets[0].limit, 150);
    assert_eq!(
        q.datasets[3].limit, 0,
        "tabular data is cheap and kept whole"
    );
    assert!(q.fit.steps <= 30 && q.joint.unwrap().epochs == 1);
    let f = cfg.full();
    assert!(f.datasets.iter().all(|d| d.limit == 0));
}

#[test]
fn the_default_configs_parse() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/bench.yaml");
    let cfg = BenchConfig::from_yaml_file(&root).unwrap();
    assert!(
        cfg.seeds.len() >= 3,
        "protocol 1 reports mean ± std over at least three seeds"
    );
    let names: Vec<String> = cfg.methods.iter().map(|m| m.to_string()).collect();
    for m in [
        "cls",
        "mean",
        "max",
        "mean_sqrt_len_tokens",
        "weightedmean",
        "lasttoken",
    ] {
        assert!(names.iter().any(|n| n == m), "{m}");
    }
    assert!(names.iter().any(|n| n.starts_with("ddcl:")));
    assert!(names.iter().any(|n| n.starts_with("pma:")));
    assert!(cfg.joint.is_some() && cfg.tabular.is_some() && cfg.speed.is_some());
    assert!(
        cfg.sweep.is_none(),
        "the eps sweep is replaced by `ddcl-bench claims` in the default run"
    );
}

/// Every accuracy of the default run has a standard error of at most one point, whatever its
/// value: at 50%, the worst case, that takes 2,500 test predictions (pooled over the seeds for
/// the probe, a single split for the joint protocol).
#[test]
fn the_default_samples_resolve_a_point() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../configs/bench.yaml");
    let cfg = BenchConfig::from_yaml_file(&root).unwrap();
    let worst_se = |n: usize| 100.0 * (0.25 / n as f64).sqrt();
    for d in &cfg.datasets {
        if d.limit == 0 {
            continue; // every example: checked by the run's own SE marks
        }
        let train = ((d.limit as f64) * cfg.train_share_of(&d.name)).round() as usize;
        let test = d.limit - train;
        let pooled = cfg.seeds.len() * test;
        assert!(worst_se(pooled) <= 1.0, "{}: pooled n {pooled}", d.name);
    }
    let j = cfg.joint.unwrap();
    let test = j.limit - j.train.unwrap();
    assert!(worst_se(test) <= 1.0, "joint: {test} test sentences");
}

#[test]
fn config_errors_name_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let good = serde_yaml_text(dir.path());
    let typo = good.replace("train_share:", "train_shar:");
    let err = BenchConfig::from_yaml(&typo).unwrap_err().to_string();
    assert!(err.contains("train_shar"), "{err}");
    let bad_method = good.replace("[cls, mean]", "[cls, meen]");
    let err = BenchConfig::from_yaml(&bad_method).unwrap_err().to_string();
    assert!(err.contains("meen"), "{err}");
    let bad_k = good.replace("[cls, mean]", "[cls, \"ddcl:0:mixture\"]");
    let err = BenchConfig::from_yaml(&bad_k).unwrap_err().to_string();
    assert!(err.contains("K must be a positive integer"), "{err}");
    let share = good.replace("train_share: 0.7", "train_share: 1.5");
    let err = BenchConfig::from_yaml(&share).unwrap_err().to_string();
    assert!(err.contains("train_share"), "{err}");
    let no_path = good.replace(", path: x.csv", "");
    let err = BenchConfig::from_yaml(&no_path).unwrap_err().to_string();
    assert!(err.contains("`path` is required"), "{err}");
}

fn serde_yaml_text(dir: &Path) -> String {
    format!(
        "seeds: [0]\ntrain_share: 0.7\ntext_model: m\nimage_model: m\nbatch_size: 4\ncache: {}\n\
         datasets:\n  - {{ name: a, source: text_file, path: x.csv, limit: 0 }}\n\
         methods: [cls, mean]\nfit: {{ steps: 1, lr: 0.1, batch: 2 }}\n\
         probe: {{ c: 1.0 }}\nkmeans_restarts: 1\n",
        dir.display()
    )
}
