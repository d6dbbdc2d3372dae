//! The bad inputs of issue 17, each first reproduced: temperatures whose inverse overflows,
//! finite inputs whose squared distances overflow f32, diagnostics of NaN or empty banks, and
//! sizes that would abort on allocation. Both backends refuse them alike, with typed errors.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use ddcl_core::{
    assign, check_bank, kmeans_pp, AssignConfig, Backend, Error, Separation, Usage, MIN_TAU,
};

const BACKENDS: [Backend; 2] = [Backend::Reference, Backend::Fused];

/// The mean L_SQ of `h` against `p` at tau = 1 on each of [`BACKENDS`].
fn l_sq_per_backend(h: &Tensor, p: &Tensor) -> Vec<f64> {
    BACKENDS
        .iter()
        .map(|&backend| {
            let a = assign(h, None, p, &config(1.0, backend)).unwrap();
            a.losses.sq.to_scalar::<f64>().unwrap()
        })
        .collect()
}

#[test]
fn tiny_temperatures_are_refused() {
    // were accepted, and the reference path returned NaN q and losses
    for tau in [1e-45, 1e-300, MIN_TAU / 2.0] {
        let err = AssignConfig::new(tau).unwrap_err();
        assert!(
            matches!(err, Error::Temperature { tau: t, min } if t == tau && min == MIN_TAU),
            "{err}"
        );
    }
}

#[test]
fn the_smallest_temperature_gives_hard_finite_assignments_on_both_backends() {
    let h = uniform(1, &[2, 5, 3], 1.0, DType::F32);
    let p = uniform(2, &[4, 3], 1.0, DType::F32);
    let a: Vec<_> = BACKENDS
        .iter()
        .map(|&b| assign(&h, None, &p, &config(MIN_TAU, b)).unwrap())
        .collect();
    let q: Vec<Vec<f32>> = a
        .iter()
        .map(|a| a.q.flatten_all().unwrap().to_vec1().unwrap())
        .collect();
    assert!(q[0].iter().all(|v| *v == 0.0 || *v == 1.0), "{:?}", q[0]);
    assert_eq!(q[0], q[1]);
    for a in &a {
        let sq = a.losses.sq.to_scalar::<f32>().unwrap();
        assert!(sq.is_finite() && sq > 0.0);
    }
}

#[test]
fn inputs_whose_distances_overflow_are_refused_by_both_backends() {
    // finite f32 inputs scaled by 1e20: the reference gave NaN, the fused backend inf losses
    let h = (uniform(3, &[2, 4, 8], 1.0, DType::F32) * 1e20).unwrap();
    let p = (uniform(4, &[3, 8], 1.0, DType::F32) * 1e20).unwrap();
    for backend in BACKENDS {
        let err = assign(&h, None, &p, &config(1.0, backend)).unwrap_err();
        assert!(
            matches!(err, Error::Overflow { dtype: DType::F32, bound, .. } if bound > f32::MAX as f64),
            "{backend:?}: {err}"
        );
    }
    // the same values in f64 fit, and both backends agree on them
    let (h, p) = (
        h.to_dtype(DType::F64).unwrap(),
        p.to_dtype(DType::F64).unwrap(),
    );
    let sq = l_sq_per_backend(&h, &p);
    assert!(
        sq[0].is_finite() && (sq[0] - sq[1]).abs() <= 1e-12 * sq[1],
        "{sq:?}"
    );
}

#[test]
fn f64_inputs_whose_loss_sums_overflow_are_refused_by_both_backends() {
    // found by the assign fuzz target: f64 tokens near 3.2e153 and zero prototypes pass the
    // per-token bound (4 D m^2 ~ 1.6e308), but six tokens' terms summed to an infinite loss
    let (b, t, d) = (2usize, 3usize, 4usize);
    let h = Tensor::full(3.156e153f64, (b, t, d), &Device::Cpu).unwrap();
    let p = Tensor::zeros((3, d), DType::F64, &Device::Cpu).unwrap();
    for backend in BACKENDS {
        let err = assign(&h, None, &p, &config(1.0, backend)).unwrap_err();
        assert!(
            matches!(err, Error::Overflow { dtype: DType::F64, max, bound } if max == f64::MAX && bound > max),
            "{backend:?}: {err}"
        );
    }
    // one token's terms fit: accepted, finite and equal on both backends
    let h1 = h.narrow(0, 0, 1).unwrap().narrow(1, 0, 1).unwrap();
    let sq = l_sq_per_backend(&h1, &p);
    assert!(sq.iter().all(|x| x.is_finite()) && sq[0] == sq[1], "{sq:?}");
}

