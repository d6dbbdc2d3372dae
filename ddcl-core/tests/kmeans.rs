//! k-means++ seeding: deterministic picks among the real tokens, and typed errors for what it
//! cannot seed from.

mod common;

use candle_core::{DType, Device, Tensor};
use common::ragged;
use ddcl_core::{kmeans_pp, Error};

/// (3, 6, 5) hidden states and a mask of 4, 6 and 0 real tokens.
fn sample(dtype: DType) -> (Tensor, Tensor) {
    let h = Tensor::randn(0f64, 1., (3, 6, 5), &Device::Cpu)
        .unwrap()
        .to_dtype(dtype)
        .unwrap();
    (h, ragged(&[4, 6, 0], 6))
}

#[test]
fn kmeans_pp_picks_real_tokens_deterministically() {
    let (h, mask) = sample(DType::F32);
    let a = kmeans_pp(&h, Some(&mask), 5, 7).unwrap();
    let b = kmeans_pp(&h, Some(&mask), 5, 7).unwrap();
    assert_eq!(a.to_vec2::<f32>().unwrap(), b.to_vec2::<f32>().unwrap());
    let tokens: Vec<Vec<f32>> = h.flatten_to(1).unwrap().to_vec2().unwrap();
    let real: Vec<u8> = mask.flatten_all().unwrap().to_vec1().unwrap();
    for p in a.to_vec2::<f32>().unwrap() {
        let hit = tokens.iter().zip(&real).any(|(t, &m)| m == 1 && *t == p);
        assert!(hit, "prototype {p:?} is not a real token");
    }
    let err = kmeans_pp(&h, Some(&mask), 11, 0).unwrap_err();
    assert!(err.to_string().contains("at least K = 11"), "{err}");
}

#[test]
fn what_it_cannot_seed_from_is_a_typed_error() {
    let (h, mask) = sample(DType::F64);
    assert!(matches!(
        kmeans_pp(&h, Some(&mask), 0, 0),
        Err(Error::NoPrototypes)
    ));
    assert!(matches!(
        kmeans_pp(&h, Some(&mask), 11, 0),
        Err(Error::TooFewTokens { k: 11, real: 10 })
    ));
    let flat = h.flatten_to(1).unwrap();
    assert!(matches!(
        kmeans_pp(&flat, None, 2, 0),
        Err(Error::Shape { name: "hidden", .. })
    ));
    let no_features = Tensor::zeros((2, 3, 0), DType::F32, &Device::Cpu).unwrap();
    assert!(matches!(
        kmeans_pp(&no_features, None, 2, 0),
        Err(Error::Shape { name: "hidden", .. })
    ));
    let short = ragged(&[4, 6], 6);
    assert!(matches!(
        kmeans_pp(&h, Some(&short), 2, 0),
        Err(Error::Shape { name: "mask", .. })
    ));
    let ints = Tensor::zeros((2, 3, 4), DType::U32, &Device::Cpu).unwrap();
    assert!(matches!(
        kmeans_pp(&ints, None, 2, 0),
        Err(Error::DType { name: "hidden", .. })
    ));
    let nan = Tensor::new(
        &[[[0f32, 1.], [f32::NAN, 2.], [3., f32::INFINITY]]],
        &Device::Cpu,
    )
    .unwrap();
    assert!(matches!(
        kmeans_pp(&nan, None, 2, 0),
        Err(Error::NonFinite {
            name: "hidden",
            count: 2,
            first: 2
        })
    ));
}
