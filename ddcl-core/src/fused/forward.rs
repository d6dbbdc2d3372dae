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
    /// q times the pairwise distances and the Gram matrix, (ROWS, 2K); with more prototypes
    /// than features, `q P'` instead, (ROWS, D).
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
            y: vec![0.0; ROWS * if wide::<E>(k, d) { d } else { 2 * k }],
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
        // the mean codes q P' of the block, one GEMM of K D per token
        let q = &blk.q[..rows * k];
        matmul(
            &mut blk.y,
            false,
            (rows, d, k),
            q,
            (k, 1),
            &protos.wide,
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
            (wide_var(protos, q, sigma, y), y.iter().map(|v| v * v).sum())
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

/// Whether the portable kernel takes V and `q^T G' q` from the mean code `m = q P'` (K D per
/// token) rather than from the (K x 2K) pair matrix (2 K^2 per token): with more prototypes than
/// features, as in a codebook, and f32 values. [`wide_var`]'s f64 error grows with
/// `||p'|| / ||p_j - p_k||` (a few ulps of f64 times that), far below an f32 rounding but not
/// within the few f64 ulps that f64 inputs get from the pair sums.
fn wide<E: Elem>(k: usize, d: usize) -> bool {
    k > d && E::EPSILON >= f64::from(f32::EPSILON)
}

/// V = q^T Dp q / 2 of one token from its mean code `m = q P'` (D), in K + D operations.
///
/// Around the token's most likely prototype `r = p'_j` (`x_k = p'_k - r`),
/// `V = sigma sum_k q_k ||x_k||^2 - ||sum_k q_k x_k||^2` with `||x_k||^2 = Dp_jk` and
/// `sum_k q_k x_k = m - sigma r`. The second term is at most `(1 - q_j)` times the first, so
/// nothing cancels while q is peaked; where more than one bit would (a spread q), the weighted
/// variance is summed from differences instead, in K D operations.
fn wide_var<E: Elem>(protos: &Protos<E>, q: &[f64], sigma: f64, m: &[f64]) -> f64 {
    let (k, d) = (protos.k, protos.d);
    let j = (0..k).fold(0, |best, l| if q[l] > q[best] { l } else { best });
    let dp = &protos.pairs[j * 2 * k..j * 2 * k + k];
    let spread = sigma * q.iter().zip(dp).map(|(q, dp)| q * dp).sum::<f64>();
    let r = &protos.wide[j * d..(j + 1) * d];
    let shift: f64 = m
        .iter()
        .zip(r)
        .map(|(m, r)| {
            let e = m - sigma * r;
            e * e
        })
        .sum();
    let expanded = spread - shift;
    if expanded >= 0.5 * spread {
        return expanded;
    }
    // the weighted variance from differences, `sigma sum_k q_k ||p'_k - m / sigma||^2`: K D
    // operations, non-negative terms
    let mean: Vec<f64> = m.iter().map(|m| m / sigma).collect();
    let around = |l: usize| {
        let row = &protos.wide[l * d..(l + 1) * d];
        row.iter()
            .zip(&mean)
            .map(|(p, m)| (p - m) * (p - m))
            .sum::<f64>()
    };
    sigma
        * (0..k)
            .filter(|&l| q[l] > 0.0)
            .map(|l| q[l] * around(l))
            .sum::<f64>()
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
    /// V = q^T Dp q / 2, pairwise distances Dp: non-negative terms, nothing cancels.
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
