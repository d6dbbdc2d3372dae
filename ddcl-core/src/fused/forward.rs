//! The fused forward kernel: soft assignments, distances and per-token loss terms.

use rayon::prelude::*;

use crate::cpu::{matmul, Elem};

use super::distance::{centre, exact_distance, CANCEL};
use super::planes::{real_tokens, BlockIo, TERMS};
use super::protos::Protos;
use super::vector::Vectorised;

/// Tokens per block: one GEMM of (ROWS x D) by (D x K) per block, with the block in cache.
pub(crate) const ROWS: usize = 128;

/// Work space of one block of tokens for the portable kernel.
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
    /// q times the pairwise distances and the Gram matrix, (ROWS, 2K); where [`wide`], the
    /// off-peak mean codes `sum_{k != j} q_k p'_k` instead, (ROWS, D).
    y: Vec<f64>,
    /// Where [`wide`]: q with each token's most likely prototype `j` zeroed, (ROWS, K), and j.
    off: Vec<f64>,
    peak: Vec<usize>,
}

impl<E: Elem> Block<E> {
    fn new(k: usize, d: usize) -> Self {
        Self {
            hc: vec![E::ZERO; ROWS * d],
            a: vec![E::ZERO; ROWS * k],
            hh: vec![0.0; ROWS],
            d: vec![0.0; ROWS * k],
            q: vec![0.0; ROWS * k],
            y: vec![0.0; ROWS * if wide::<E>(k, d) { d } else { 2 * k }],
            off: vec![0.0; if wide::<E>(k, d) { ROWS * k } else { 0 }],
            peak: vec![0; if wide::<E>(k, d) { ROWS } else { 0 }],
        }
    }
}

/// Fills `out` ([`output_len`](super::planes::output_len) values, zero-initialised) from hidden
/// states `h` (N x D), prototypes (K x D) and a mask (N): the [`Planes`](super::planes::Planes), then the masked means of the loss terms.
/// Tokens whose mask is 0 stay zeros and their hidden states are never read. `simd` lets the
/// element type's vectorised kernel run where the CPU has one.
pub(crate) fn forward<'a, E: Vectorised>(
    h: &[E],
    p: &[E],
    mask: &[E],
    (tau, simd): (f64, bool),
    k: usize,
    out: &'a mut [E],
) {
    let d = p.len() / k;
    let protos = Protos::new(p, k, d);
    let n = mask.len();
    let (q_out, rest) = out.split_at_mut(n * k);
    let (d_out, rest) = rest.split_at_mut(n * k);
    let (terms_out, means) = rest.split_at_mut(n * TERMS);
    let io = |bi: usize, q, dist, terms: &'a mut [E]| {
        let (first, rows) = (bi * ROWS, terms.len() / TERMS);
        BlockIo {
            h: &h[first * d..(first + rows) * d],
            mask: &mask[first..first + rows],
            q,
            d: dist,
            terms,
        }
    };
    let kernel = simd.then(|| E::vector(&protos)).flatten();
    // one block, then the sums of its loss terms (padding rows hold zeros)
    let run = |blk: &mut Option<Block<E>>, mut io: BlockIo<E>| {
        match &kernel {
            Some(v) => E::vector_block(v, &protos, p, tau, &mut io),
            None => {
                let blk = blk.get_or_insert_with(|| Block::new(k, d));
                portable_block(blk, &protos, p, tau, &mut io)
            }
        }
        let mut sums = [0f64; TERMS];
        for row in io.terms.chunks_exact(TERMS) {
            sums.iter_mut().zip(row).for_each(|(s, v)| *s += v.to_f64());
        }
        sums
    };
    let blocks: Vec<[f64; TERMS]> = if n <= ROWS {
        // one block runs here: waking the thread pool would cost more than it
        vec![run(&mut None, io(0, q_out, d_out, terms_out))]
    } else {
        q_out
            .par_chunks_mut(ROWS * k)
            .zip(d_out.par_chunks_mut(ROWS * k))
            .zip(terms_out.par_chunks_mut(ROWS * TERMS))
            .enumerate()
            .map(|(bi, ((q, dist), terms))| io(bi, q, dist, terms))
            .map_init(|| None, run)
            .collect()
    };
    // block by block in a fixed order: the means do not depend on the number of threads
    let count = real_tokens(mask).max(1) as f64;
    for (t, m) in means.iter_mut().enumerate() {
        *m = E::from_f64(blocks.iter().map(|b| b[t]).sum::<f64>() / count);
    }
}

