//! The fused backward kernel: gradients with respect to the hidden states and the prototypes.
//!
//! For one token, with upstream gradients `g_q`, `g_d` (on q and d) and `g_sq`, `g_ols`, `g_v`
//! (on the three loss terms), the gradient reaching the distances is
//!
//! ```text
//! u_k = g_q,k + (g_sq + g_ols) d_k + (g_v - g_ols) (|p'_k|^2 - 2 (G' q)_k)
//! w_k = g_d,k + g_sq q_k - q_k (u_k - sum_j q_j u_j) / tau
//! ```
//!
//! The loss terms' upstream gradients include those of their masked means: a mean's gradient
//! divided by the number of real tokens reaches every real token. With `A = w + g_ols q`, the gradients are two GEMMs plus K x K terms:
//!
//! ```text
//! dH_t = 2 (sum_k A_tk) (h_t - c) - 2 (A P')_t
//! dP   = -2 A^T (H - c) + 2 diag(sum_t w_t + g_v,t q_t) P' + 2 ((g_ols - g_v) q)^T q P'
//! ```

use rayon::prelude::*;

use crate::cpu::{matmul, Elem};

use super::distance::centre;
use super::planes::{output_len, real_tokens, Planes, TERMS};
use super::protos::Protos;

/// Tokens per chunk. Partial prototype gradients are summed chunk by chunk in a fixed order, so
/// results do not depend on the number of threads.
const CHUNK: usize = 256;

/// Per-chunk partial sums of the prototype gradient.
struct Partial<E> {
    /// A^T (H - c), (K x D).
    x: Vec<E>,
    /// sum_t (w_t + g_v,t q_t), (K).
    s: Vec<f64>,
    /// sum_t (g_ols,t - g_v,t) q_t q_t^T, (K x K); `None` where `g_ols,t = g_v,t` on every
    /// token of the chunk (a loss of `L_SQ` alone), so that it is zero.
    m: Option<Vec<f64>>,
}

/// Which gradients the backward computes: only those of inputs that track gradients.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wanted {
    pub hidden: bool,
    pub prototypes: bool,
}

/// Writes dH (when wanted) into `out[..N*D]` and then dP (when wanted) after it. `packed` holds
/// the forward output ([`output_len`] values), its upstream gradient (same layout) and the mask
/// (N).
pub(crate) fn backward<E: Elem>(
    h: &[E],
    p: &[E],
    packed: &[E],
    (tau, wanted): (f64, Wanted),
    k: usize,
    out: &mut [E],
) {
    let d = p.len() / k;
    let n = h.len() / d;
    let protos = Protos::new(p, k, d);
    let (y, rest) = packed.split_at(output_len(n, k));
    let (g, mask) = rest.split_at(output_len(n, k));
    let ((y, _), (g, g_means)) = (Planes::split(y, k), Planes::split(g, k));
    let per_token = 1.0 / real_tokens(mask).max(1) as f64;
    let g_means: [f64; TERMS] = std::array::from_fn(|t| g_means[t].to_f64() * per_token);
    let (dh, dp) = out.split_at_mut(if wanted.hidden { n * d } else { 0 });
    let targets: Vec<Option<&mut [E]>> = if wanted.hidden {
        dh.chunks_mut(CHUNK * d).map(Some).collect()
    } else {
        (0..n.div_ceil(CHUNK)).map(|_| None).collect()
    };
    let partials: Vec<Option<Partial<E>>> = targets
        .into_par_iter()
        .enumerate()
        .map(|(ci, dh)| {
            let rows = (n - ci * CHUNK).min(CHUNK);
            let range = ci * CHUNK..ci * CHUNK + rows;
            let tokens = Tokens {
                h: &h[range.start * d..range.end * d],
                y: y.rows(range.start, rows, k),
                g: g.rows(range.start, rows, k),
                g_means,
                mask: &mask[range],
            };
            chunk(&protos, &tokens, tau, dh, wanted.prototypes)
        })
        .collect();
    if !wanted.prototypes {
        return;
    }
    let mut x = vec![0f64; k * d];
    let mut s = vec![0f64; k];
    let mut m: Option<Vec<f64>> = None;
    for part in partials.iter().flatten() {
        x.iter_mut()
            .zip(&part.x)
            .for_each(|(a, b)| *a += b.to_f64());
        s.iter_mut().zip(&part.s).for_each(|(a, b)| *a += b);
        if let Some(pm) = &part.m {
            m.get_or_insert_with(|| vec![0f64; k * k])
                .iter_mut()
                .zip(pm)
                .for_each(|(a, b)| *a += b);
        }
    }
    let centred = |j: usize, i: usize| protos.centred[j * d + i].to_f64();
    for (kk, row) in dp.chunks_exact_mut(d).enumerate() {
        for (i, o) in row.iter_mut().enumerate() {
            let own = -2.0 * x[kk * d + i] + 2.0 * s[kk] * centred(kk, i);
            let mix: f64 = m.as_ref().map_or(0.0, |m| {
                2.0 * (0..k).map(|j| m[kk * k + j] * centred(j, i)).sum::<f64>()
            });
            *o = E::from_f64(own + mix);
        }
    }
}

