//! The fused forward kernel: soft assignments, distances and per-token loss terms.

use rayon::prelude::*;

use super::elem::{centre, dot2, matmul, Elem};
use super::protos::Protos;

/// Tokens per block: one GEMM of (ROWS x D) by (D x K) per block, with the block in cache.
pub(crate) const ROWS: usize = 128;

/// An expanded quantity `x = a - 2b + c` is recomputed from differences when it falls below this
/// share of `a + c`: its rounding error, about `eps * (a + c)`, then stays within a few ulps of `x`.
pub(crate) const CANCEL: f64 = 0.25;

/// Columns of the packed per-token output: q (K), d (K), then L_SQ, L_OLS, V.
pub(crate) fn width(k: usize) -> usize {
    2 * k + 3
}

/// Fills `out` (N x (2K+3)) from hidden states `h` (N x D), prototypes (K x D) and a mask (N).
/// Rows whose mask is 0 are written as zeros and their hidden states never read.
pub(crate) fn forward<E: Elem>(h: &[E], p: &[E], mask: &[E], tau: f64, k: usize, out: &mut [E]) {
    let d = p.len() / k;
    let protos = Protos::new(p, k, d);
    let w = width(k);
    out.par_chunks_mut(ROWS * w).enumerate().for_each_init(
        || {
            (
                vec![E::ZERO; ROWS * d],
                vec![E::ZERO; ROWS * k],
                Scratch::new(k),
            )
        },
        |(hc, a, scratch), (blk, out)| {
            let rows = out.len() / w;
            let first = blk * ROWS;
            let h = &h[first * d..(first + rows) * d];
            let mask = &mask[first..first + rows];
            let mut hh = [0f64; ROWS];
            for r in 0..rows {
                let hc = &mut hc[r * d..(r + 1) * d];
                if mask[r] == E::ZERO {
                    hc.fill(E::ZERO);
                    continue;
                }
                hh[r] = centre(&h[r * d..(r + 1) * d], &protos.center, hc);
            }
            matmul(
                a,
                false,
                (rows, k, d),
                hc,
                (d, 1),
                &protos.centred,
                (1, d),
                E::ONE,
            );
            for r in 0..rows {
                let out = &mut out[r * w..(r + 1) * w];
                if mask[r] == E::ZERO {
                    out.fill(E::ZERO);
                    continue;
                }
                let terms = scratch.token(
                    &protos,
                    &h[r * d..(r + 1) * d],
                    p,
                    hh[r],
                    &a[r * k..(r + 1) * k],
                    tau,
                );
                for j in 0..k {
                    out[j] = E::from_f64(scratch.q[j]);
                    out[k + j] = E::from_f64(scratch.d[j]);
                }
                for (o, v) in out[2 * k..].iter_mut().zip(terms) {
                    *o = E::from_f64(v);
                }
            }
        },
    );
}

/// Per-token work space, reused across tokens.
struct Scratch {
    q: Vec<f64>,
    d: Vec<f64>,
}

impl Scratch {
    fn new(k: usize) -> Self {
        Self {
            q: vec![0.0; k],
            d: vec![0.0; k],
        }
    }

    /// Distances, assignment and `[L_SQ, L_OLS, V]` of one real token, from `hh = ||h-c||^2` and
    /// `a_k = (h-c).(p_k-c)`.
    fn token<E: Elem>(
        &mut self,
        protos: &Protos<E>,
        h: &[E],
        p: &[E],
        hh: f64,
        a: &[E],
        tau: f64,
    ) -> [f64; 3] {
        let (k, dim) = (protos.k, protos.d);
        let prototype = |j: usize| &p[j * dim..(j + 1) * dim];
        for j in 0..k {
            let n = protos.norms[j];
            let expanded = hh - 2.0 * a[j].to_f64() + n;
            self.d[j] = if expanded < CANCEL * (hh + n) {
                h.iter()
                    .zip(prototype(j))
                    .map(|(&x, &y)| (x.to_f64() - y.to_f64()).powi(2))
                    .sum()
            } else {
                expanded
            };
        }
        let dmin = self.d.iter().copied().fold(f64::INFINITY, f64::min);
        let mut z = 0f64;
        for (q, &d) in self.q.iter_mut().zip(&self.d) {
            *q = (-(d - dmin) / tau).exp();
            z += *q;
        }
        self.q.iter_mut().for_each(|q| *q /= z);
        let q = &self.q;
        let sigma: f64 = q.iter().sum();
        let l_sq: f64 = q.iter().zip(&self.d).map(|(q, d)| q * d).sum();
        // V = sum_{j<l} q_j q_l ||p_j - p_l||^2 and q^T G' q, in one pass over the upper triangle
        let (mut var, mut qgq) = (0f64, 0f64);
        for (j, &qj) in q.iter().enumerate() {
            if qj == 0.0 {
                continue;
            }
            let (g, dist) = (
                &protos.gram[j * k..(j + 1) * k],
                &protos.dist[j * k..(j + 1) * k],
            );
            let (sg, sv) = dot2(&q[j + 1..], &g[j + 1..], &dist[j + 1..]);
            qgq += qj * (qj * g[j] + 2.0 * sg);
            var += qj * sv;
        }
        let qa: f64 = q.iter().zip(a).map(|(q, a)| q * a.to_f64()).sum();
        let hh_s = sigma * sigma * hh;
        let expanded = hh_s - 2.0 * sigma * qa + qgq;
        let l_ols = if expanded < CANCEL * (hh_s + qgq) {
            // ||sum_k q_k (h - p_k)||^2 from differences: exact to a few ulps.
            (0..dim)
                .map(|i| {
                    let x = h[i].to_f64();
                    let e: f64 = (0..k).map(|j| q[j] * (x - p[j * dim + i].to_f64())).sum();
                    e * e
                })
                .sum()
        } else {
            expanded
        };
        [l_sq, l_ols, var]
    }
}
