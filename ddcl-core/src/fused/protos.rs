//! Per-call quantities of the prototype bank, shared by the fused forward and backward.

use rayon::prelude::*;

use super::elem::Elem;

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
    /// from differences of the raw prototypes, then the Gram matrix G' of the centred ones.
    pub pairs: Vec<f64>,
}

impl<E: Elem> Protos<E> {
    pub fn new(p: &[E], k: usize, d: usize) -> Self {
        let mut center = vec![0f64; d];
        for row in p.chunks_exact(d) {
            for (c, &v) in center.iter_mut().zip(row) {
                *c += v.to_f64();
            }
        }
        let center: Vec<E> = center.iter().map(|&c| E::from_f64(c / k as f64)).collect();
        let centred: Vec<E> = p
            .chunks_exact(d)
            .flat_map(|row| row.iter().zip(&center).map(|(&v, &c)| v - c))
            .collect();
        let row = |j: usize| &centred[j * d..(j + 1) * d];
        let raw = |j: usize| &p[j * d..(j + 1) * d];
        let mut pairs = vec![0f64; 2 * k * k];
        pairs
            .par_chunks_mut(2 * k)
            .enumerate()
            .for_each(|(j, out)| {
                for l in 0..k {
                    let (a, b) = (raw(j), raw(l));
                    out[l] = a
                        .iter()
                        .zip(b)
                        .map(|(&x, &y)| (x.to_f64() - y.to_f64()).powi(2))
                        .sum();
                    let (a, b) = (row(j), row(l));
                    out[k + l] = a
                        .iter()
                        .zip(b)
                        .map(|(&x, &y)| x.to_f64() * y.to_f64())
                        .sum();
                }
            });
        let norms = (0..k).map(|j| pairs[j * 2 * k + k + j]).collect();
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
