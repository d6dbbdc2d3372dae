//! A tiny training run (a linear encoder and decoder around the quantiser, clustered data)
//! raises the codebook's utilisation, for DDCL and for hard VQ with its remedies.

mod common;

use candle_nn::{linear, AdamW, Linear, Module, Optimizer, ParamsAdamW};
use ddcl_codebook::{
    CodeInit, CodebookStats, DdclCodebook, DdclConfig, Quantizer, ReconError, TauSchedule,
    Temperature, VectorQuantizer, VqConfig,
};

use common::{clustered, fresh, seed_vars, Make};

const D: usize = 6;
const K: usize = 16;

/// Utilisation of the hard codes on `x` before and after 200 steps, and the final hard MSE.
fn train(make: &dyn Fn(candle_nn::VarBuilder) -> Box<dyn Quantizer>) -> (f64, f64, f64) {
    let (map, vb) = fresh();
    let encoder: Linear = linear(D, D, vb.pp("enc")).unwrap();
    let decoder: Linear = linear(D, D, vb.pp("dec")).unwrap();
    let mut q = make(vb.pp("q"));
    seed_vars(&map, 3);
    let (x, _) = clustered(4, 32, D, K, 0.1, 11);
    let utilisation = |q: &dyn Quantizer| {
        let mut stats = CodebookStats::new(K).unwrap();
        stats
            .add(&q.encode(&encoder.forward(&x).unwrap()).unwrap())
            .unwrap();
        stats.report().utilisation
    };
    let before = utilisation(q.as_ref());
    let params = ParamsAdamW {
        lr: 1e-2,
        weight_decay: 0.0,
        ..ParamsAdamW::default()
    };
    let mut opt = AdamW::new(map.all_vars(), params).unwrap();
    for _ in 0..200 {
        let out = q.quantize(&encoder.forward(&x).unwrap(), true).unwrap();
        let recon = (decoder.forward(&out.z_q).unwrap() - &x)
            .unwrap()
            .sqr()
            .unwrap()
            .mean_all()
            .unwrap();
        opt.backward_step(&(recon + out.loss).unwrap()).unwrap();
    }
    let z = encoder.forward(&x).unwrap();
    let mut err = ReconError::default();
    let hard = q.quantize(&z, false).unwrap().z_q;
    err.add(&x, &decoder.forward(&hard).unwrap()).unwrap();
    (before, utilisation(q.as_ref()), err.mse())
}

fn ddcl(f: impl Fn(&mut DdclConfig) + 'static) -> Make {
    Box::new(move |vb| {
        let mut cfg = DdclConfig::new(K);
        f(&mut cfg);
        Box::new(DdclCodebook::new(D, &cfg, vb).unwrap())
    })
}

#[test]
fn ddcl_training_raises_utilisation() {
    let variants = [
        ("naive", ddcl(|_| {})),
        (
            "relative tau",
            ddcl(|c| c.temperature = Temperature::relative(TauSchedule::Constant(1.0), 1e-6)),
        ),
        ("reseed", ddcl(|c| c.dead_threshold = 0.5)),
        (
            "kmeans",
            ddcl(|c| c.init = CodeInit::KMeans { iters: 5, seed: 0 }),
        ),
    ];
    for (name, make) in variants {
        let (before, after, mse) = train(make.as_ref());
        eprintln!("{name}: {before} -> {after} mse {mse}");
        assert!(after > before, "{name}: {before} -> {after}");
        assert!(after >= 0.75, "{name}: {before} -> {after} (mse {mse})");
    }
}

#[test]
fn vq_training_with_its_remedies_raises_utilisation() {
    let make = |vb: candle_nn::VarBuilder| -> Box<dyn Quantizer> {
        let mut cfg = VqConfig::new(K);
        cfg.ema = true;
        cfg.dead_threshold = 0.5;
        Box::new(VectorQuantizer::new(D, &cfg, vb).unwrap())
    };
    let (before, after, mse) = train(&make);
    assert!(
        after > before && after >= 0.75,
        "{before} -> {after} (mse {mse})"
    );
}
