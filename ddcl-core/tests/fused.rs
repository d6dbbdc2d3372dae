//! The fused kernels against the reference graph, and both against finite differences.

mod common;

use candle_core::{DType, Tensor};
use common::*;
use ddcl_core::{assign, Assignment, Backend};

fn compare(seed: u64, b: usize, t: usize, d: usize, k: usize, tau: f64, lens: Option<&[usize]>) {
    let h = uniform(seed, &[b, t, d], 2.0, DType::F64);
    let p = uniform(seed + 7, &[k, d], 2.0, DType::F64);
    let mask = lens.map(|l| ragged(l, t));
    let r = run(&h, mask.as_ref(), &p, tau, Backend::Reference);
    let f = run(&h, mask.as_ref(), &p, tau, Backend::Fused);
    assert_close("q", &f.q, &r.q, 1e-13, 1e-11);
    assert_close("dist", &f.dist, &r.dist, 1e-12, 1e-12);
    assert_close(
        "token losses",
        &f.token_losses,
        &r.token_losses,
        1e-12,
        1e-12,
    );
    assert_close("loss means", &means(&f), &means(&r), 1e-12, 1e-12);
    let (fh, fp) = grads(&h, mask.as_ref(), &p, tau, Backend::Fused);
    let (rh, rp) = grads(&h, mask.as_ref(), &p, tau, Backend::Reference);
    assert_close("dL/dh", &fh, &rh, 1e-10, 1e-9);
    assert_close("dL/dp", &fp, &rp, 1e-10, 1e-9);
}

/// `[L_SQ, L_OLS, V]`, the masked means of an assignment's loss terms.
fn means(a: &Assignment) -> Tensor {
    let l = &a.losses;
    Tensor::stack(&[&l.sq, &l.ols, &l.var], 0).unwrap()
}

#[test]
fn fused_matches_reference_f64() {
    compare(1, 2, 7, 5, 3, 1.0, None);
    compare(2, 3, 9, 4, 6, 0.3, Some(&[9, 4, 0]));
    compare(3, 1, 300, 8, 4, 2.0, Some(&[257]));
    compare(4, 2, 3, 6, 11, 5.0, Some(&[3, 1]));
}

/// f32 against the f64 reference graph on the same values: a readout's shape (K < D) and a
/// codebook's (K > D, where the portable kernel takes V from the mean code), with tokens on and
/// next to prototypes in the codebook case.
#[test]
fn fused_matches_reference_f32() {
    for (seed, k, d, tau) in [(5, 8, 32, 0.5), (7, 300, 16, 0.05)] {
        let p = uniform(seed + 1, &[k, d], 1.0, DType::F32);
        let mut hv = to_vec(&uniform(seed, &[4, 100, d], 1.0, DType::F64));
        let pv = to_vec(&p);
        for row in (1..400).step_by(3) {
            let j = (row * 7) % k;
            for i in 0..d {
                hv[row * d + i] = pv[j * d + i] * (1.0 + 1e-3 * (i % 3) as f64);
            }
        }
        let h = Tensor::from_vec(hv, (4, 100, d), p.device()).unwrap();
        let h = h.to_dtype(DType::F32).unwrap();
        let mask = ragged(&[100, 50, 1, 77], 100);
        let wide = |t: &Tensor| t.to_dtype(DType::F64).unwrap();
        let r = run(
            &wide(&h),
            Some(&wide(&mask)),
            &wide(&p),
            tau,
            Backend::Reference,
        );
        for simd in [true, false] {
            let cfg = config(tau, Backend::Fused).with_simd(simd);
            let f = assign(&h, Some(&mask), &p, &cfg).unwrap();
            assert_close("q", &wide(&f.q), &r.q, 1e-6, 1e-4);
            let (ft, fm) = (wide(&f.token_losses), wide(&means(&f)));
            assert_close("token losses", &ft, &r.token_losses, 1e-5, 1e-5);
            assert_close("loss means", &fm, &means(&r), 1e-5, 1e-5);
        }
        let (fh, fp) = grads(&h, Some(&mask), &p, tau, Backend::Fused);
        let (rh, rp) = grads(&h, Some(&mask), &p, tau, Backend::Reference);
        assert_close("dL/dh", &fh, &rh, 1e-4, 1e-3);
        assert_close("dL/dp", &fp, &rp, 1e-4, 1e-3);
    }
}