/// One block of tokens on any CPU: GEMMs through the gemm crate, per-token loops in f64.
fn portable_block<E: Elem>(
    blk: &mut Block<E>,
    protos: &Protos<E>,
    p: &[E],
    tau: f64,
    io: &mut BlockIo<E>,
) {
    let (k, d) = (protos.k, protos.d);
    let (h, mask) = (io.h, io.mask);
    let rows = mask.len();
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
        distances(protos, h, p, blk.hh[r], &blk.a[r * k..(r + 1) * k], dist);
        softmax(dist, tau, q);
    }
    let wide = wide::<E>(k, d);
    if wide {
        // the off-peak mean codes of the block, one GEMM of K D per token
        for r in 0..rows {
            let (q, off) = (&blk.q[r * k..(r + 1) * k], &mut blk.off[r * k..(r + 1) * k]);
            let j = (0..k).fold(0, |best, l| if q[l] > q[best] { l } else { best });
            off.copy_from_slice(q);
            off[j] = 0.0;
            blk.peak[r] = j;
        }
        let (off, p64) = (&blk.off[..rows * k], &protos.centred_f64);
        matmul(
            &mut blk.y,
            false,
            (rows, d, k),
            off,
            (k, 1),
            p64,
            (d, 1),
            1.0,
        );
    } else {
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
    }
    let width = if wide { d } else { 2 * k };
    for r in (0..rows).filter(|&r| mask[r] != E::ZERO) {
        let (q, dist) = (&blk.q[r * k..(r + 1) * k], &blk.d[r * k..(r + 1) * k]);
        let y = &blk.y[r * width..(r + 1) * width];
        let a = &blk.a[r * k..(r + 1) * k];
        let sigma = q.iter().sum();
        let (var, qgq) = if wide {
            wide_var(protos, q, sigma, blk.peak[r], y)
        } else {
            (
                0.5 * q.iter().zip(&y[..k]).map(|(q, y)| q * y).sum::<f64>(),
                q.iter().zip(&y[k..]).map(|(q, y)| q * y).sum(),
            )
        };
        let sums = Sums {
            sigma,
            l_sq: q.iter().zip(dist).map(|(q, d)| q * d).sum(),
            var,
            qgq,
            qa: q.iter().zip(a).map(|(q, a)| q * a.to_f64()).sum(),
        };
        let terms = losses(protos, &h[r * d..(r + 1) * d], p, blk.hh[r], q, &sums);
        let out =
            |o: &mut [E], v: &[f64]| o.iter_mut().zip(v).for_each(|(o, &v)| *o = E::from_f64(v));
        out(&mut io.q[r * k..(r + 1) * k], q);
        out(&mut io.d[r * k..(r + 1) * k], dist);
        out(&mut io.terms[r * 3..(r + 1) * 3], &terms);
    }
}

/// Whether the portable kernel takes V and `q^T G' q` from the off-peak mean code (K D per
/// token, [`wide_var`]) rather than from the (K x 2K) pair matrix (2 K^2 per token): with more
/// prototypes than features, as in a codebook, and f32 values. f64 inputs keep the pair sums,
/// whose every term is non-negative.
fn wide<E: Elem>(k: usize, d: usize) -> bool {
    k > d && E::EPSILON >= f64::from(f32::EPSILON)
}

