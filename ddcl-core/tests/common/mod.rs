//! Helpers shared by the ddcl-core integration tests.
#![allow(dead_code)]

use candle_core::{DType, Device, Tensor, Var};
use ddcl_core::{assign, AssignConfig, Assignment, Backend};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A (dims) tensor of uniform values in [-scale, scale], seeded.
pub fn uniform(seed: u64, dims: &[usize], scale: f64, dtype: DType) -> Tensor {
    let mut rng = StdRng::seed_from_u64(seed);
    let n: usize = dims.iter().product();
    let v: Vec<f64> = (0..n).map(|_| rng.random_range(-scale..=scale)).collect();
    Tensor::from_vec(v, dims, &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap()
}

/// A ragged (B, T) mask of u8: row b keeps its first `lens[b]` tokens.
pub fn ragged(lens: &[usize], t: usize) -> Tensor {
    let v: Vec<u8> = lens
        .iter()
        .flat_map(|&l| (0..t).map(move |i| u8::from(i < l)))
        .collect();
    Tensor::from_vec(v, (lens.len(), t), &Device::Cpu).unwrap()
}

/// The three implementations by index: the reference graph, the fused kernels (vectorised
/// where the CPU allows) and the fused kernels held to the portable code.
pub fn implementation(i: u8, tau: f64) -> AssignConfig {
    match i % 3 {
        0 => config(tau, Backend::Reference),
        1 => config(tau, Backend::Fused),
        _ => config(tau, Backend::Fused).with_simd(false),
    }
}

pub fn config(tau: f64, backend: Backend) -> AssignConfig {
    AssignConfig::new(tau).unwrap().with_backend(backend)
}

pub fn run(
    h: &Tensor,
    mask: Option<&Tensor>,
    p: &Tensor,
    tau: f64,
    backend: Backend,
) -> Assignment {
    assign(h, mask, p, &config(tau, backend)).unwrap()
}

/// A scalar that depends on every output of an assignment: random weights on q, d and the token
/// losses, and fixed weights on the three loss means.
pub fn probe(a: &Assignment, seed: u64) -> Tensor {
    let dtype = a.q.dtype();
    let wq = uniform(seed, a.q.dims(), 1.0, dtype);
    let wd = uniform(seed + 1, a.dist.dims(), 0.1, dtype);
    let wt = uniform(seed + 2, a.token_losses.dims(), 0.1, dtype);
    let l = &a.losses;
    let terms = ((&l.sq * 0.7).unwrap() + (&l.ols * -1.3).unwrap()).unwrap();
    let terms = (terms + (&l.var * 2.1).unwrap()).unwrap();
    let sq = (&a.q * &wq).unwrap().sum_all().unwrap();
    let sd = (&a.dist * &wd).unwrap().sum_all().unwrap();
    let st = (&a.token_losses * &wt).unwrap().sum_all().unwrap();
    (((sq + sd).unwrap() + st).unwrap() + terms).unwrap()
}

/// Gradients of `probe` with respect to h and p.
pub fn grads(
    h: &Tensor,
    mask: Option<&Tensor>,
    p: &Tensor,
    tau: f64,
    backend: Backend,
) -> (Tensor, Tensor) {
    let hv = Var::from_tensor(h).unwrap();
    let pv = Var::from_tensor(p).unwrap();
    let a = run(hv.as_tensor(), mask, pv.as_tensor(), tau, backend);
    let g = probe(&a, 99).backward().unwrap();
    (
        g.get(hv.as_tensor()).unwrap().clone(),
        g.get(pv.as_tensor()).unwrap().clone(),
    )
}

pub fn to_vec(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap()
}

/// Largest |a - b| / (atol + rtol * |b|) over two tensors of equal size: <= 1 passes.
pub fn worst(a: &Tensor, b: &Tensor, atol: f64, rtol: f64) -> f64 {
    let (a, b) = (to_vec(a), to_vec(b));
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(&b)
        .map(|(x, y)| (x - y).abs() / (atol + rtol * y.abs()))
        .fold(0.0, f64::max)
}

/// Asserts that two tensors agree within `atol + rtol * |b|` elementwise.
#[track_caller]
pub fn assert_close(what: &str, a: &Tensor, b: &Tensor, atol: f64, rtol: f64) {
    let w = worst(a, b, atol, rtol);
    assert!(
        w <= 1.0,
        "{what}: worst error ratio {w} (atol {atol}, rtol {rtol})"
    );
}