/// Central differences of `probe` with respect to every entry of `x`.
fn finite_differences(x: &Tensor, f: impl Fn(&Tensor) -> f64) -> Tensor {
    let v = to_vec(x);
    let step = 1e-6;
    let g: Vec<f64> = (0..v.len())
        .map(|i| {
            let at = |delta: f64| {
                let mut w = v.clone();
                w[i] += delta;
                f(&Tensor::from_vec(w, x.dims(), x.device()).unwrap())
            };
            (at(step) - at(-step)) / (2.0 * step)
        })
        .collect();
    Tensor::from_vec(g, x.dims(), x.device()).unwrap()
}

#[test]
fn gradients_match_finite_differences() {
    let (b, t, d, k, tau) = (2, 5, 3, 4, 0.8);
    let h = uniform(11, &[b, t, d], 1.5, DType::F64);
    let p = uniform(12, &[k, d], 1.5, DType::F64);
    let mask = ragged(&[5, 3], t);
    for backend in [Backend::Fused, Backend::Reference] {
        let loss = |h: &Tensor, p: &Tensor| {
            let a = run(h, Some(&mask), p, tau, backend);
            probe(&a, 99).to_scalar::<f64>().unwrap()
        };
        let (gh, gp) = grads(&h, Some(&mask), &p, tau, backend);
        let fd_h = finite_differences(&h, |x| loss(x, &p));
        let fd_p = finite_differences(&p, |x| loss(&h, x));
        assert_close(&format!("{backend:?} dL/dh"), &gh, &fd_h, 1e-7, 1e-6);
        assert_close(&format!("{backend:?} dL/dp"), &gp, &fd_p, 1e-7, 1e-6);
    }
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

    #[test]
    fn fused_matches_reference_on_any_shape(
        b in 1usize..4, t in 1usize..80, d in 1usize..9, k in 1usize..20,
        log_tau in -1.0f64..1.0, seed in 0u64..1_000_000,
    ) {
        let lens: Vec<usize> = (0..b).map(|i| (t * (i + 1) / b).min(t)).collect();
        compare(seed, b, t, d, k, 10f64.powf(log_tau), Some(&lens));
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let h = uniform(21, &[3, 400, 16], 1.0, DType::F32);
    let p = uniform(22, &[12, 16], 1.0, DType::F32);
    let mask = ragged(&[400, 399, 17], 400);
    let on = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let a = run(&h, Some(&mask), &p, 0.3, Backend::Fused);
            let (gh, gp) = grads(&h, Some(&mask), &p, 0.3, Backend::Fused);
            (to_vec(&a.token_losses), to_vec(&gh), to_vec(&gp))
        })
    };
    assert_eq!(on(1), on(3));
}

/// Losses whose OLS and V weights are equal on every token (L_SQ alone; L_OLS + V with equal
/// weights; with q's own gradient): the backward skips its K x K terms, which vanish,
/// and must still match the reference graph.
#[test]
fn uncoupled_losses_match_reference() {
    let h = uniform(41, &[2, 300, 6], 1.0, DType::F64);
    let p = uniform(42, &[7, 6], 1.0, DType::F64);
    let mask = ragged(&[300, 41], 300);
    let wq = uniform(43, &[2, 300, 7], 1.0, DType::F64);
    let grads_of = |backend: Backend, ols_v: f64| {
        let (hv, pv) = (
            candle_core::Var::from_tensor(&h).unwrap(),
            candle_core::Var::from_tensor(&p).unwrap(),
        );
        let a = run(hv.as_tensor(), Some(&mask), pv.as_tensor(), 0.4, backend);
        let l = &a.losses;
        let terms = (&l.sq * 0.7).unwrap() + ((&l.ols + &l.var).unwrap() * ols_v).unwrap();
        let loss = (terms.unwrap() + (&a.q * &wq).unwrap().sum_all().unwrap()).unwrap();
        let g = loss.backward().unwrap();
        (
            g.get(hv.as_tensor()).unwrap().clone(),
            g.get(pv.as_tensor()).unwrap().clone(),
        )
    };
    for ols_v in [0.0, -0.45] {
        let (fh, fp) = grads_of(Backend::Fused, ols_v);
        let (rh, rp) = grads_of(Backend::Reference, ols_v);
        assert_close("dL/dh", &fh, &rh, 1e-10, 1e-9);
        assert_close("dL/dp", &fp, &rp, 1e-10, 1e-9);
    }
}

