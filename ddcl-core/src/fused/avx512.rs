//! The f32 forward kernel in AVX-512, chosen at run time where the CPU has it.
//!
//! Same quantities and the same numerics as the portable kernel (centred frame, per-token sums
//! in f64, recomputation from differences where an expansion cancels), arranged so that the
//! logits run near the machine's FMA rate and nothing leaves the core's caches between steps:
//! per tile of [`MR`] real tokens, the rows are centred into an L1-resident buffer, the logits
//! `(h - c) . (p_k - c)` are one register-blocked GEMM tile against `P'^T`, and each token's
//! softmax (a vectorised f64 exp) and loss sums run on K in f64 lanes.

use std::arch::x86_64::*;

use super::forward::{exact_distance, losses, BlockIo, Sums, CANCEL};
use super::protos::Protos;

/// Tokens per register tile of the logits GEMM.
const MR: usize = 12;

/// Largest K the kernel takes (four 16-lane vectors of logits); beyond it the portable kernel
/// runs.
const MAX_K: usize = 64;

/// Lanes of an f32 and an f64 vector.
const F32S: usize = 16;
const F64S: usize = 8;

/// One 64-byte line of `P'^T`, so that every vector load of it is aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; F32S]);

/// The prototype bank laid out for the kernel.
pub(crate) struct Packed {
    /// K rounded up to a multiple of 16.
    kp: usize,
    /// `P'^T = (P - c)^T`, (D, Kp), zero beyond K.
    pt: Vec<Line>,
    /// `||p'_k||^2`, (Kp), zero beyond K.
    norms: Vec<f64>,
    /// Row j is `[ ||p_j - p_l||^2 ; p'_j . p'_l ]` over l, each half Kp long and zero beyond K,
    /// (K, 2 Kp).
    pairs: Vec<f64>,
}

impl Packed {
    /// The layout of `protos`, or `None` when this CPU lacks AVX-512F or K exceeds [`MAX_K`].
    pub fn new(protos: &Protos<f32>) -> Option<Self> {
        let cpu = is_x86_feature_detected!("avx512f")
            && is_x86_feature_detected!("avx512vl")
            && is_x86_feature_detected!("avx2")
            && is_x86_feature_detected!("fma");
        if !cpu || protos.k > MAX_K {
            return None;
        }
        let (k, d) = (protos.k, protos.d);
        let kp = k.div_ceil(F32S) * F32S;
        let mut pt = vec![Line([0.0; F32S]); d * kp / F32S];
        for (j, row) in protos.centred.chunks_exact(d).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                pt[(i * kp + j) / F32S].0[j % F32S] = v;
            }
        }
        let mut norms = vec![0.0; kp];
        norms[..k].copy_from_slice(&protos.norms);
        let mut pairs = vec![0.0; k * 2 * kp];
        for (row, src) in pairs
            .chunks_exact_mut(2 * kp)
            .zip(protos.pairs.chunks_exact(2 * k))
        {
            row[..k].copy_from_slice(&src[..k]);
            row[kp..kp + k].copy_from_slice(&src[k..]);
        }
        Some(Self {
            kp,
            pt,
            norms,
            pairs,
        })
    }

    /// One block of the forward.
    pub fn block(&self, protos: &Protos<f32>, p: &[f32], tau: f64, io: BlockIo<f32>) {
        // SAFETY: a `Packed` exists only where `new` found AVX-512F/VL, AVX2 and FMA.
        unsafe {
            match self.kp / F32S {
                1 => run::<1, 2>(self, protos, p, tau, io),
                2 => run::<2, 4>(self, protos, p, tau, io),
                3 => run::<3, 6>(self, protos, p, tau, io),
                _ => run::<4, 8>(self, protos, p, tau, io),
            }
        }
    }
}