/// `(V, q^T G' q)` of one token from its most likely prototype `j` and its off-peak mean code
/// `o = sum_{k != j} q_k p'_k` (D), in K + D operations.
///
/// Around `r = p'_j` (`x_k = p'_k - r`, `x_j = 0`),
/// `V = q^T Dp q / 2 = sigma sum_k q_k ||x_k||^2 - ||sum_k q_k x_k||^2` with
/// `||x_k||^2 = Dp_jk` and `sum_k q_k x_k = o - (sum_{k != j} q_k) r`. Both come from the off-peak
/// weights alone, so their rounding shrinks with them as q peaks, and the second term is at
/// most `1 - q_j / sigma` times the first (Cauchy-Schwarz): nothing cancels while q is peaked.
/// Where more than one bit would (a spread q), the weighted variance is summed from
/// differences instead, in K D operations. `q^T G' q = ||o + q_j r||^2`.
fn wide_var<E: Elem>(protos: &Protos<E>, q: &[f64], sigma: f64, j: usize, o: &[f64]) -> (f64, f64) {
    let (k, d) = (protos.k, protos.d);
    let dp = &protos.pairs[j * 2 * k..j * 2 * k + k];
    let spread = sigma * q.iter().zip(dp).map(|(q, dp)| q * dp).sum::<f64>();
    let r = &protos.centred_f64[j * d..(j + 1) * d];
    // the off-peak weight summed, not `sigma - q_j`, which would cancel as q peaks
    let rest: f64 = q
        .iter()
        .enumerate()
        .filter(|&(l, _)| l != j)
        .map(|(_, q)| q)
        .sum();
    let (mut shift, mut qgq) = (0f64, 0f64);
    for (o, r) in o.iter().zip(r) {
        let (e, m) = (o - rest * r, o + q[j] * r);
        shift += e * e;
        qgq += m * m;
    }
    let expanded = spread - shift;
    if expanded >= 0.5 * spread {
        return (expanded, qgq);
    }
    // the weighted variance from differences, `sigma sum_k q_k ||p'_k - m / sigma||^2` with
    // `m = o + q_j r`: K D operations, non-negative terms
    let mean: Vec<f64> = o
        .iter()
        .zip(r)
        .map(|(o, r)| (o + q[j] * r) / sigma)
        .collect();
    let around = |l: usize| {
        let row = &protos.centred_f64[l * d..(l + 1) * d];
        row.iter()
            .zip(&mean)
            .map(|(p, m)| (p - m) * (p - m))
            .sum::<f64>()
    };
    let var = sigma
        * (0..k)
            .filter(|&l| q[l] > 0.0)
            .map(|l| q[l] * around(l))
            .sum::<f64>();
    (var, qgq)
}

