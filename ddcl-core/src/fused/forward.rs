//! The fused forward kernel: soft assignments, distances and per-token loss terms.

use rayon::prelude::*;

use super::elem::{centre, matmul, Elem};
use super::protos::Protos;

/// Tokens per block: one GEMM of (ROWS x D) by (D x K) per block, with the block in cache.
pub(crate) const ROWS: usize = 128;

/// An expanded quantity `x = a - 2b + c` is recomputed from differences when it falls below this
/// share of `a + c`: its rounding error, about `eps * (a + c)`, then stays within a few ulps of `x`.
pub(crate) const CANCEL: f64 = 0.25;

/// Values per token in the output: q (K), d (K) and L_SQ, L_OLS, V.
pub(crate) fn width(k: usize) -> usize {
    2 * k + 3
}

/// The output of the forward for N tokens, stored as three planes so that each is a contiguous
/// tensor: q (N x K), then d (N x K), then the loss terms (N x 3).
pub(crate) struct Planes<S> {
    pub q: S,
    pub d: S,
    pub terms: S,
}

impl<'a, E> Planes<&'a [E]> {
    /// Splits a buffer of N * (2K + 3) values.
    pub fn split(v: &'a [E], k: usize) -> Self {
        let n = v.len() / width(k);
        let (q, rest) = v.split_at(n * k);
        let (d, terms) = rest.split_at(n * k);
        Self { q, d, terms }
    }

    /// Tokens `first .. first + rows`.
    pub fn rows(&self, first: usize, rows: usize, k: usize) -> Self {
        Self {
            q: &self.q[first * k..(first + rows) * k],
            d: &self.d[first * k..(first + rows) * k],
            terms: &self.terms[first * 3..(first + rows) * 3],
        }
    }
}

/// Work space of one block of tokens.
struct Block<E> {
    /// h - c, (ROWS, D).
    hc: Vec<E>,
    /// (h - c) . (p_k - c), (ROWS, K).
    a: Vec<E>,
    /// ||h - c||^2, (ROWS).
    hh: Vec<f64>,
    /// Distances and assignments, (ROWS, K) each.
    d: Vec<f64>,
    q: Vec<f64>,
    /// q times the pairwise distances and the Gram matrix, (ROWS, 2K).
    y: Vec<f64>,
}

impl<E: Elem> Block<E> {
    fn new(k: usize, d: usize) -> Self {
        Self {
            hc: vec![E::ZERO; ROWS * d],
            a: vec![E::ZERO; ROWS * k],
            hh: vec![0.0; ROWS],
            d: vec![0.0; ROWS * k],
            q: vec![0.0; ROWS * k],
            y: vec![0.0; ROWS * 2 * k],
        }
    }
}