/// The block, for `NV = Kp / 16` vectors of f32 logits and `NC = Kp / 8` vectors of f64.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn run<const NV: usize, const NC: usize>(
    pk: &Packed,
    protos: &Protos<f32>,
    p: &[f32],
    tau: f64,
    io: BlockIo<f32>,
) {
    let (k, d) = (protos.k, protos.d);
    let real: Vec<usize> = (0..io.mask.len()).filter(|&r| io.mask[r] != 0.0).collect();
    let mut hc = vec![0f32; MR * d];
    let mut a = vec![0f32; MR * pk.kp];
    let mut hh = [0f64; MR];
    for tile in real.chunks(MR) {
        for (i, &r) in tile.iter().enumerate() {
            let (row, out) = (&io.h[r * d..(r + 1) * d], &mut hc[i * d..(i + 1) * d]);
            hh[i] = centre(row, &protos.center, out);
        }
        hc[tile.len() * d..].fill(0.0);
        let mut col = 0;
        while col < NV {
            if NV - col >= 2 {
                logits::<2>(&hc, d, pk, col, &mut a);
                col += 2;
            } else {
                logits::<1>(&hc, d, pk, col, &mut a);
                col += 1;
            }
        }
        for (i, &r) in tile.iter().enumerate() {
            let token = Token {
                h: &io.h[r * d..(r + 1) * d],
                hh: hh[i],
                a: &a[i * pk.kp..(i + 1) * pk.kp],
            };
            let out = Out {
                q: &mut io.q[r * k..(r + 1) * k],
                d: &mut io.d[r * k..(r + 1) * k],
                terms: &mut io.terms[r * 3..(r + 1) * 3],
            };
            epilogue::<NC>(pk, protos, p, tau, &token, out);
        }
    }
}

/// Writes `h - c` into `out` and returns `||h - c||^2`, accumulated in f64.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn centre(h: &[f32], c: &[f32], out: &mut [f32]) -> f64 {
    let n = h.len();
    let (hp, cp, op) = (h.as_ptr(), c.as_ptr(), out.as_mut_ptr());
    let mut acc = [_mm512_setzero_pd(); 4];
    let mut i = 0;
    while i + 4 * F64S <= n {
        for (j, acc) in acc.iter_mut().enumerate() {
            let at = i + j * F64S;
            let v = _mm256_sub_ps(_mm256_loadu_ps(hp.add(at)), _mm256_loadu_ps(cp.add(at)));
            _mm256_storeu_ps(op.add(at), v);
            let w = _mm512_cvtps_pd(v);
            *acc = _mm512_fmadd_pd(w, w, *acc);
        }
        i += 4 * F64S;
    }
    while i + F64S <= n {
        let v = _mm256_sub_ps(_mm256_loadu_ps(hp.add(i)), _mm256_loadu_ps(cp.add(i)));
        _mm256_storeu_ps(op.add(i), v);
        let w = _mm512_cvtps_pd(v);
        acc[0] = _mm512_fmadd_pd(w, w, acc[0]);
        i += F64S;
    }
    let mut tail = 0f64;
    for j in i..n {
        let v = h[j] - c[j];
        out[j] = v;
        tail += f64::from(v) * f64::from(v);
    }
    let sum = _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3]));
    _mm512_reduce_add_pd(sum) + tail
}

/// Logits of one tile: `a[r, 16 col ..] = hc[r] . P'^T[.., 16 col ..]` for `W` vectors of
/// prototypes, the [`MR`] x `W` accumulators held in registers over the whole of D.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn logits<const W: usize>(hc: &[f32], d: usize, pk: &Packed, col: usize, a: &mut [f32]) {
    let lines = pk.kp / F32S;
    let (hp, pt) = (hc.as_ptr(), pk.pt.as_ptr());
    let mut acc = [[_mm512_setzero_ps(); W]; MR];
    for i in 0..d {
        let mut pv = [_mm512_setzero_ps(); W];
        for (v, pv) in pv.iter_mut().enumerate() {
            *pv = _mm512_load_ps(pt.add(i * lines + col + v).cast());
        }
        for (r, acc) in acc.iter_mut().enumerate() {
            let b = _mm512_set1_ps(*hp.add(r * d + i));
            for (acc, &pv) in acc.iter_mut().zip(&pv) {
                *acc = _mm512_fmadd_ps(b, pv, *acc);
            }
        }
    }
    let ap = a.as_mut_ptr();
    for (r, acc) in acc.iter().enumerate() {
        for (v, &acc) in acc.iter().enumerate() {
            _mm512_storeu_ps(ap.add(r * pk.kp + (col + v) * F32S), acc);
        }
    }
}

