//! Masks: ragged rows, rows of padding only, and padding that never leaks into results.

mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::*;
use ddcl_core::{Backend, Summary};

const BACKENDS: [Backend; 2] = [Backend::Reference, Backend::Fused];
const SUMMARIES: [Summary; 4] = [
    Summary::Occupancy,
    Summary::Mixture,
    Summary::Slots,
    Summary::Residual,
];

fn all_finite(t: &Tensor) -> bool {
    to_vec(t).iter().all(|v| v.is_finite())
}

/// `h` with its padding positions overwritten by `value`.
fn poison(h: &Tensor, mask: &Tensor, value: f64) -> Tensor {
    let fill = Tensor::full(value, h.shape(), h.device())
        .unwrap()
        .to_dtype(h.dtype())
        .unwrap();
    let real = mask.unsqueeze(2).unwrap().broadcast_as(h.shape()).unwrap();
    real.where_cond(h, &fill).unwrap()
}

#[test]
fn padding_never_leaks() {
    let (t, d, k) = (6, 4, 3);
    let mask = ragged(&[6, 2, 0], t);
    let h = uniform(1, &[3, t, d], 1.0, DType::F64);
    let p = uniform(2, &[k, d], 1.0, DType::F64);
    for backend in BACKENDS {
        let clean = run(&h, Some(&mask), &p, 0.7, backend);
        for value in [f64::NAN, f64::INFINITY, 1e30] {
            let dirty = poison(&h, &mask, value);
            let a = run(&dirty, Some(&mask), &p, 0.7, backend);
            assert_close("q", &a.q, &clean.q, 0.0, 0.0);
            assert_close(
                "token losses",
                &a.token_losses,
                &clean.token_losses,
                0.0,
                0.0,
            );
            assert_close("L_SQ", &a.losses.sq, &clean.losses.sq, 0.0, 0.0);
            for s in SUMMARIES {
                let got = a.summary(s, &dirty, &p).unwrap();
                let want = clean.summary(s, &h, &p).unwrap();
                assert_close(&format!("{s:?}"), &got, &want, 0.0, 0.0);
            }
            let hv = Var::from_tensor(&dirty).unwrap();
            let a = run(hv.as_tensor(), Some(&mask), &p, 0.7, backend);
            let loss = (probe(&a, 3) + a.mixture(&p).unwrap().sum_all().unwrap()).unwrap();
            let g = loss.backward().unwrap();
            let gh = g.get(hv.as_tensor()).unwrap();
            assert!(
                all_finite(gh),
                "{backend:?}: gradient not finite with padding {value}"
            );
            let on_padding = (1.0 - mask.to_dtype(DType::F64).unwrap()).unwrap();
            let leaked = gh.abs().unwrap().sum(2).unwrap().mul(&on_padding).unwrap();
            assert_eq!(leaked.sum_all().unwrap().to_scalar::<f64>().unwrap(), 0.0);
        }
    }
}

#[test]
fn all_padding_rows_give_zeros() {
    let (t, d, k) = (5, 3, 4);
    let mask = ragged(&[0, 3], t);
    let h = uniform(3, &[2, t, d], 1.0, DType::F32);
    let p = uniform(4, &[k, d], 1.0, DType::F32);
    for backend in BACKENDS {
        let a = run(&h, Some(&mask), &p, 1.0, backend);
        for s in SUMMARIES {
            let v = a.summary(s, &h, &p).unwrap().get(0).unwrap();
            assert!(
                to_vec(&v).iter().all(|&x| x == 0.0),
                "{backend:?} {s:?}: {v}"
            );
        }
        assert!(to_vec(&a.q.get(0).unwrap()).iter().all(|&x| x == 0.0));
        // a batch of padding only: losses are 0, not NaN
        let none = Tensor::zeros((2, t), DType::U8, &Device::Cpu).unwrap();
        let a = run(&h, Some(&none), &p, 1.0, backend);
        for l in [&a.losses.sq, &a.losses.ols, &a.losses.var] {
            assert_eq!(l.to_scalar::<f32>().unwrap(), 0.0);
        }
        assert_eq!(a.losses.relative_violation().unwrap(), 0.0);
    }
}

#[test]
fn ragged_batch_equals_sequences_alone() {
    let (t, d, k) = (7, 5, 3);
    let lens = [7, 4, 1];
    let mask = ragged(&lens, t);
    let h = uniform(5, &[3, t, d], 1.0, DType::F64);
    let p = uniform(6, &[k, d], 1.0, DType::F64);
    for backend in BACKENDS {
        let batch = run(&h, Some(&mask), &p, 0.5, backend);
        for (b, &len) in lens.iter().enumerate() {
            let alone = h
                .get(b)
                .unwrap()
                .narrow(0, 0, len)
                .unwrap()
                .unsqueeze(0)
                .unwrap();
            let a = run(&alone, None, &p, 0.5, backend);
            for s in SUMMARIES {
                let got = batch.summary(s, &h, &p).unwrap().get(b).unwrap();
                let want = a.summary(s, &alone, &p).unwrap().get(0).unwrap();
                assert_close(
                    &format!("{backend:?} {s:?} row {b}"),
                    &got,
                    &want,
                    1e-14,
                    1e-12,
                );
            }
        }
    }
}

#[test]
fn mask_of_any_dtype() {
    let h = uniform(7, &[2, 4, 3], 1.0, DType::F32);
    let p = uniform(8, &[2, 3], 1.0, DType::F32);
    let u8_mask = ragged(&[4, 2], 4);
    let want = run(&h, Some(&u8_mask), &p, 1.0, Backend::Fused);
    for dtype in [DType::U32, DType::I64, DType::F32, DType::F64] {
        let m = u8_mask.to_dtype(dtype).unwrap();
        let got = run(&h, Some(&m), &p, 1.0, Backend::Fused);
        assert_close(&format!("{dtype:?}"), &got.q, &want.q, 0.0, 0.0);
    }
}
