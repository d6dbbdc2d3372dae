//! Summaries, diagnostics and the timescale check against hand-computed values.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use ddcl_core::{hard_assignment, Backend, Summary, Timescale, Usage};

/// Three tokens in the plane, two prototypes, a cold temperature: q is one-hot.
fn plane() -> (Tensor, Tensor) {
    let h = Tensor::new(&[[[0f64, 1.], [2., 0.], [3., 0.]]], &Device::Cpu).unwrap();
    let p = Tensor::new(&[[0f64, 0.], [2., 0.]], &Device::Cpu).unwrap();
    (h, p)
}

#[test]
fn summaries_by_hand() {
    let (h, p) = plane();
    for backend in [Backend::Reference, Backend::Fused] {
        let a = run(&h, None, &p, 1e-3, backend);
        let third = 1.0 / 3.0;
        let get = |s| to_vec(&a.summary(s, &h, &p).unwrap());
        assert_eq!(get(Summary::Occupancy), vec![third, 2.0 * third]);
        assert_eq!(get(Summary::Mixture), vec![4.0 * third, 0.0]);
        let slots = get(Summary::Slots);
        let want = [0.0, 1.0 / (1.0 + 1e-6), 5.0 / (2.0 + 1e-6), 0.0];
        for (g, w) in slots.iter().zip(want) {
            assert!((g - w).abs() < 1e-15, "{slots:?}");
        }
        assert_eq!(get(Summary::Residual), vec![0.0, 1.0, 1.0, 0.0]);
        // L_SQ = (1 + 0 + 1) / 3; hard assignment on q is exact, so L_OLS = L_SQ and V = 0
        let sq = a.losses.sq.to_scalar::<f64>().unwrap();
        assert!((sq - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(a.losses.var.to_scalar::<f64>().unwrap(), 0.0);
        let hard = hard_assignment(&a).unwrap().to_vec2::<u32>().unwrap();
        assert_eq!(hard, vec![vec![0, 1, 1]]);
    }
}

#[test]
fn mixture_is_mean_reconstruction() {
    let (t, d, k) = (9, 6, 4);
    let mask = ragged(&[9, 5], t);
    let h = uniform(1, &[2, t, d], 1.0, DType::F64);
    let p = uniform(2, &[k, d], 1.0, DType::F64);
    let a = run(&h, Some(&mask), &p, 0.8, Backend::Fused);
    let hhat = a.reconstruction(&p).unwrap();
    let n = a.tokens.unsqueeze(1).unwrap();
    let mean = hhat.sum(1).unwrap().broadcast_div(&n).unwrap();
    assert_close("mixture", &a.mixture(&p).unwrap(), &mean, 1e-15, 1e-13);
    let occ = to_vec(&a.occupancy().unwrap());
    for row in occ.chunks(k) {
        assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-14);
    }
    let res = a.residual(&h, &p).unwrap().sqr().unwrap().sum(2).unwrap();
    assert_close(
        "unit residual rows",
        &res,
        &Tensor::ones((2, k), DType::F64, &Device::Cpu).unwrap(),
        1e-12,
        0.0,
    );
}

#[test]
fn usage_by_hand() {
    let (h, p) = plane();
    let a = run(&h, None, &p, 1e-3, Backend::Fused);
    let mut usage = Usage::new(2, 0.4).unwrap();
    usage.add(&a).unwrap();
    let r = usage.report();
    let (x, y) = (1.0f64 / 3.0, 2.0f64 / 3.0);
    assert_eq!(r.tokens, 3);
    assert_eq!(r.occupancy, vec![x, y]);
    assert_eq!(r.soft_utilisation, 0.5);
    assert_eq!(r.hard_utilisation, 1.0);
    assert!((r.perplexity - (-(x * x.ln() + y * y.ln())).exp()).abs() < 1e-15);
    assert_eq!(r.entropy, 0.0);
    // a second batch where every token picks prototype 0 at a warm temperature
    let h2 = Tensor::new(&[[[0f64, 0.]]], &Device::Cpu).unwrap();
    let b = run(&h2, None, &p, 1.0, Backend::Fused);
    usage.add(&b).unwrap();
    let r = usage.report();
    let q0 = 1.0 / (1.0 + (-4.0f64).exp());
    assert_eq!(r.tokens, 4);
    assert!((r.occupancy[0] - (1.0 + q0) / 4.0).abs() < 1e-15);
    let h_q = -(q0 * q0.ln() + (1.0 - q0) * (1.0 - q0).ln());
    assert!((r.entropy - h_q / 4.0).abs() < 1e-15);
}

#[test]
fn timescale_by_hand() {
    let occ = [0.6, 0.3, 0.1];
    let ok = Timescale::check(1e-4, 1e-2, &occ, 0.1).unwrap();
    assert!((ok.eps - 0.01).abs() < 1e-16);
    assert_eq!(ok.max_occupancy, 0.6);
    assert!((ok.step_margin - (1.0 - 0.006)).abs() < 1e-15);
    assert!(ok.separated() && ok.stable() && ok.holds());
    let slow = Timescale::check(1e-2, 1e-2, &occ, 0.1).unwrap();
    assert!(!slow.separated() && slow.stable() && !slow.holds());
    let unstable = Timescale::check(1e-3, 2.0, &occ, 0.1).unwrap();
    assert!(unstable.separated() && !unstable.stable());
    assert!((unstable.step_margin - (1.0 - 1.2)).abs() < 1e-15);
}

/// The masked mean (B, D) of `h` (B, T, D) as plain candle ops, for a 0/1 mask `m` (B, T) of h's
/// dtype and the real-token counts `n` (B, 1), at least 1.
fn candle_mean(h: &Tensor, m: &Tensor, n: &Tensor) -> Tensor {
    h.broadcast_mul(&m.unsqueeze(2).unwrap())
        .unwrap()
        .sum(1)
        .unwrap()
        .broadcast_div(n)
        .unwrap()
}

#[test]
fn masked_mean_one_pass_matches_candle_ops() {
    use candle_core::Var;
    let (t, d) = (11, 7);
    let mask = ragged(&[11, 3, 0], t);
    for dtype in [DType::F32, DType::F64] {
        let h = uniform(9, &[3, t, d], 2.0, dtype);
        let m = mask.to_dtype(dtype).unwrap();
        let hv = Var::from_tensor(&h).unwrap();
        let fast = ddcl_core::masked_mean(hv.as_tensor(), Some(&mask)).unwrap();
        let n = m.sum_keepdim(1).unwrap().maximum(1.0).unwrap();
        assert_close("mean", &fast, &candle_mean(&h, &m, &n), 1e-6, 1e-6);
        let w = uniform(10, &[3, d], 1.0, dtype);
        let g = (&fast * &w).unwrap().sum_all().unwrap().backward().unwrap();
        let want = m
            .broadcast_div(&n)
            .unwrap()
            .unsqueeze(2)
            .unwrap()
            .broadcast_mul(&w.unsqueeze(1).unwrap())
            .unwrap();
        assert_close(
            "d mean / dh",
            g.get(hv.as_tensor()).unwrap(),
            &want,
            1e-7,
            1e-6,
        );
    }
}

#[test]
fn masked_mean_generic_path_matches_the_kernel() {
    // bf16 takes the plain-candle path: same means as the f32 kernel, padding ignored
    let mask = ragged(&[6, 2, 0], 6);
    let h = uniform(12, &[3, 6, 5], 1.0, DType::F32);
    let fast = ddcl_core::masked_mean(&h, Some(&mask)).unwrap();
    let generic = ddcl_core::masked_mean(&h.to_dtype(DType::BF16).unwrap(), Some(&mask)).unwrap();
    assert_close("bf16 mean", &generic, &fast, 1e-2, 1e-2);
}

#[test]
fn masked_mean_splits_features_across_threads_with_the_same_sums() {
    // fewer sequences than threads, each of T x D >= 2^19 values: each sequence's features are
    // split across threads
    let (t, d) = (4000, 133);
    for lens in [&[4000][..], &[1500, 0]] {
        let b = lens.len();
        let mask = ragged(lens, t);
        let h = uniform(13, &[b, t, d], 3.0, DType::F32);
        let on = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| to_vec(&ddcl_core::masked_mean(&h, Some(&mask)).unwrap()))
        };
        let one = on(1);
        assert_eq!(one, on(5), "lens {lens:?}");
        let m = mask.to_dtype(DType::F32).unwrap();
        let n = m.sum_keepdim(1).unwrap().maximum(1.0).unwrap();
        let slow = to_vec(&candle_mean(&h, &m, &n));
        assert!(one
            .iter()
            .zip(&slow)
            .all(|(a, b)| (a - b).abs() <= 1e-6 * b.abs().max(1.0)));
    }
}
