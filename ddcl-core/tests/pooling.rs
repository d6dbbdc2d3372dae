//! The one-pass poolings against the candle-op chains they replace: the same outputs bit for
//! bit, the same gradients, finite differences, ties of the maximum, padding that never leaks,
//! the candle path for other dtypes and typed errors.

mod candle_pooling;
mod common;

use candle_core::{DType, Device, Tensor, Var};
use common::*;
use ddcl_core::{last_token, masked_max, masked_mean, masked_mean_sqrt_len, masked_weighted_mean};
use ddcl_core::{Error, Result};

type Fast = fn(&Tensor, Option<&Tensor>) -> Result<Tensor>;
type Slow = fn(&Tensor, &Tensor) -> candle_core::Result<Tensor>;

/// Each pooling with the candle-op chain it replaces.
const POOLINGS: [(&str, Fast, Slow); 5] = [
    ("mean", masked_mean, candle_pooling::mean),
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
    ("max", masked_max, candle_pooling::max),
    ("last_token", last_token, candle_pooling::last_token),
];

/// A (B, T = 11) mask of u8: all real, padding at the end, no real token, padding at the
/// start (one real token, the last), gaps in the middle, one real token in the middle.
fn mixed_mask() -> Tensor {
    let rows: [&str; 6] = [
        "11111111111",
        "11100000000",
        "00000000000",
        "00000000001",
        "10110010110",
        "00001000000",
    ];
    let v: Vec<u8> = rows
        .iter()
        .flat_map(|r| r.bytes().map(|c| c - b'0'))
        .collect();
    Tensor::from_vec(v, (rows.len(), 11), &Device::Cpu).unwrap()
}

/// Values with -0.0 read as 0.0 (the candle max of a row without real tokens is
/// `f32::MIN * 0 = -0`), to compare bit for bit.
fn bits(t: &Tensor) -> Vec<u64> {
    to_vec(t).iter().map(|&v| (v + 0.0).to_bits()).collect()
}

#[test]
fn outputs_equal_the_candle_chains_bit_for_bit() {
    let mask = mixed_mask();
    let (b, t) = mask.dims2().unwrap();
    for dtype in [DType::F32, DType::F64] {
        let h = uniform(1, &[b, t, 9], 3.0, dtype);
        let m = mask.to_dtype(dtype).unwrap();
        for (name, fast, slow) in POOLINGS {
            let want = bits(&slow(&h, &m).unwrap());
            assert_eq!(
                bits(&fast(&h, Some(&mask)).unwrap()),
                want,
                "{name} {dtype:?}"
            );
            // the mask in h's dtype, as ddcl-readout passes it
            assert_eq!(bits(&fast(&h, Some(&m)).unwrap()), want, "{name} {dtype:?}");
        }
    }
}

#[test]
fn no_mask_is_every_token_real() {
    let h = uniform(2, &[3, 7, 5], 1.0, DType::F32);
    let ones = Tensor::ones((3, 7), DType::U8, &Device::Cpu).unwrap();
    for (name, fast, _) in POOLINGS {
        let all = fast(&h, Some(&ones)).unwrap();
        assert_eq!(bits(&fast(&h, None).unwrap()), bits(&all), "{name}");
    }
    let last = h.narrow(1, 6, 1).unwrap().squeeze(1).unwrap();
    assert_eq!(bits(&last_token(&h, None).unwrap()), bits(&last));
}

#[test]
fn long_sequences_split_across_threads_with_the_same_values() {
    // fewer sequences than threads, each of T x D >= 2^19 values: each sequence's features are
    // split across threads
    let (t, d) = (4000, 133);
    for lens in [&[4000][..], &[1500, 0]] {
        let b = lens.len();
        let mask = ragged(lens, t);
        for dtype in [DType::F32, DType::F64] {
            let h = uniform(13, &[b, t, d], 3.0, dtype);
            let m = mask.to_dtype(dtype).unwrap();
            for (name, fast, slow) in POOLINGS {
                let on = |threads: usize| {
                    let pool = rayon::ThreadPoolBuilder::new()
                        .num_threads(threads)
                        .build()
                        .unwrap();
                    pool.install(|| bits(&fast(&h, Some(&mask)).unwrap()))
                };
                let one = on(1);
                assert_eq!(one, on(5), "{name} {dtype:?} lens {lens:?}");
                assert_eq!(one, bits(&slow(&h, &m).unwrap()), "{name} {dtype:?}");
            }
        }
    }
}

/// `sum(pool(h) * w)` and its gradient with respect to `h`.
fn loss_and_grad(pool: impl Fn(&Tensor) -> Tensor, h: &Tensor, w: &Tensor) -> (f64, Tensor) {
    let v = Var::from_tensor(h).unwrap();
    let loss = (pool(v.as_tensor()) * w).unwrap().sum_all().unwrap();
    let g = loss.backward().unwrap();
    let value = loss.to_dtype(DType::F64).unwrap().to_scalar().unwrap();
    (value, g.get(v.as_tensor()).unwrap().clone())
}

