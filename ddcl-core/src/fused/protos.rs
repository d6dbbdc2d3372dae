//! Per-call quantities of the prototype bank, shared by the fused forward and backward.

use super::elem::{matmul, Elem};
use super::forward::{exact_distance, CANCEL};

/// The prototypes centred on their mean, with their norms, Gram matrix and pairwise distances.
///
/// Distances are translation invariant, so the kernels work in the frame centred on
/// `c = mean_k p_k`: the expansion `||h-c||^2 - 2 (h-c).(p_k-c) + ||p_k-c||^2` then cancels far
/// less than the raw one when the hidden states share a large offset.
pub(crate) struct Protos<E> {
    pub k: usize,
    pub d: usize,
    /// c, (D).
    pub center: Vec<E>,
    /// P' = P - c, (K, D) row-major.
    pub centred: Vec<E>,
    /// ||p'_k||^2, (K).
    pub norms: Vec<f64>,
    /// Row j is `[ ||p_j - p_l||^2 for l ; p'_j . p'_l for l ]`, (K, 2K): pairwise distances
    /// (f64, from the Gram matrix, recomputed from differences of the raw prototypes where the
    /// expansion cancels), then the Gram matrix G' of the centred prototypes.
    pub pairs: Vec<f64>,
}

impl<E: Elem> Protos<E> {
    pub fn new(p: &[E], k: usize, d: usize) -> Self {
        let mut sum = vec![0f64; d];
        for row in p.chunks_exact(d) {
            for (s, &v) in sum.iter_mut().zip(row) {
                *s += v.to_f64();
            }
        }
        let center: Vec<E> = sum.iter().map(|&s| E::from_f64(s / k as f64)).collect();
        let mut centred = Vec::with_capacity(k * d);
        for row in p.chunks_exact(d) {
            centred.extend(row.iter().zip(&center).map(|(&v, &c)| v - c));
        }
        // G' of the centred prototypes as the kernels see them, in f64
        let wide: Vec<f64> = centred.iter().map(|v| v.to_f64()).collect();
        let g = gram(&wide, k, d);
        let raw = |j: usize| &p[j * d..(j + 1) * d];
        let mut pairs = vec![0f64; 2 * k * k];
        for j in 0..k {
            for l in j + 1..k {
                // ||p_j - p_l||^2 by expansion, from differences where the expansion cancels
                let (nj, nl) = (g[j * k + j], g[l * k + l]);
                let expanded = nj + nl - 2.0 * g[j * k + l];
                let dist = if expanded < CANCEL * (nj + nl) {
                    exact_distance(raw(j), raw(l))
                } else {
                    expanded
                };
                pairs[j * 2 * k + l] = dist;
                pairs[l * 2 * k + j] = dist;
            }
            for l in 0..k {
                // symmetric to the last bit
                pairs[j * 2 * k + k + l] = g[j.min(l) * k + j.max(l)];
            }
        }
        let norms = (0..k).map(|j| g[j * k + j]).collect();
        Self {
            k,
            d,
            center,
            centred,
            norms,
            pairs,
        }
    }
}

/// G = W W^T (K x K, row-major) of the rows of `w` (K x D), symmetric to the last bit: the
/// AVX-512 kernel where the CPU has one (the gemm crate's fixed cost per call is most of a
/// product this small: 6.5 µs of the forward at K = 16, D = 384), the gemm crate elsewhere.
fn gram(w: &[f64], k: usize, d: usize) -> Vec<f64> {
    #[cfg(target_arch = "x86_64")]
    if let Some(g) = super::avx512::gram(w, k, d) {
        return g;
    }
    let mut g = vec![0f64; k * k];
    matmul(&mut g, false, (k, k, d), w, (d, 1), w, (1, d), 1.0);
    g
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