#[test]
fn gradients_of_one_input_alone_match_both() {
    let h = uniform(31, &[2, 70, 6], 1.0, DType::F64);
    let p = uniform(32, &[5, 6], 1.0, DType::F64);
    let mask = ragged(&[70, 33], 70);
    let (both_h, both_p) = grads(&h, Some(&mask), &p, 0.6, Backend::Fused);
    let only = |var_h: bool| {
        let (hv, pv) = (
            candle_core::Var::from_tensor(&h).unwrap(),
            candle_core::Var::from_tensor(&p).unwrap(),
        );
        let (ht, pt) = if var_h {
            (hv.as_tensor().clone(), p.clone())
        } else {
            (h.clone(), pv.as_tensor().clone())
        };
        let g = probe(&run(&ht, Some(&mask), &pt, 0.6, Backend::Fused), 99)
            .backward()
            .unwrap();
        let (gh, gp) = (g.get(&ht).cloned(), g.get(&pt).cloned());
        assert_eq!((gh.is_some(), gp.is_some()), (var_h, !var_h));
        gh.or(gp).unwrap()
    };
    assert_close("dL/dh alone", &only(true), &both_h, 0.0, 0.0);
    assert_close("dL/dp alone", &only(false), &both_p, 0.0, 0.0);
}

/// The vectorised f32 kernel (where this CPU has one) against the portable one, over the K and D
/// that exercise its lane tails and panels, with tokens on and next to prototypes (the
/// recomputation paths) and ragged masks: the same values up to f32 rounding.
#[test]
fn vector_kernel_matches_portable() {
    for (seed, k, d) in [
        (1, 1, 1),
        (2, 5, 7),
        (3, 16, 384),
        (4, 17, 8),
        (5, 33, 31),
        (6, 64, 16),
        (7, 65, 9),
    ] {
        let p = uniform(seed, &[k, d], 3.0, DType::F32);
        let mut hv = to_vec(&uniform(seed + 1, &[3, 40, d], 3.0, DType::F64));
        let pv = to_vec(&p);
        // rows 0, 3, 6, ... on a prototype, rows 1, 4, ... a hair away
        for row in 0..3 * 40 {
            let j = row % k;
            match row % 3 {
                0 => hv[row * d..(row + 1) * d].copy_from_slice(&pv[j * d..(j + 1) * d]),
                1 => hv[row * d..(row + 1) * d]
                    .iter_mut()
                    .zip(&pv[j * d..(j + 1) * d])
                    .for_each(|(h, &p)| *h = p + 1e-4),
                _ => {}
            }
        }
        let h = Tensor::from_vec(hv, (3, 40, d), &candle_core::Device::Cpu)
            .unwrap()
            .to_dtype(DType::F32)
            .unwrap();
        let mask = ragged(&[40, 23, 0], 40);
        let run_with = |simd: bool| {
            let cfg = config(0.7, Backend::Fused).with_simd(simd);
            assign(&h, Some(&mask), &p, &cfg).unwrap()
        };
        let (v, s) = (run_with(true), run_with(false));
        let what = |name: &str| format!("K={k} D={d} {name}");
        assert_close(&what("q"), &v.q, &s.q, 1e-6, 1e-5);
        assert_close(&what("dist"), &v.dist, &s.dist, 1e-4, 1e-5);
        assert_close(
            &what("losses"),
            &v.token_losses,
            &s.token_losses,
            1e-4,
            1e-5,
        );
        let (gv, gs) = (probe(&v, 3), probe(&s, 3));
        assert_close(&what("probe"), &gv, &gs, 1e-4, 1e-5);
    }
}
