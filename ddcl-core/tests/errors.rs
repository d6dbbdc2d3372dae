//! Every bad input returns its typed error, on both backends, without panicking.

mod common;

use candle_core::{DType, Device, Tensor};
use common::*;
use ddcl_core::{assign, AssignConfig, Backend, Error, Timescale, Usage};

fn try_assign(h: &Tensor, mask: Option<&Tensor>, p: &Tensor, backend: Backend) -> Error {
    assign(h, mask, p, &config(1.0, backend)).unwrap_err()
}

#[test]
fn temperature_must_be_finite_and_positive() {
    for tau in [0.0, -1.0, f64::NAN, f64::INFINITY, -0.0] {
        assert!(
            matches!(AssignConfig::new(tau), Err(Error::Temperature { .. })),
            "{tau}"
        );
    }
}

#[test]
fn shapes_are_checked() {
    let h = uniform(1, &[2, 3, 4], 1.0, DType::F32);
    let p = uniform(2, &[5, 4], 1.0, DType::F32);
    for backend in [Backend::Reference, Backend::Fused] {
        let cases: Vec<(&str, Tensor, Option<Tensor>, Tensor)> = vec![
            ("hidden", h.flatten_all().unwrap(), None, p.clone()),
            (
                "hidden",
                uniform(3, &[2, 0, 4], 1.0, DType::F32),
                None,
                p.clone(),
            ),
            (
                "hidden",
                uniform(3, &[0, 3, 4], 1.0, DType::F32),
                None,
                p.clone(),
            ),
            (
                "prototypes",
                h.clone(),
                None,
                uniform(4, &[5, 3], 1.0, DType::F32),
            ),
            ("prototypes", h.clone(), None, h.clone()),
            ("mask", h.clone(), Some(ragged(&[3, 3, 3], 3)), p.clone()),
            ("mask", h.clone(), Some(ragged(&[3, 3], 4)), p.clone()),
        ];
        for (name, h, mask, p) in cases {
            match try_assign(&h, mask.as_ref(), &p, backend) {
                Error::Shape { name: got, .. } => assert_eq!(got, name),
                other => panic!("{name}: expected a shape error, got {other}"),
            }
        }
        let empty = Tensor::zeros((0, 4), DType::F32, &Device::Cpu).unwrap();
        assert!(matches!(
            try_assign(&h, None, &empty, backend),
            Error::NoPrototypes
        ));
    }
}

#[test]
fn dtypes_are_checked() {
    let h = uniform(1, &[2, 3, 4], 1.0, DType::F32);
    let p = uniform(2, &[5, 4], 1.0, DType::F32);
    let err = try_assign(&h, None, &p.to_dtype(DType::F64).unwrap(), Backend::Fused);
    assert!(
        matches!(
            err,
            Error::DType {
                name: "prototypes",
                ..
            }
        ),
        "{err}"
    );
    let ids = Tensor::zeros((2, 3, 4), DType::U32, &Device::Cpu).unwrap();
    let err = try_assign(&ids, None, &p, Backend::Reference);
    assert!(matches!(err, Error::DType { name: "hidden", .. }), "{err}");
    // bf16 runs on the reference path but is not a fused kernel type
    let (hb, pb) = (
        h.to_dtype(DType::BF16).unwrap(),
        p.to_dtype(DType::BF16).unwrap(),
    );
    assert!(assign(&hb, None, &pb, &config(1.0, Backend::Reference)).is_ok());
    let err = try_assign(&hb, None, &pb, Backend::Fused);
    assert!(matches!(err, Error::DType { name: "hidden", .. }), "{err}");
}