#[test]
fn large_finite_inputs_below_the_bound_stay_finite_on_both_backends() {
    // 4 D (|h| + |p|)^2 just under f32::MAX: every output finite on both paths
    let d = 8usize;
    let scale = ((f32::MAX as f64) / (4.0 * d as f64)).sqrt() / 2.0 * 0.99;
    let h = (uniform(5, &[1, 6, d], 1.0, DType::F32) * scale).unwrap();
    let p = (uniform(6, &[3, d], 1.0, DType::F32) * scale).unwrap();
    for backend in BACKENDS {
        let a = assign(&h, None, &p, &config(1.0, backend)).unwrap();
        for t in [&a.q, &a.dist, &a.token_losses] {
            let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            assert!(v.iter().all(|x| x.is_finite()), "{backend:?}");
        }
        let sq = a.losses.sq.to_scalar::<f32>().unwrap();
        assert!(sq.is_finite(), "{backend:?}: {sq}");
    }
}

#[test]
fn non_finite_hidden_states_are_refused_before_any_work() {
    let mut v = vec![0.5f32; 2 * 3 * 4];
    v[13] = f32::INFINITY;
    let h = Tensor::from_vec(v, (2, 3, 4), &Device::Cpu).unwrap();
    let p = uniform(2, &[2, 4], 1.0, DType::F32);
    for backend in BACKENDS {
        let err = assign(&h, None, &p, &config(1.0, backend)).unwrap_err();
        assert!(
            matches!(
                err,
                Error::NonFinite {
                    name: "hidden",
                    count: 1,
                    first: 13
                }
            ),
            "{err}"
        );
    }
}

#[test]
fn separation_of_nan_or_no_prototypes_is_an_error() {
    // were Ok(inf, NaN) and Ok(0, 0)
    let nan = Tensor::new(&[[0f32, f32::NAN], [1., 1.], [2., 2.]], &Device::Cpu).unwrap();
    let err = Separation::of(&nan).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFinite {
                name: "prototypes",
                count: 1,
                first: 1
            }
        ),
        "{err}"
    );
    let empty = Tensor::zeros((0, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(Separation::of(&empty), Err(Error::NoPrototypes)));
}

#[test]
fn sizes_beyond_the_caps_are_typed_errors_not_aborts() {
    assert!(matches!(Usage::new(0, 0.01), Err(Error::NoPrototypes)));
    let err = Usage::new(1_000_000_000_000, 0.01).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooLarge {
                value: 1_000_000_000_000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("prototypes"), "{err}");
    assert!(matches!(
        check_bank(usize::MAX, usize::MAX),
        Err(Error::TooLarge { .. })
    ));
    let h = uniform(7, &[1, 4, 2], 1.0, DType::F32);
    assert!(matches!(
        kmeans_pp(&h, None, 0, 0),
        Err(Error::NoPrototypes)
    ));
    assert!(matches!(
        kmeans_pp(&h, None, 1 << 40, 0),
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(
        Error::NoPrototypes.to_string(),
        "prototypes: K must be at least 1, got 0"
    );
}

#[test]
fn f16_reference_refuses_a_temperature_whose_inverse_it_cannot_hold() {
    let h = uniform(8, &[1, 3, 2], 1.0, DType::F16);
    let p = uniform(9, &[2, 2], 1.0, DType::F16);
    let cfg = AssignConfig::new(1e-6)
        .unwrap()
        .with_backend(Backend::Reference);
    let err = assign(&h, None, &p, &cfg).unwrap_err();
    assert!(
        matches!(err, Error::Temperature { min, .. } if min > 1e-5),
        "{err}"
    );
    let a = assign(
        &h,
        None,
        &p,
        &AssignConfig::new(1e-4)
            .unwrap()
            .with_backend(Backend::Reference),
    )
    .unwrap();
    let q: Vec<f32> =
        a.q.to_dtype(DType::F32)
            .unwrap()
            .flatten_all()
            .unwrap()
            .to_vec1()
            .unwrap();
    assert!(q.iter().all(|v| v.is_finite()));
}
