//! Gradients reach the codes and the encoder's latents on every variant; none pass through a
//! hard code where no straight-through estimator is asked for.

mod common;

use candle_core::{Device, Tensor, Var};
use ddcl_codebook::{
    CodeInit, DdclCodebook, DdclConfig, Fsq, FsqConfig, Quantizer, TauSchedule, Temperature,
    VectorQuantizer, VqConfig,
};
use ddcl_core::Backend;

use common::{clustered, fresh, grad_size};

/// Latents as a variable, standing in for an encoder's output.
fn latents() -> Var {
    let (z, _) = clustered(2, 12, 6, 4, 0.3, 7);
    Var::from_tensor(&z).unwrap()
}

/// The decoder stand-in: a fixed random linear read-out of z_q, so that every code's gradient
/// differs.
fn task_loss(z_q: &Tensor) -> Tensor {
    let w = Tensor::randn(0f32, 1., (6, 3), &Device::Cpu).unwrap();
    z_q.broadcast_matmul(&w)
        .unwrap()
        .sqr()
        .unwrap()
        .mean_all()
        .unwrap()
}

fn ddcl_variants() -> Vec<(&'static str, DdclConfig)> {
    let base = DdclConfig::new(8);
    let with = |f: &dyn Fn(&mut DdclConfig)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    vec![
        ("default", base.clone()),
        ("reference", with(&|c| c.backend = Backend::Reference)),
        ("cosine", with(&|c| c.cosine = true)),
        (
            "relative tau",
            with(&|c| c.temperature = Temperature::relative(TauSchedule::Constant(0.5), 1e-6)),
        ),
        ("entropy", with(&|c| c.entropy_weight = 0.1)),
        ("reseed", with(&|c| c.dead_threshold = 1.0)),
        ("weaker V", with(&|c| c.var_weight = -0.5)),
        ("raw scale", with(&|c| c.per_dim = false)),
        (
            "kmeans",
            with(&|c| c.init = CodeInit::KMeans { iters: 3, seed: 1 }),
        ),
        (
            "cosine annealed",
            with(&|c| {
                c.temperature = Temperature::fixed(TauSchedule::Cosine {
                    start: 2.0,
                    end: 0.1,
                    steps: 5,
                })
            }),
        ),
    ]
}

#[test]
fn ddcl_soft_code_reaches_codes_and_latents_on_every_variant() {
    for (name, cfg) in ddcl_variants() {
        let (_map, vb) = fresh();
        let mut cb = DdclCodebook::new(6, &cfg, vb).unwrap();
        let z = latents();
        // through the soft code alone (the decoder's path), then through the loss alone
        let out = cb.quantize(z.as_tensor(), true).unwrap();
        let grads = task_loss(&out.z_q).backward().unwrap();
        assert!(
            grad_size(&grads, z.as_tensor()) > 0.0,
            "{name}: latents via z_q"
        );
        assert!(grad_size(&grads, cb.codes()) > 0.0, "{name}: codes via z_q");
        let grads = out.loss.backward().unwrap();
        assert!(
            grad_size(&grads, z.as_tensor()) > 0.0,
            "{name}: latents via loss"
        );
        assert!(
            grad_size(&grads, cb.codes()) > 0.0,
            "{name}: codes via loss"
        );
    }
}

#[test]
fn ddcl_hard_code_at_inference_passes_no_gradient_to_latents() {
    let (_map, vb) = fresh();
    let mut cb = DdclCodebook::new(6, &DdclConfig::new(8), vb).unwrap();
    let z = latents();
    let out = cb.quantize(z.as_tensor(), false).unwrap();
    let grads = task_loss(&out.z_q).backward().unwrap();
    assert_eq!(grad_size(&grads, z.as_tensor()), 0.0);
    assert!(
        grad_size(&grads, cb.codes()) > 0.0,
        "the picked codes themselves"
    );
}

fn vq_variants() -> Vec<(&'static str, VqConfig)> {
    let base = VqConfig::new(8);
    let with = |f: &dyn Fn(&mut VqConfig)| {
        let mut c = base.clone();
        f(&mut c);
        c
    };
    vec![
        ("plain", base.clone()),
        ("cosine", with(&|c| c.cosine = true)),
        (
            "kmeans",
            with(&|c| c.init = CodeInit::KMeans { iters: 3, seed: 1 }),
        ),
        ("expiry", with(&|c| c.dead_threshold = 2.0)),
        ("ema", with(&|c| c.ema = true)),
        (
            "ema cosine kmeans expiry",
            with(&|c| {
                c.ema = true;
                c.cosine = true;
                c.init = CodeInit::KMeans { iters: 3, seed: 1 };
                c.dead_threshold = 2.0;
            }),
        ),
    ]
}

#[test]
fn vq_straight_through_reaches_latents_and_codebook_loss_reaches_codes() {
    for (name, cfg) in vq_variants() {
        let (_map, vb) = fresh();
        let mut vq = VectorQuantizer::new(6, &cfg, vb).unwrap();
        let z = latents();
        let out = vq.quantize(z.as_tensor(), true).unwrap();
        let grads = task_loss(&out.z_q).backward().unwrap();
        assert!(
            grad_size(&grads, z.as_tensor()) > 0.0,
            "{name}: straight through"
        );
        assert_eq!(
            grad_size(&grads, vq.codes()),
            0.0,
            "{name}: no codes via z_q"
        );
        let grads = out.loss.backward().unwrap();
        assert!(grad_size(&grads, z.as_tensor()) > 0.0, "{name}: commitment");
        // EMA codebooks learn by averages, not by gradient
        let codes = grad_size(&grads, vq.codes());
        assert_eq!(codes > 0.0, !cfg.ema, "{name}: codebook loss {codes}");
    }
}

#[test]
fn vq_without_straight_through_passes_no_decoder_gradient_to_latents() {
    let (_map, vb) = fresh();
    let mut cfg = VqConfig::new(8);
    cfg.straight_through = false;
    let mut vq = VectorQuantizer::new(6, &cfg, vb).unwrap();
    let z = latents();
    let out = vq.quantize(z.as_tensor(), true).unwrap();
    let grads = task_loss(&out.z_q).backward().unwrap();
    assert_eq!(grad_size(&grads, z.as_tensor()), 0.0);
    assert!(
        grad_size(&grads, vq.codes()) > 0.0,
        "the decoder trains the picked codes"
    );
    // the encoder still learns from the commitment loss
    let grads = out.loss.backward().unwrap();
    assert!(grad_size(&grads, z.as_tensor()) > 0.0);
}

#[test]
fn fsq_straight_through_reaches_latents_and_projections() {
    let (map, vb) = fresh();
    let mut fsq = Fsq::new(6, &FsqConfig::new(vec![8, 5, 5]), vb).unwrap();
    let z = latents();
    let out = fsq.quantize(z.as_tensor(), true).unwrap();
    let grads = task_loss(&out.z_q).backward().unwrap();
    assert!(grad_size(&grads, z.as_tensor()) > 0.0);
    for (name, var) in map.data().lock().unwrap().iter() {
        assert!(grad_size(&grads, var.as_tensor()) > 0.0, "{name}");
    }
    // at inference the rounding is hard
    let out = fsq.quantize(z.as_tensor(), false).unwrap();
    let grads = task_loss(&out.z_q).backward().unwrap();
    assert_eq!(grad_size(&grads, z.as_tensor()), 0.0);
}