#[test]
fn gradients_equal_the_candle_graphs() {
    let mask = mixed_mask();
    let (b, t) = mask.dims2().unwrap();
    for dtype in [DType::F32, DType::F64] {
        let h = uniform(3, &[b, t, 6], 2.0, dtype);
        let w = uniform(4, &[b, 6], 1.0, dtype);
        let m = mask.to_dtype(dtype).unwrap();
        for (name, fast, slow) in POOLINGS {
            let (_, got) = loss_and_grad(|h| fast(h, Some(&mask)).unwrap(), &h, &w);
            let (_, want) = loss_and_grad(|h| slow(h, &m).unwrap(), &h, &w);
            assert_eq!(bits(&got), bits(&want), "{name} {dtype:?}");
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let mask = mixed_mask();
    let (b, t, d) = (6, 11, 3);
    let h = uniform(5, &[b, t, d], 1.0, DType::F64);
    let w = uniform(6, &[b, d], 1.0, DType::F64);
    let values = to_vec(&h);
    let eps = 1e-6;
    for (name, fast, _) in POOLINGS {
        let pool = |h: &Tensor| fast(h, Some(&mask)).unwrap();
        let (_, grad) = loss_and_grad(pool, &h, &w);
        let grad = to_vec(&grad);
        let at = |i: usize, step: f64| {
            let mut v = values.clone();
            v[i] += step;
            let h = Tensor::from_vec(v, (b, t, d), &Device::Cpu).unwrap();
            loss_and_grad(pool, &h, &w).0
        };
        for (i, g) in grad.iter().enumerate() {
            let fd = (at(i, eps) - at(i, -eps)) / (2.0 * eps);
            assert!((fd - g).abs() < 1e-8, "{name} at {i}: fd {fd}, grad {g}");
        }
    }
}

#[test]
fn max_ties_send_the_full_gradient_to_each_tied_token() {
    // feature 0: tokens 0 and 1 tie at 1; feature 1: tokens 1 and 2 tie at 5; token 3 is
    // padding and larger than both
    let h = Tensor::new(&[[[1f64, 2.], [1., 5.], [0., 5.], [9., 9.]]], &Device::Cpu).unwrap();
    let mask = Tensor::new(&[[1u8, 1, 1, 0]], &Device::Cpu).unwrap();
    let w = Tensor::new(&[[2f64, 3.]], &Device::Cpu).unwrap();
    let (loss, grad) = loss_and_grad(|h| masked_max(h, Some(&mask)).unwrap(), &h, &w);
    assert_eq!(loss, 2. * 1. + 3. * 5.);
    let want = [[2., 0.], [2., 3.], [0., 3.], [0., 0.]];
    assert_eq!(grad.squeeze(0).unwrap().to_vec2::<f64>().unwrap(), want);
    let m = mask.to_dtype(DType::F64).unwrap();
    let (_, candle) = loss_and_grad(|h| candle_pooling::max(h, &m).unwrap(), &h, &w);
    assert_eq!(bits(&grad), bits(&candle));
}

#[test]
fn padding_never_leaks() {
    let mask = mixed_mask();
    let (b, t) = mask.dims2().unwrap();
    let h = uniform(7, &[b, t, 4], 1.0, DType::F32);
    let w = uniform(8, &[b, 4], 1.0, DType::F32);
    let real = mask.unsqueeze(2).unwrap().broadcast_as(h.shape()).unwrap();
    for value in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, 1e30] {
        let fill = Tensor::full(value as f32, h.shape(), &Device::Cpu).unwrap();
        let dirty = real.where_cond(&h, &fill).unwrap();
        for (name, fast, _) in POOLINGS {
            let pool = |h: &Tensor| fast(h, Some(&mask)).unwrap();
            let (_, clean_grad) = loss_and_grad(pool, &h, &w);
            let (_, dirty_grad) = loss_and_grad(pool, &dirty, &w);
            assert_eq!(bits(&pool(&dirty)), bits(&pool(&h)), "{name} {value}");
            assert_eq!(bits(&dirty_grad), bits(&clean_grad), "{name} {value}");
        }
    }
}

#[test]
fn other_dtypes_take_the_candle_path() {
    let mask = mixed_mask();
    let (b, t) = mask.dims2().unwrap();
    let h = uniform(9, &[b, t, 5], 1.0, DType::F32);
    let w = uniform(10, &[b, 5], 1.0, DType::F32);
    for dtype in [DType::BF16, DType::F16] {
        let (hl, wl) = (h.to_dtype(dtype).unwrap(), w.to_dtype(dtype).unwrap());
        for (name, fast, _) in POOLINGS {
            let kernel = fast(&h, Some(&mask)).unwrap();
            let generic = fast(&hl, Some(&mask)).unwrap();
            assert_eq!(generic.dtype(), dtype);
            assert_close(name, &generic, &kernel, 2e-2, 2e-2);
            let (_, kernel_grad) = loss_and_grad(|h| fast(h, Some(&mask)).unwrap(), &h, &w);
            let (_, generic_grad) = loss_and_grad(|h| fast(h, Some(&mask)).unwrap(), &hl, &wl);
            assert_close(name, &generic_grad, &kernel_grad, 2e-2, 2e-2);
        }
    }
}

#[test]
fn bad_inputs_are_typed_errors() {
    let h = uniform(11, &[2, 3, 4], 1.0, DType::F32);
    for (name, fast, _) in POOLINGS {
        let shape = |h: &Tensor, mask: Option<&Tensor>| match fast(h, mask) {
            Err(Error::Shape { name, .. }) => name,
            other => panic!("{name}: expected a shape error, got {other:?}"),
        };
        assert_eq!(shape(&h.flatten_from(1).unwrap(), None), "hidden");
        assert_eq!(
            shape(&uniform(3, &[2, 0, 4], 1.0, DType::F32), None),
            "hidden"
        );
        assert_eq!(
            shape(&uniform(3, &[2, 3, 0], 1.0, DType::F32), None),
            "hidden"
        );
        assert_eq!(shape(&h, Some(&ragged(&[3, 3, 3], 3))), "mask");
        assert_eq!(shape(&h, Some(&ragged(&[3, 3], 4))), "mask");
        let ints = h.to_dtype(DType::U32).unwrap();
        assert!(
            matches!(fast(&ints, None), Err(Error::DType { name: "hidden", .. })),
            "{name}"
        );
    }
}