/// The inputs of one chunk of tokens.
struct Tokens<'a, E> {
    h: &'a [E],
    /// Forward output.
    y: Planes<&'a [E]>,
    /// Its upstream gradient.
    g: Planes<&'a [E]>,
    /// The upstream gradients of the loss means, divided by the number of real tokens.
    g_means: [f64; TERMS],
    mask: &'a [E],
}

/// One chunk of tokens: writes its rows of dH (when given) and returns its partial sums of dP
/// (when wanted).
fn chunk<E: Elem>(
    protos: &Protos<E>,
    t: &Tokens<E>,
    tau: f64,
    dh: Option<&mut [E]>,
    want_p: bool,
) -> Option<Partial<E>> {
    let (k, d) = (protos.k, protos.d);
    let rows = t.mask.len();
    let mut hc = vec![E::ZERO; rows * d];
    let mut a = vec![E::ZERO; rows * k];
    let mut alpha = vec![E::ZERO; rows];
    let mut s = vec![0f64; k];
    let real = |r: usize| t.mask[r] != E::ZERO;
    let loss_grads = |r: usize| {
        let g = &t.g.terms[r * TERMS..(r + 1) * TERMS];
        let m = &t.g_means;
        (
            g[0].to_f64() + m[0],
            g[1].to_f64() + m[1],
            g[2].to_f64() + m[2],
        )
    };
    // q, zero on padding, (rows, K)
    let mut q = vec![0f64; rows * k];
    for r in (0..rows).filter(|&r| real(r)) {
        let tok = r * k..(r + 1) * k;
        q[tok.clone()]
            .iter_mut()
            .zip(&t.y.q[tok])
            .for_each(|(q, v)| *q = v.to_f64());
    }
    // The terms in (g_v - g_ols) vanish exactly where that weight is zero on every token of the
    // chunk (a loss of L_SQ alone, with or without q's own gradient): their two K x K GEMMs are
    // skipped then, not multiplied by zero.
    let coupled = (0..rows).any(|r| {
        let (_, g_ols, g_v) = loss_grads(r);
        real(r) && g_ols != g_v
    });
    // G' q for every token as one f64 GEMM
    let gq = coupled.then(|| {
        let mut gq = vec![0f64; rows * k];
        let gram = &protos.pairs[k..];
        matmul(
            &mut gq,
            false,
            (rows, k, k),
            &q,
            (k, 1),
            gram,
            (2 * k, 1),
            1.0,
        );
        gq
    });
    let mut u = vec![0f64; k];
    for r in (0..rows).filter(|&r| real(r)) {
        let (g_sq, g_ols, g_v) = loss_grads(r);
        let tok = r * k..(r + 1) * k;
        let (q, dist) = (&q[tok.clone()], &t.y.d[tok.clone()]);
        let (g_q, g_d) = (&t.g.q[tok.clone()], &t.g.d[tok.clone()]);
        for j in 0..k {
            u[j] = g_q[j].to_f64() + (g_sq + g_ols) * dist[j].to_f64();
        }
        if let Some(gq) = &gq {
            let gq = &gq[tok];
            for j in 0..k {
                u[j] += (g_v - g_ols) * (protos.norms[j] - 2.0 * gq[j]);
            }
        }
        let ubar: f64 = q.iter().zip(&u).map(|(q, u)| q * u).sum();
        let mut total = 0f64;
        for j in 0..k {
            let wj = g_d[j].to_f64() + g_sq * q[j] - q[j] * (u[j] - ubar) / tau;
            let aj = wj + g_ols * q[j];
            a[r * k + j] = E::from_f64(aj);
            total += aj;
            s[j] += wj + g_v * q[j];
        }
        alpha[r] = E::from_f64(2.0 * total);
        centre(
            &t.h[r * d..(r + 1) * d],
            &protos.center,
            &mut hc[r * d..(r + 1) * d],
        );
    }
    if let Some(dh) = dh {
        let minus_two = E::from_f64(-2.0);
        matmul(
            dh,
            false,
            (rows, d, k),
            &a,
            (k, 1),
            &protos.centred,
            (d, 1),
            minus_two,
        );
        for r in 0..rows {
            let (dh, hc) = (&mut dh[r * d..(r + 1) * d], &hc[r * d..(r + 1) * d]);
            dh.iter_mut()
                .zip(hc)
                .for_each(|(o, &x)| *o = *o + alpha[r] * x);
        }
    }
    if !want_p {
        return None;
    }
    // M = c^T q with c = (g_ols - g_v) q, as an f64 GEMM
    let m = coupled.then(|| {
        let mut c = vec![0f64; rows * k];
        for r in (0..rows).filter(|&r| real(r)) {
            let (_, g_ols, g_v) = loss_grads(r);
            let tok = r * k..(r + 1) * k;
            c[tok.clone()]
                .iter_mut()
                .zip(&q[tok])
                .for_each(|(c, q)| *c = (g_ols - g_v) * q);
        }
        let mut m = vec![0f64; k * k];
        matmul(&mut m, false, (k, k, rows), &c, (1, k), &q, (k, 1), 1.0);
        m
    });
    let mut x = vec![E::ZERO; k * d];
    matmul(&mut x, false, (k, d, rows), &a, (1, k), &hc, (d, 1), E::ONE);
    Some(Partial { x, s, m })
}