/// One real token for the epilogue.
struct Token<'a> {
    /// Its hidden state, (D).
    h: &'a [f32],
    /// `||h - c||^2`.
    hh: f64,
    /// `(h - c) . (p_k - c)`, (Kp).
    a: &'a [f32],
}

/// Where one token's results go: q and d, (K) each, and `[L_SQ, L_OLS, V]`.
struct Out<'a> {
    q: &'a mut [f32],
    d: &'a mut [f32],
    terms: &'a mut [f32],
}

/// Distances, softmax and loss terms of one real token, on K in f64 lanes.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn epilogue<const NC: usize>(
    pk: &Packed,
    protos: &Protos<f32>,
    p: &[f32],
    tau: f64,
    t: &Token,
    out: Out,
) {
    let (k, dim, kp) = (protos.k, protos.d, pk.kp);
    let hh = _mm512_set1_pd(t.hh);
    let mut dist = [_mm512_setzero_pd(); NC];
    let mut av = [_mm512_setzero_pd(); NC];
    let mut dmin = _mm512_set1_pd(f64::INFINITY);
    for c in 0..NC {
        let valid = lanes(k, c);
        let a = _mm512_cvtps_pd(_mm256_loadu_ps(t.a.as_ptr().add(c * F64S)));
        let n = _mm512_loadu_pd(pk.norms.as_ptr().add(c * F64S));
        // d = ||h-c||^2 - 2 a + ||p'||^2, recomputed from differences where it cancels
        let mut e = _mm512_add_pd(_mm512_fnmadd_pd(_mm512_set1_pd(2.0), a, hh), n);
        let bound = _mm512_mul_pd(_mm512_set1_pd(CANCEL), _mm512_add_pd(hh, n));
        let cancel = _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(valid, e, bound);
        if cancel != 0 {
            let mut v = [0f64; F64S];
            _mm512_storeu_pd(v.as_mut_ptr(), e);
            for (l, v) in v.iter_mut().enumerate() {
                if cancel & (1 << l) != 0 {
                    let j = c * F64S + l;
                    *v = exact_distance(t.h, &p[j * dim..(j + 1) * dim]);
                }
            }
            e = _mm512_loadu_pd(v.as_ptr());
        }
        dist[c] = _mm512_maskz_mov_pd(valid, e);
        av[c] = a;
        dmin = _mm512_mask_min_pd(dmin, valid, dmin, e);
    }
    // q = softmax(-d / tau), shifted by the smallest distance
    let dmin = _mm512_set1_pd(_mm512_reduce_min_pd(dmin));
    let inv_tau = _mm512_set1_pd(1.0 / tau);
    let mut q = [_mm512_setzero_pd(); NC];
    let mut z = _mm512_setzero_pd();
    for c in 0..NC {
        let x = _mm512_mul_pd(_mm512_sub_pd(dmin, dist[c]), inv_tau);
        q[c] = _mm512_maskz_mov_pd(lanes(k, c), exp(x));
        z = _mm512_add_pd(z, q[c]);
    }
    let inv_z = _mm512_set1_pd(1.0 / _mm512_reduce_add_pd(z));
    let mut qs = [0f64; MAX_K];
    let (mut sigma, mut l_sq, mut qa) = (
        _mm512_setzero_pd(),
        _mm512_setzero_pd(),
        _mm512_setzero_pd(),
    );
    for c in 0..NC {
        q[c] = _mm512_mul_pd(q[c], inv_z);
        _mm512_storeu_pd(qs.as_mut_ptr().add(c * F64S), q[c]);
        sigma = _mm512_add_pd(sigma, q[c]);
        l_sq = _mm512_fmadd_pd(q[c], dist[c], l_sq);
        qa = _mm512_fmadd_pd(q[c], av[c], qa);
    }
    // y = q^T [Dp | G'], over prototypes j in pairs: two independent chains per vector
    let mut ydp = [[_mm512_setzero_pd(); NC]; 2];
    let mut yg = [[_mm512_setzero_pd(); NC]; 2];
    let row = |j: usize| pk.pairs.as_ptr().add(j * 2 * kp);
    let step = |j: usize, ydp: &mut [__m512d; NC], yg: &mut [__m512d; NC]| {
        let (qj, row) = (_mm512_set1_pd(qs[j]), row(j));
        for c in 0..NC {
            let dp = _mm512_loadu_pd(row.add(c * F64S));
            let g = _mm512_loadu_pd(row.add(kp + c * F64S));
            ydp[c] = _mm512_fmadd_pd(qj, dp, ydp[c]);
            yg[c] = _mm512_fmadd_pd(qj, g, yg[c]);
        }
    };
    let [ydp0, ydp1] = &mut ydp;
    let [yg0, yg1] = &mut yg;
    for j in (0..k).step_by(2) {
        step(j, ydp0, yg0);
        if j + 1 < k {
            step(j + 1, ydp1, yg1);
        }
    }
    let (mut var, mut qgq) = (_mm512_setzero_pd(), _mm512_setzero_pd());
    for c in 0..NC {
        var = _mm512_fmadd_pd(q[c], _mm512_add_pd(ydp[0][c], ydp[1][c]), var);
        qgq = _mm512_fmadd_pd(q[c], _mm512_add_pd(yg[0][c], yg[1][c]), qgq);
    }
    let sums = Sums {
        sigma: _mm512_reduce_add_pd(sigma),
        l_sq: _mm512_reduce_add_pd(l_sq),
        var: 0.5 * _mm512_reduce_add_pd(var),
        qgq: _mm512_reduce_add_pd(qgq),
        qa: _mm512_reduce_add_pd(qa),
    };
    let terms = losses(protos, t.h, p, t.hh, &qs[..k], &sums);
    for (o, v) in out.terms.iter_mut().zip(terms) {
        *o = v as f32;
    }
    let (qo, dout) = (out.q.as_mut_ptr(), out.d.as_mut_ptr());
    for c in 0..NC {
        let valid = lanes(k, c);
        // lanes past K are masked off and never touched
        let at = c * F64S;
        _mm256_mask_storeu_ps(qo.wrapping_add(at), valid, _mm512_cvtpd_ps(q[c]));
        _mm256_mask_storeu_ps(dout.wrapping_add(at), valid, _mm512_cvtpd_ps(dist[c]));
    }
}

