//! The Gram matrix of a small bank of rows in f64: an AVX-512 kernel where the CPU has one, the
//! gemm crate elsewhere.

use crate::cpu::matmul;

/// G = W W^T (K x K, row-major) of the rows of `w` (K x D), symmetric to the last bit: the
/// AVX-512 kernel where the CPU has one (the gemm crate's fixed cost per call is most of a
/// product this small: 6.5 µs of the forward at K = 16, D = 384), the gemm crate elsewhere.
pub(crate) fn gram(w: &[f64], k: usize, d: usize) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    if let Some(g) = avx512::gram(w, k, d) {
        return g;
    }
    let mut g = vec![0f64; k * k];
    matmul(&mut g, false, (k, k, d), w, (d, 1), w, (1, d), 1.0);
    g
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use std::arch::x86_64::*;

    use crate::fused::lanes::{tail8, LANES};

    /// The Gram matrix `W W^T` (K x K, row-major, symmetric to the last bit) of the rows of `w`
    /// (K x D) in f64, or `None` when this CPU lacks AVX-512F.
    pub(crate) fn gram(w: &[f64], k: usize, d: usize) -> Option<Vec<f64>> {
        if !is_x86_feature_detected!("avx512f") || w.len() != k * d {
            return None;
        }
        let mut g = vec![0f64; k * k];
        // SAFETY: AVX-512F was detected above; `w` holds K rows of D.
        unsafe { gram_upper(w, k, d, &mut g) };
        Some(g)
    }

    /// Fills `g` from its upper triangle: four dot products per pass over row j, each mirrored.
    #[target_feature(enable = "avx512f")]
    unsafe fn gram_upper(w: &[f64], k: usize, d: usize, g: &mut [f64]) {
        const AT_ONCE: usize = 4;
        let row = |j: usize| w.as_ptr().add(j * d);
        for j in 0..k {
            for first in (j..k).step_by(AT_ONCE) {
                // columns past K repeat row j; their sums are dropped
                let cols: [usize; AT_ONCE] =
                    std::array::from_fn(|c| if first + c < k { first + c } else { j });
                let mut acc = [_mm512_setzero_pd(); AT_ONCE];
                for at in (0..d).step_by(LANES) {
                    let m = tail8(d - at);
                    let x = _mm512_maskz_loadu_pd(m, row(j).add(at));
                    for (acc, &l) in acc.iter_mut().zip(&cols) {
                        let y = _mm512_maskz_loadu_pd(m, row(l).add(at));
                        *acc = _mm512_fmadd_pd(x, y, *acc);
                    }
                }
                for (c, acc) in acc.into_iter().enumerate().take(k - first) {
                    let v = _mm512_reduce_add_pd(acc);
                    g[j * k + first + c] = v;
                    g[(first + c) * k + j] = v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gram_matches_the_plain_product_and_is_symmetric() {
        for (k, d) in [(1, 1), (3, 7), (5, 8), (16, 384), (17, 9), (6, 33)] {
            let w: Vec<f64> = (0..k * d)
                .map(|i| ((i * 7919 % 1009) as f64 - 504.0) / 97.0)
                .collect();
            let g = gram(&w, k, d);
            let mut want = vec![0f64; k * k];
            matmul(&mut want, false, (k, k, d), &w, (d, 1), &w, (1, d), 1.0);
            for j in 0..k {
                for l in 0..k {
                    let (got, want) = (g[j * k + l], want[j * k + l]);
                    assert!(
                        (got - want).abs() <= 1e-12 * want.abs().max(1.0),
                        "{k}x{d} ({j},{l})"
                    );
                    assert_eq!(got.to_bits(), g[l * k + j].to_bits());
                }
            }
        }
    }
}