#[test]
fn non_finite_inputs_are_reported_where_checked() {
    // f32 runs the vectorised kernel where the CPU has one, f64 the portable one
    for dtype in [DType::F64, DType::F32] {
        let mut v = to_vec(&uniform(1, &[2, 3, 4], 1.0, DType::F64));
        v[13] = f64::NAN;
        v[20] = f64::NEG_INFINITY;
        let h = Tensor::from_vec(v, (2, 3, 4), &Device::Cpu)
            .and_then(|t| t.to_dtype(dtype))
            .unwrap();
        let p = uniform(2, &[5, 4], 1.0, dtype);
        for backend in [Backend::Reference, Backend::Fused] {
            match try_assign(&h, None, &p, backend) {
                Error::NonFinite { name, count, first } => {
                    assert_eq!((name, count, first), ("hidden", 2, 13));
                }
                other => panic!("expected NonFinite, got {other}"),
            }
            // the same values in padding rows are no error
            let mask = Tensor::new(&[[1u8, 1, 1], [0, 1, 0]], &Device::Cpu).unwrap();
            let a = assign(&h, Some(&mask), &p, &config(1.0, backend)).unwrap();
            assert!(to_vec(&a.losses.sq)[0].is_finite());
            let mut pv = to_vec(&p);
            pv[7] = f64::INFINITY;
            let bad_p = Tensor::from_vec(pv, (5, 4), &Device::Cpu)
                .and_then(|t| t.to_dtype(dtype))
                .unwrap();
            let clean_h = uniform(1, &[2, 3, 4], 1.0, dtype);
            assert!(matches!(
                try_assign(&clean_h, None, &bad_p, backend),
                Error::NonFinite {
                    name: "prototypes",
                    count: 1,
                    first: 7
                }
            ));
            // with checks off the call goes through (NaN in, NaN out)
            let cfg = config(1.0, backend).with_check_finite(false);
            assert!(assign(&h, None, &p, &cfg).is_ok());
        }
    }
}

#[test]
fn hyper_parameters_are_checked() {
    let occ = [0.5, 0.5];
    for (eta_e, eta_p, eps_max) in [(0.0, 1.0, 0.1), (1.0, -1.0, 0.1), (1.0, 1.0, f64::NAN)] {
        assert!(matches!(
            Timescale::check(eta_e, eta_p, &occ, eps_max),
            Err(Error::NotPositive { .. })
        ));
    }
    assert!(matches!(
        Timescale::check(1.0, 1.0, &[], 0.1),
        Err(Error::NoPrototypes)
    ));
    assert!(matches!(
        Timescale::check(1.0, 1.0, &[1.5], 0.1),
        Err(Error::NotPositive { .. })
    ));
    assert!(matches!(Usage::new(0, 0.1), Err(Error::NoPrototypes)));
    assert!(matches!(Usage::new(3, 1.0), Err(Error::NotPositive { .. })));
    let mut usage = Usage::new(3, 0.1).unwrap();
    let h = uniform(1, &[1, 2, 4], 1.0, DType::F32);
    let a = run(
        &h,
        None,
        &uniform(2, &[2, 4], 1.0, DType::F32),
        1.0,
        Backend::Fused,
    );
    assert!(matches!(
        usage.add(&a),
        Err(Error::Shape {
            name: "assignment",
            ..
        })
    ));
}

#[test]
fn non_finite_check_on_the_generic_path() {
    // bf16 takes the plain-candle check; NaN on padding is fine, NaN on a real token is not.
    let mut v = to_vec(&uniform(1, &[2, 3, 4], 1.0, DType::F64));
    v[20] = f64::NAN;
    let h = Tensor::from_vec(v, (2, 3, 4), &Device::Cpu)
        .unwrap()
        .to_dtype(DType::BF16)
        .unwrap();
    let p = uniform(2, &[5, 4], 1.0, DType::BF16);
    let padded = ragged(&[3, 2], 3);
    let cfg = config(1.0, Backend::Reference);
    assert!(assign(&h, Some(&padded), &p, &cfg).is_ok());
    match assign(&h, None, &p, &cfg).unwrap_err() {
        Error::NonFinite { name, count, first } => {
            assert_eq!((name, count, first), ("hidden", 1, 20))
        }
        other => panic!("expected NonFinite, got {other}"),
    }
}