/// The lanes of f64 vector `c` that hold one of the K prototypes.
fn lanes(k: usize, c: usize) -> __mmask8 {
    let n = k.saturating_sub(c * F64S).min(F64S);
    ((1u16 << n) - 1) as __mmask8
}

/// `e^x` for `x <= 0` in f64 lanes, within about an ulp: `x = n ln2 + r` with `|r| <= ln2 / 2`
/// (Cody-Waite split of ln 2), `e^r` by its Taylor polynomial of degree 13 (truncation below
/// 2e-17 relative), then scaled by `2^n`, down through the subnormals to zero.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn exp(x: __m512d) -> __m512d {
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1/13!, 1/12!, ..., 1/1!, 1/0!
    const TAYLOR: [f64; 14] = {
        let mut c = [1.0; 14];
        let mut i = 12;
        loop {
            c[i] = c[i + 1] / (13 - i) as f64;
            if i == 0 {
                break;
            }
            i -= 1;
        }
        c
    };
    let x = _mm512_max_pd(x, _mm512_set1_pd(-746.0));
    let n = _mm512_roundscale_pd::<{ _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC }>(
        _mm512_mul_pd(x, _mm512_set1_pd(std::f64::consts::LOG2_E)),
    );
    let r = _mm512_fnmadd_pd(n, _mm512_set1_pd(LN2_HI), x);
    let r = _mm512_fnmadd_pd(n, _mm512_set1_pd(LN2_LO), r);
    let mut e = _mm512_set1_pd(TAYLOR[0]);
    for &c in &TAYLOR[1..] {
        e = _mm512_fmadd_pd(e, r, _mm512_set1_pd(c));
    }
    _mm512_scalef_pd(e, n)
}
