//! Per-call quantities of the prototype bank, shared by the fused forward and backward.

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
    /// G'_jk = p'_j . p'_k, (K, K).
    pub gram: Vec<f64>,
    /// ||p_j - p_k||^2 computed from differences of the raw prototypes, (K, K).
    pub dist: Vec<f64>,
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
        let mut gram = vec![0f64; k * k];
        let mut dist = vec![0f64; k * k];
        for j in 0..k {
            for l in j..k {
                let (mut g, mut s) = (0f64, 0f64);
                for (&a, &b) in row(j).iter().zip(row(l)) {
                    g += a.to_f64() * b.to_f64();
                }
                for (&a, &b) in raw(j).iter().zip(raw(l)) {
                    s += (a.to_f64() - b.to_f64()).powi(2);
                }
                gram[j * k + l] = g;
                gram[l * k + j] = g;
                dist[j * k + l] = s;
                dist[l * k + j] = s;
            }
        }
        let norms = (0..k).map(|j| gram[j * k + j]).collect();
        Self {
            k,
            d,
            center,
            centred,
            norms,
            gram,
            dist,
        }
    }

    /// `(G' q)_k` for a weight vector `q`.
    pub fn gram_times(&self, q: &[f64], out: &mut [f64]) {
        for (o, g) in out.iter_mut().zip(self.gram.chunks_exact(self.k)) {
            *o = g.iter().zip(q).map(|(a, b)| a * b).sum();
        }
    }
}