/// d_k = ||h - p_k||^2 of one real token from `hh = ||h-c||^2` and `a_k = (h-c).(p_k-c)`,
/// recomputed from differences where the expansion cancels.
fn distances<E: Elem>(protos: &Protos<E>, h: &[E], p: &[E], hh: f64, a: &[E], out: &mut [f64]) {
    let dim = protos.d;
    for (j, o) in out.iter_mut().enumerate() {
        let n = protos.norms[j];
        let expanded = hh - 2.0 * a[j].to_f64() + n;
        *o = if expanded < CANCEL * (hh + n) {
            exact_distance(h, &p[j * dim..(j + 1) * dim])
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

/// The per-token sums from which the loss terms follow, all in f64.
struct Sums {
    /// sum_k q_k (1 up to rounding).
    sigma: f64,
    /// L_SQ = sum_k q_k d_k.
    l_sq: f64,
    /// V = q^T Dp q / 2, pairwise distances Dp: from non-negative terms (where [`wide`],
    /// from [`wide_var`]).
    var: f64,
    /// q^T G' q, Gram matrix G' of the centred prototypes.
    qgq: f64,
    /// sum_k q_k a_k with a_k = (h - c).(p_k - c).
    qa: f64,
}

/// `[L_SQ, L_OLS, V]` of one real token from its sums; L_OLS is recomputed from differences
/// where its expansion cancels.
#[inline]
fn losses<E: Elem>(protos: &Protos<E>, h: &[E], p: &[E], hh: f64, q: &[f64], s: &Sums) -> [f64; 3] {
    let (k, dim) = (protos.k, protos.d);
    let hh_s = s.sigma * s.sigma * hh;
    let expanded = hh_s - 2.0 * s.sigma * s.qa + s.qgq;
    let l_ols = if expanded < CANCEL * (hh_s + s.qgq) {
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
    [s.l_sq, l_ols, s.var]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `q^T Dp q / 2` and `q^T G' q` as the pair matrix gives them.
    fn pair_sums(protos: &Protos<f32>, q: &[f64]) -> (f64, f64) {
        let k = protos.k;
        let row = |l: usize, off: usize| {
            let r = &protos.pairs[l * 2 * k + off..l * 2 * k + off + k];
            q.iter().zip(r).map(|(q, v)| q * v).sum::<f64>()
        };
        let var = 0.5 * (0..k).map(|l| q[l] * row(l, 0)).sum::<f64>();
        (var, (0..k).map(|l| q[l] * row(l, k)).sum())
    }

    /// `wide_var` of `q` (normalised) against the pair sums, to a relative `1e-9` of each: far
    /// below an f32 rounding (1.2e-7). Not to f64 ulps: `wide_var` works in the frame of the
    /// centred prototypes as f32 rounds them, the pair matrix from raw differences where its
    /// expansion cancels.
    fn agrees(protos: &Protos<f32>, q: &[f64], what: &str) {
        let (k, d) = (protos.k, protos.d);
        let sigma: f64 = q.iter().sum();
        let j = (0..k).fold(0, |b, l| if q[l] > q[b] { l } else { b });
        let o: Vec<f64> = (0..d)
            .map(|i| {
                (0..k)
                    .filter(|&l| l != j)
                    .map(|l| q[l] * protos.centred_f64[l * d + i])
                    .sum()
            })
            .collect();
        let (var, qgq) = wide_var(protos, q, sigma, j, &o);
        let (want_var, want_qgq) = pair_sums(protos, q);
        assert!(
            (var - want_var).abs() <= 1e-9 * want_var,
            "{what}: V {var} vs {want_var}"
        );
        assert!(
            (qgq - want_qgq).abs() <= 1e-9 * want_qgq,
            "{what}: q'G'q {qgq} vs {want_qgq}"
        );
    }

    /// The weight off the peak pointing one way (two close prototypes far from the peak's):
    /// the expansion would lose more than a bit, so the differences are summed.
    #[test]
    fn wide_var_sums_differences_where_the_expansion_cancels() {
        let p = [0.0f32, 0.0, 10.0, 0.0, 10.0, 0.1, -3.0, 5.0];
        let protos = Protos::new(&p, 4, 2);
        let q = [0.34, 0.33, 0.32, 0.01];
        let spread: f64 = (0..4).map(|l| q[l] * protos.pairs[l]).sum();
        let x: Vec<f64> = (0..2)
            .map(|i| (0..4).map(|l| q[l] * (p[l * 2 + i] - p[i]) as f64).sum())
            .collect();
        let shift = x[0] * x[0] + x[1] * x[1];
        assert!(
            spread - shift < 0.5 * spread,
            "the case must take the fallback"
        );
        agrees(&protos, &q, "coherent");
    }

    /// A spread q and qs peaked to 1e-12 and to 1e-30 off the peak (the expansion around the
    /// peak, whose rounding shrinks with the off-peak weight).
    #[test]
    fn wide_var_matches_the_pair_sums() {
        let (k, d) = (40, 3);
        let p: Vec<f32> = (0..k * d)
            .map(|i| ((i * 7919 % 1000) as f32 / 100.0 - 5.0) + 30.0)
            .collect();
        let protos = Protos::new(&p, k, d);
        let spread: Vec<f64> = (0..k).map(|l| 1.0 + (l % 5) as f64).collect();
        for off in [None, Some(1e-12), Some(1e-30)] {
            let mut q: Vec<f64> = match off {
                None => spread.clone(),
                Some(e) => (0..k)
                    .map(|l| if l == 17 { 1.0 } else { e * spread[l] })
                    .collect(),
            };
            let sigma: f64 = q.iter().sum();
            q.iter_mut().for_each(|v| *v /= sigma);
            agrees(&protos, &q, &format!("{off:?}"));
        }
    }
}
