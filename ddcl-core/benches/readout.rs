//! Criterion benches: the fused readout against the reference graph and against masked mean
//! pooling written as one pass over H.
//!
//! `cargo bench -p ddcl-core --bench readout` (all), or filter, e.g. `-- B32_T128`; the
//! poolings beside masked mean: `-- pooling_B32`.

#[path = "../tests/candle_pooling/mod.rs"]
mod candle_pooling;

use candle_core::{DType, Device, Tensor, Var};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ddcl_core::{assign, masked_mean, AssignConfig, Backend};
use ddcl_core::{last_token, masked_max, masked_mean_sqrt_len, masked_weighted_mean};

struct Case {
    h: Tensor,
    mask: Tensor,
    p: Tensor,
}

fn case(b: usize, t: usize, d: usize, k: usize) -> Case {
    let dev = Device::Cpu;
    let h = Tensor::randn(0f32, 1., (b, t, d), &dev).unwrap();
    let p = Tensor::randn(0f32, 1., (k, d), &dev).unwrap();
    // ragged: sequence i keeps a share of its tokens between 1/2 and 1
    let lens: Vec<u8> = (0..b)
        .flat_map(|i| (0..t).map(move |j| u8::from(j < t / 2 + (t / 2) * (i + 1) / b)))
        .collect();
    let mask = Tensor::from_vec(lens, (b, t), &dev).unwrap();
    Case { h, mask, p }
}

fn config(backend: Backend) -> AssignConfig {
    AssignConfig::new(1.0)
        .unwrap()
        .with_backend(backend)
        .with_check_finite(false)
}

/// Forward: the assignment, its losses and the mixture summary.
fn forward(c: &Case, backend: Backend) -> Tensor {
    forward_with(c, &config(backend))
}

fn forward_with(c: &Case, cfg: &AssignConfig) -> Tensor {
    let a = assign(&c.h, Some(&c.mask), &c.p, cfg).unwrap();
    let s = a.mixture(&c.p).unwrap();
    (a.losses.sq + s.sum_all().unwrap()).unwrap()
}

/// The case with H and P as variables, so that a backward pass reaches both.
fn variables(c: &Case) -> Case {
    Case {
        h: Var::from_tensor(&c.h).unwrap().as_tensor().clone(),
        mask: c.mask.clone(),
        p: Var::from_tensor(&c.p).unwrap().as_tensor().clone(),
    }
}

/// Forward and backward to both H and P.
fn forward_backward(v: &Case, backend: Backend) {
    let g = forward(v, backend).backward().unwrap();
    assert!(g.get(&v.h).is_some() && g.get(&v.p).is_some());
}

fn shapes(cr: &mut Criterion) {
    for (b, t, d, k, reference) in [(32, 128, 384, 16, true), (8, 2048, 768, 64, false)] {
        let c = case(b, t, d, k);
        let mut g = cr.benchmark_group(format!("B{b}_T{t}_D{d}_K{k}"));
        g.sample_size(20)
            .throughput(Throughput::Elements((b * t) as u64));
        g.bench_function("mean_pool_one_pass", |bn| {
            bn.iter(|| masked_mean(&c.h, Some(&c.mask)).unwrap())
        });
        g.bench_function("fused_forward", |bn| {
            bn.iter(|| forward(&c, Backend::Fused))
        });
        g.bench_function("fused_forward_portable", |bn| {
            let cfg = config(Backend::Fused).with_simd(false);
            bn.iter(|| forward_with(&c, &cfg))
        });
        g.bench_function("fused_forward_checked", |bn| {
            let cfg = AssignConfig::new(1.0).unwrap();
            bn.iter(|| assign(&c.h, Some(&c.mask), &c.p, &cfg).unwrap())
        });
        let v = variables(&c);
        g.bench_function("fused_forward_backward", |bn| {
            bn.iter(|| forward_backward(&v, Backend::Fused))
        });
        // The reference graph materialises (B, T, K, D) tensors: 3.2 GB each at the large
        // shape, beyond this machine's memory for a backward pass; it runs at the first shape.
        if reference {
            g.bench_function("reference_forward", |bn| {
                bn.iter(|| forward(&c, Backend::Reference))
            });
            g.bench_function("reference_forward_backward", |bn| {
                bn.iter(|| forward_backward(&v, Backend::Reference))
            });
        }
        g.finish();
    }
}

fn sweep(cr: &mut Criterion) {
    let (d, k) = (384, 16);
    let mut g = cr.benchmark_group("sweep_T_D384_K16");
    g.sample_size(10);
    for t in [128, 512, 2048, 8192] {
        let c = case(1, t, d, k);
        g.throughput(Throughput::Elements(t as u64));
        g.bench_with_input(BenchmarkId::new("mean_pool_one_pass", t), &c, |bn, c| {
            bn.iter(|| masked_mean(&c.h, Some(&c.mask)).unwrap())
        });
        g.bench_with_input(BenchmarkId::new("fused_forward", t), &c, |bn, c| {
            bn.iter(|| forward(c, Backend::Fused))
        });
        let v = variables(&c);
        g.bench_with_input(
            BenchmarkId::new("fused_forward_backward", t),
            &v,
            |bn, v| bn.iter(|| forward_backward(v, Backend::Fused)),
        );
    }
    g.finish();
}

type Pool = fn(&Tensor, Option<&Tensor>) -> ddcl_core::Result<Tensor>;
type Chain = fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>;

/// Each classic pooling as one pass and as the chain of candle ops it replaced, at the B32
/// shape, masked mean first: the ratios to `mean_one_pass` are read from one run.
fn poolings(cr: &mut Criterion) {
    let (b, t, d) = (32, 128, 384);
    let c = case(b, t, d, 1);
    let mask = c.mask.to_dtype(DType::F32).unwrap();
    let mut g = cr.benchmark_group(format!("pooling_B{b}_T{t}_D{d}"));
    g.sample_size(20)
        .throughput(Throughput::Elements((b * t) as u64));
    let cases: [(&str, Pool, Chain); 5] = [
        ("mean", masked_mean, candle_pooling::mean),
        ("max", masked_max, candle_pooling::max),
        (
            "mean_sqrt_len",
            masked_mean_sqrt_len,
            candle_pooling::mean_sqrt_len,
        ),
        (
            "weighted_mean",
            masked_weighted_mean,
            candle_pooling::weighted_mean,
        ),
        ("last_token", last_token, candle_pooling::last_token),
    ];
    for (name, pool, chain) in cases {
        g.bench_function(format!("{name}_one_pass"), |bn| {
            bn.iter(|| pool(&c.h, Some(&c.mask)).unwrap())
        });
        g.bench_function(format!("{name}_candle_ops"), |bn| {
            bn.iter(|| chain(&c.h, &mask).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, shapes, sweep, poolings);
criterion_main!(benches);