/// Fills `out` ([`Planes`] of N tokens) from hidden states `h` (N x D), prototypes (K x D) and a
/// mask (N). Tokens whose mask is 0 are written as zeros and their hidden states never read.
pub(crate) fn forward<E: Elem>(h: &[E], p: &[E], mask: &[E], tau: f64, k: usize, out: &mut [E]) {
    let d = p.len() / k;
    let protos = Protos::new(p, k, d);
    let n = out.len() / width(k);
    let (q_out, rest) = out.split_at_mut(n * k);
    let (d_out, terms_out) = rest.split_at_mut(n * k);
    let planes = q_out
        .par_chunks_mut(ROWS * k)
        .zip(d_out.par_chunks_mut(ROWS * k))
        .zip(terms_out.par_chunks_mut(ROWS * 3));
    planes.enumerate().for_each_init(
        || Block::new(k, d),
        |blk, (bi, ((q_out, d_out), terms_out))| {
            let rows = terms_out.len() / 3;
            let first = bi * ROWS;
            let h = &h[first * d..(first + rows) * d];
            let mask = &mask[first..first + rows];
            for r in 0..rows {
                let hc = &mut blk.hc[r * d..(r + 1) * d];
                if mask[r] == E::ZERO {
                    hc.fill(E::ZERO);
                } else {
                    blk.hh[r] = centre(&h[r * d..(r + 1) * d], &protos.center, hc);
                }
            }
            let (hc, centred) = (&blk.hc, &protos.centred);
            matmul(
                &mut blk.a,
                false,
                (rows, k, d),
                hc,
                (d, 1),
                centred,
                (1, d),
                E::ONE,
            );
            for r in 0..rows {
                let (q, dist) = (
                    &mut blk.q[r * k..(r + 1) * k],
                    &mut blk.d[r * k..(r + 1) * k],
                );
                if mask[r] == E::ZERO {
                    q.fill(0.0);
                    continue;
                }
                let h = &h[r * d..(r + 1) * d];
                distances(&protos, h, p, blk.hh[r], &blk.a[r * k..(r + 1) * k], dist);
                softmax(dist, tau, q);
            }
            // one GEMM gives q^T Dp q and q^T G' q for the whole block
            let pairs = (&blk.q[..rows * k], &protos.pairs);
            matmul(
                &mut blk.y,
                false,
                (rows, 2 * k, k),
                pairs.0,
                (k, 1),
                pairs.1,
                (2 * k, 1),
                1.0,
            );
            for r in 0..rows {
                let q_out = &mut q_out[r * k..(r + 1) * k];
                let d_out = &mut d_out[r * k..(r + 1) * k];
                let terms_out = &mut terms_out[r * 3..(r + 1) * 3];
                if mask[r] == E::ZERO {
                    q_out.fill(E::ZERO);
                    d_out.fill(E::ZERO);
                    terms_out.fill(E::ZERO);
                    continue;
                }
                let (q, dist) = (&blk.q[r * k..(r + 1) * k], &blk.d[r * k..(r + 1) * k]);
                let y = &blk.y[r * 2 * k..(r + 1) * 2 * k];
                let a = &blk.a[r * k..(r + 1) * k];
                let terms = losses(&protos, &h[r * d..(r + 1) * d], p, blk.hh[r], a, q, dist, y);
                q_out
                    .iter_mut()
                    .zip(q)
                    .for_each(|(o, &v)| *o = E::from_f64(v));
                d_out
                    .iter_mut()
                    .zip(dist)
                    .for_each(|(o, &v)| *o = E::from_f64(v));
                terms_out
                    .iter_mut()
                    .zip(terms)
                    .for_each(|(o, v)| *o = E::from_f64(v));
            }
        },
    );
}

/// d_k = ||h - p_k||^2 of one real token from `hh = ||h-c||^2` and `a_k = (h-c).(p_k-c)`,
/// recomputed from differences where the expansion cancels.
fn distances<E: Elem>(protos: &Protos<E>, h: &[E], p: &[E], hh: f64, a: &[E], out: &mut [f64]) {
    let dim = protos.d;
    for (j, o) in out.iter_mut().enumerate() {
        let n = protos.norms[j];
        let expanded = hh - 2.0 * a[j].to_f64() + n;
        *o = if expanded < CANCEL * (hh + n) {
            h.iter()
                .zip(&p[j * dim..(j + 1) * dim])
                .map(|(&x, &y)| (x.to_f64() - y.to_f64()).powi(2))
                .sum()
        } else {
            expanded
        };
    }
}

/// q = softmax(-d / tau), shifted by the smallest distance.
fn softmax(d: &[f64], tau: f64, q: &mut [f64]) {
    let dmin = d.iter().copied().fold(f64::INFINITY, f64::min);
    let mut z = 0f64;
    for (q, &d) in q.iter_mut().zip(d) {
        *q = (-(d - dmin) / tau).exp();
        z += *q;
    }
    q.iter_mut().for_each(|q| *q /= z);
}

/// `[L_SQ, L_OLS, V]` of one real token; `y` is `[Dp q ; G' q]`.
#[allow(clippy::too_many_arguments)]
fn losses<E: Elem>(
    protos: &Protos<E>,
    h: &[E],
    p: &[E],
    hh: f64,
    a: &[E],
    q: &[f64],
    dist: &[f64],
    y: &[f64],
) -> [f64; 3] {
    let (k, dim) = (protos.k, protos.d);
    let sigma: f64 = q.iter().sum();
    let l_sq: f64 = q.iter().zip(dist).map(|(q, d)| q * d).sum();
    // V = sum_{j,l} q_j q_l ||p_j - p_l||^2 / 2: non-negative terms, nothing cancels
    let var = 0.5 * q.iter().zip(&y[..k]).map(|(q, y)| q * y).sum::<f64>();
    let qgq: f64 = q.iter().zip(&y[k..]).map(|(q, y)| q * y).sum();
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
