//! Joint training on the tiny model: every level and the head learn a two-class task, each
//! level's timescale condition is checked, rates that break it are refused up front.

mod common;

use candle_core::{Device, Tensor};
use candle_nn::VarMap;
use common::encoder;
use ddcl_hier::{Error, HierConfig, HierTrainConfig, HierTrainer};

const HIER: &str = "chunk: {window: 8, overlap: 0, batch: 4}
levels:
  - readout: {prototypes: 4, tau: 2.0, pooling: [mixture, mean]}
  - readout: {prototypes: 2, tau: 2.0, pooling: [mixture, mean]}
";

fn train_config(policy: &str, lr_levels: [f64; 2]) -> HierTrainConfig {
    serde_json::from_str(&format!(
        r#"{{"classes": 2, "lr_levels": [{}, {}], "lr_head": 0.05, "policy": "{policy}", "seed": 1}}"#,
        lr_levels[0], lr_levels[1]
    ))
    .unwrap()
}

#[test]
fn levels_and_head_learn_a_task_under_the_timescale_check() {
    let (enc, _dir) = encoder();
    let cfg = HierConfig::from_yaml(HIER).unwrap();
    // class 0: cats and dogs; class 1: films and music; documents of 1 to 4 chunks
    let words = [
        ["the cat sat on the mat", "a dog sat"],
        ["a good film", "great music and a fun plot"],
    ];
    let mut batches = Vec::new();
    for b in 0..4 {
        let mut docs = Vec::new();
        let mut labels = Vec::new();
        for class in 0..2u32 {
            let repeat = |text: &str, n: usize| vec![text; n].join(" ");
            docs.push(
                enc.ids(&repeat(words[class as usize][b % 2], 1 + b))
                    .unwrap(),
            );
            docs.push(
                enc.ids(&repeat(words[class as usize][(b + 1) % 2], 2 + b))
                    .unwrap(),
            );
            labels.extend([class, class]);
        }
        batches.push((docs, Tensor::new(labels, &Device::Cpu).unwrap()));
    }
    let mut t =
        HierTrainer::new(enc, &cfg, train_config("warn", [0.01, 0.1]), VarMap::new()).unwrap();
    let names: Vec<String> = {
        let mut n: Vec<String> = t.varmap().data().lock().unwrap().keys().cloned().collect();
        n.sort();
        n
    };
    assert_eq!(
        names,
        [
            "head.bias",
            "head.weight",
            "level1.prototypes",
            "level2.prototypes"
        ]
    );
    let p1 = t.compressor().levels()[0]
        .prototypes()
        .to_vec2::<f32>()
        .unwrap();
    let first = t.train_epoch(&batches).unwrap();
    let mut last = first.clone();
    for _ in 0..15 {
        last = t.train_epoch(&batches).unwrap();
    }
    assert!(
        last.loss < 0.5 * first.loss,
        "{} -> {}",
        first.loss,
        last.loss
    );
    assert!(last.accuracy >= 0.9, "{}", last.accuracy); // during the epoch's steps
    assert_ne!(
        t.compressor().levels()[0]
            .prototypes()
            .to_vec2::<f32>()
            .unwrap(),
        p1
    );
    // one check per level: the frozen encoder gives level 1 eps = 0, level 2 eps = 0.01 / 0.1
    assert_eq!(last.timescale.len(), 2);
    assert_eq!(last.timescale[0].check.eps, 0.0);
    assert!((last.timescale[1].check.eps - 0.1).abs() < 1e-12);
    let occupancy_bound = last.timescale[1].check.max_occupancy;
    assert!((0.5..=1.0).contains(&occupancy_bound), "{occupancy_bound}");
}

#[test]
fn rates_that_break_the_condition_are_refused() {
    let (enc, _dir) = encoder();
    let cfg = HierConfig::from_yaml(HIER).unwrap();
    // level 2 slower than level 1, the level feeding it: eps = 10 > 0.1
    let err = HierTrainer::new(
        enc,
        &cfg,
        train_config("refuse", [0.1, 0.01]),
        VarMap::new(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(&err, Error::Readout(ddcl_readout::Error::Timescale(m)) if m.starts_with("level 2")),
        "{err}"
    );
    let (enc, _dir) = encoder();
    let mut bad = train_config("warn", [0.1, 0.01]);
    bad.lr_levels.pop();
    assert!(HierTrainer::new(enc, &cfg, bad, VarMap::new()).is_err());
}
