//! Helpers shared by the tests: variable maps, clustered latents, gradient sizes.

#![allow(dead_code)]

use candle_core::{backprop::GradStore, DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::{rngs::StdRng, Rng, SeedableRng};

/// A fresh f32 VarMap on the CPU and a builder over it.
pub fn fresh() -> (VarMap, VarBuilder<'static>) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    (varmap, vb)
}

/// Latents (B, N, D) around `clusters` well-separated centres (the rows of the returned (C, D)
/// tensor), with noise `noise`; deterministic for a seed.
pub fn clustered(
    b: usize,
    n: usize,
    d: usize,
    clusters: usize,
    noise: f32,
    seed: u64,
) -> (Tensor, Tensor) {
    let mut rng = StdRng::seed_from_u64(seed);
    let centres: Vec<f32> = (0..clusters * d)
        .map(|_| rng.random_range(-4.0f32..4.0))
        .collect();
    let mut values = Vec::with_capacity(b * n * d);
    for _ in 0..b * n {
        let c = rng.random_range(0..clusters);
        for j in 0..d {
            let gauss: f32 = (0..4).map(|_| rng.random_range(-1.0f32..1.0)).sum::<f32>() / 2.0;
            values.push(centres[c * d + j] + noise * gauss);
        }
    }
    (
        Tensor::from_vec(values, (b, n, d), &Device::Cpu).unwrap(),
        Tensor::from_vec(centres, (clusters, d), &Device::Cpu).unwrap(),
    )
}

/// Sum of absolute values of the gradient of `t` in `grads`, 0 when there is none.
pub fn grad_size(grads: &GradStore, t: &Tensor) -> f64 {
    grads.get(t).map_or(0.0, |g| {
        g.abs()
            .unwrap()
            .sum_all()
            .unwrap()
            .to_dtype(DType::F64)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    })
}

/// The values of a tensor as f64 rows.
pub fn rows(t: &Tensor) -> Vec<Vec<f64>> {
    t.to_dtype(DType::F64).unwrap().to_vec2::<f64>().unwrap()
}

/// Overwrites the `weight`, `bias` and `codes` variables of `map` with values drawn
/// uniformly from `±1/sqrt(fan-in)` (elements per leading index) by a seeded generator (candle's CPU generator cannot be
/// seeded), so that a training run is the same every time.
pub fn seed_vars(map: &VarMap, seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let data = map.data().lock().unwrap();
    let mut names: Vec<&String> = data.keys().collect();
    names.sort();
    for name in names {
        if !["weight", "bias", "codes"]
            .iter()
            .any(|s| name.ends_with(s))
        {
            continue;
        }
        let var = &data[name];
        let fan_in = var.elem_count() / var.dims()[0].max(1);
        let bound = 1.0 / (fan_in.max(1) as f32).sqrt();
        let values: Vec<f32> = (0..var.elem_count())
            .map(|_| rng.random_range(-bound..bound))
            .collect();
        var.set(&Tensor::from_vec(values, var.shape(), &Device::Cpu).unwrap())
            .unwrap();
    }
}

/// Builds a quantiser under a `VarBuilder`: one entry of a list of methods to train alike.
pub type Make = Box<dyn Fn(VarBuilder) -> Box<dyn ddcl_codebook::Quantizer>>;
