//! L_SQ = L_OLS + V, checked per token and on the masked means, over generated shapes.

mod common;

use candle_core::{DType, Tensor};
use common::*;
use ddcl_core::assign;
use proptest::prelude::*;

/// Hidden states whose odd rows sit on or next to a prototype: where the expansion
/// ||h||^2 - 2 h.p + ||p||^2 cancels worst.
fn near_prototypes(h: &Tensor, p: &Tensor, jitter: f64, seed: u64) -> Tensor {
    let (b, t, d) = h.dims3().unwrap();
    let k = p.dims2().unwrap().0;
    let mut hv = to_vec(h);
    let pv = to_vec(p);
    let noise = to_vec(&uniform(seed, &[b * t * d], 1.0, DType::F64));
    for row in (1..b * t).step_by(2) {
        let j = row % k;
        for i in 0..d {
            hv[row * d + i] = pv[j * d + i] * (1.0 + jitter * noise[row * d + i]);
        }
    }
    Tensor::from_vec(hv, (b, t, d), h.device())
        .unwrap()
        .to_dtype(h.dtype())
        .unwrap()
}

#[allow(clippy::too_many_arguments)]
fn check(
    dtype: DType,
    kernel: u8,
    (b, t, d, k): (usize, usize, usize, usize),
    log_tau: f64,
    h_scale: f64,
    p_scale: f64,
    jitter: Option<f64>,
    seed: u64,
) -> Result<(), TestCaseError> {
    let tau = 10f64.powf(log_tau);
    let p = uniform(seed + 1, &[k, d], p_scale, dtype);
    let mut h = uniform(seed, &[b, t, d], h_scale, dtype);
    if let Some(j) = jitter {
        h = near_prototypes(&h, &p, j, seed + 2);
    }
    let lens: Vec<usize> = (0..b).map(|i| (t + i) % (t + 1)).collect();
    let mask = ragged(&lens, t);
    let a = assign(&h, Some(&mask), &p, &implementation(kernel, tau)).unwrap();
    // Tolerance in units of L_SQ: a few ulps in f64, 1e-5 in f32; plus a few of the smallest
    // subnormals, whose spacing is absolute (a token on a prototype with the others far away
    // has L_SQ ~ 1e-310, where relative precision no longer exists).
    let (tol, tiny) = if dtype == DType::F64 {
        (8.0 * f64::EPSILON, f64::from_bits(1))
    } else {
        (1e-5, f32::from_bits(1) as f64)
    };
    let per_token = to_vec(&a.token_losses);
    for (i, row) in per_token.chunks_exact(3).enumerate() {
        let (sq, ols, var) = (row[0], row[1], row[2]);
        prop_assert!(ols >= 0.0 && var >= 0.0, "token {i}: negative term {row:?}");
        prop_assert!(
            (sq - ols - var).abs() <= tol * sq + 4.0 * tiny,
            "token {i}: L_SQ {sq} L_OLS {ols} V {var}: residual {} > {tol} L_SQ",
            (sq - ols - var).abs() / sq
        );
    }
    let violation = a.losses.relative_violation().unwrap();
    prop_assert!(violation <= tol, "batch violation {violation}");
    Ok(())
}

fn shapes() -> impl Strategy<Value = (usize, usize, usize, usize)> {
    (1usize..4, 1usize..10, 1usize..7, 1usize..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn identity_f64(
        dims in shapes(),
        log_tau in -3.0f64..3.0,
        log_h in -2.0f64..4.0,
        log_p in -2.0f64..4.0,
        jitter in prop::option::of(prop_oneof![Just(0.0), 1e-9f64..1e-3]),
        seed in any::<u64>(),
        kernel in 0u8..3,
    ) {
        check(DType::F64, kernel, dims, log_tau, 10f64.powf(log_h), 10f64.powf(log_p), jitter, seed)?;
    }

    #[test]
    fn identity_f32(
        dims in shapes(),
        log_tau in -3.0f64..3.0,
        log_h in -2.0f64..4.0,
        log_p in -2.0f64..4.0,
        jitter in prop::option::of(prop_oneof![Just(0.0), 1e-6f64..1e-2]),
        seed in any::<u64>(),
        kernel in 0u8..3,
    ) {
        check(DType::F32, kernel, dims, log_tau, 10f64.powf(log_h), 10f64.powf(log_p), jitter, seed)?;
    }
}
