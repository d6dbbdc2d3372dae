//! Per-call quantities of the prototype bank, shared by the fused forward and backward.

use crate::cpu::Elem;

use super::distance::{exact_distance, CANCEL};
use super::gram::gram;

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
    /// P' in f64, (K, D) row-major.
    pub centred_f64: Vec<f64>,
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
        let centred_f64: Vec<f64> = centred.iter().map(|v| v.to_f64()).collect();
        let g = gram(&centred_f64, k, d);
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
            centred_f64,
            norms,
            pairs,
        }
    }
}
