//! The f32 forward kernel in AVX-512, chosen at run time where the CPU has it.
//!
//! Same quantities and numerics as the portable kernel (centred frame, per-token sums in f64,
//! recomputation from differences where an expansion cancels), arranged so that the logits run
//! at the machine's FMA rate and the per-token work needs no horizontal reduction. Per tile of
//! [`MR`] real tokens:
//! - the rows are centred into an L1-resident panel, 16 features of all [`MR`] rows per 1 KiB
//!   chunk, so that every broadcast of the logits GEMM sits at a fixed offset;
//! - the logits `(h - c) . (p_k - c)` are one register-blocked tile per 16 prototypes;
//! - the epilogue (distances, softmax, loss sums) runs on 8 tokens at once, one token per f64
//!   lane; the tile is transposed in registers on its way in and the outputs on their way out.

use std::arch::x86_64::*;
use std::cell::RefCell;
use std::mem::transmute;

use super::distance::CANCEL;
use super::lanes::{tail16, tail8, LANES};
use super::planes::BlockIo;
use super::protos::Protos;

/// Tokens per tile of the logits GEMM: two epilogue groups.
const MR: usize = 16;

/// Largest K the kernel takes; beyond it the portable kernel runs.
const MAX_K: usize = 64;

/// Lanes of an f32 vector.
const F32S: usize = 16;

/// One 64-byte line, so that every vector load of the panel and of `P'^T` is aligned.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; F32S]);

const ZERO: Line = Line([0.0; F32S]);

/// The prototype bank laid out for the kernel.
pub(crate) struct Packed {
    k: usize,
    d: usize,
    /// Lines per row of `P'^T`: K / 16 rounded up.
    lines: usize,
    /// Chunks of 16 features: D / 16 rounded up.
    chunks: usize,
    /// `P'^T = (P - c)^T`: 16 `chunks` rows of `lines` lines each, zero beyond D and K.
    pt: Vec<Line>,
    /// `||p'_k||^2`, (K).
    norms: Vec<f64>,
    /// Row j is `[ ||p_j - p_l||^2 ; w_jl p'_j . p'_l ]` over l, (K, 2K), read for l > j and
    /// l >= j: with `w_jj = 1` and `w_jl = 2`, `q^T G' q = sum_j q_j sum_{l>=j} w_jl G'_jl q_l`.
    upper: Vec<f64>,
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
        let (lines, chunks) = (k.div_ceil(F32S), d.div_ceil(F32S));
        let mut pt = vec![ZERO; chunks * F32S * lines];
        for (j, row) in protos.centred.chunks_exact(d).enumerate() {
            for (i, &v) in row.iter().enumerate() {
                pt[i * lines + j / F32S].0[j % F32S] = v;
            }
        }
        let mut upper = protos.pairs.clone();
        for (j, row) in upper.chunks_exact_mut(2 * k).enumerate() {
            row[k + j + 1..].iter_mut().for_each(|g| *g *= 2.0);
        }
        Some(Self {
            k,
            d,
            lines,
            chunks,
            pt,
            norms: protos.norms.clone(),
            upper,
        })
    }

    /// One block of the forward.
    pub fn block(&self, protos: &Protos<f32>, p: &[f32], tau: f64, io: &mut BlockIo<f32>) {
        // SAFETY: a `Packed` exists only where `new` found AVX-512F/VL, AVX2 and FMA.
        unsafe { run(self, &protos.center, p, tau, io) }
    }
}

/// The block: tiles of [`MR`] real tokens, padding rows skipped.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn run(pk: &Packed, center: &[f32], p: &[f32], tau: f64, io: &mut BlockIo<f32>) {
    thread_local! {
        /// Each thread's work space, kept from block to block.
        static SCRATCH: RefCell<Scratch> = const {
            RefCell::new(Scratch { panel: Vec::new(), a: Vec::new(), per_k: Vec::new() })
        };
    }
    SCRATCH.with_borrow_mut(|s| {
        s.panel.resize(pk.chunks * MR, ZERO);
        s.a.resize(pk.lines * MR, ZERO);
        s.per_k.resize(3 * pk.k, _mm512_setzero_pd());
        tiles(pk, center, p, tau, io, s);
    });
}

/// Work space of one thread.
struct Scratch {
    /// The centred tile, (chunks, [`MR`]) lines.
    panel: Vec<Line>,
    /// Its logits, (lines, [`MR`]) lines.
    a: Vec<Line>,
    /// The epilogue's a, d and q of a group, (3, K) vectors.
    per_k: Vec<__m512d>,
}

/// The tiles of a block, with the thread's scratch space.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn tiles(
    pk: &Packed,
    center: &[f32],
    p: &[f32],
    tau: f64,
    io: &mut BlockIo<f32>,
    s: &mut Scratch,
) {
    let (d, panel, a) = (pk.d, &mut s.panel, &mut s.a);
    let real: Vec<usize> = (0..io.mask.len()).filter(|&r| io.mask[r] != 0.0).collect();
    let mut hh = [0f64; MR];
    let tiles: Vec<&[usize]> = real.chunks(MR).collect();
    for (ti, tile) in tiles.iter().enumerate() {
        for (i, &r) in tile.iter().enumerate() {
            hh[i] = centre(&io.h[r * d..(r + 1) * d], center, panel, i);
        }
        for i in tile.len()..MR {
            (0..pk.chunks).for_each(|c| panel[c * MR + i] = ZERO);
            hh[i] = 0.0;
        }
        // the next tile's rows travel to L2 while this one's logits run, a line of each per
        // chunk of the first column pass
        let next = tiles.get(ti + 1).copied().unwrap_or_default();
        let mut rows = [std::ptr::null::<f32>(); MR];
        for (row, &r) in rows.iter_mut().zip(next) {
            *row = io.h[r * d..].as_ptr();
        }
        for (col, a) in a.chunks_exact_mut(MR).enumerate() {
            let fetch = if col == 0 { &rows[..next.len()] } else { &[] };
            logits(panel, pk, col, a, fetch);
        }
        for (g, rows) in tile.chunks(LANES).enumerate() {
            let group = Group {
                a,
                first: g * LANES,
                rows,
                hh: _mm512_loadu_pd(hh.as_ptr().add(g * LANES)),
            };
            epilogue(pk, p, tau, &group, io, &mut s.per_k);
        }
    }
}

/// Writes `h - c` into row `row` of the panel and returns `||h - c||^2`, accumulated in f64.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn centre(h: &[f32], c: &[f32], panel: &mut [Line], row: usize) -> f64 {
    let d = h.len();
    assert!(c.len() == d && panel.len() >= d.div_ceil(F32S) * MR);
    let (hp, cp, out) = (
        h.as_ptr(),
        c.as_ptr(),
        panel.as_mut_ptr().add(row).cast::<f32>(),
    );
    // chunk `ch` of h - c into the panel, returned in f64 as two halves
    let chunk = |ch: usize, m: __mmask16| {
        let at = ch * F32S;
        let v = _mm512_sub_ps(
            _mm512_maskz_loadu_ps(m, hp.add(at)),
            _mm512_maskz_loadu_ps(m, cp.add(at)),
        );
        _mm512_store_ps(out.add(ch * MR * F32S), v);
        let hi = _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)));
        (
            _mm512_cvtps_pd(_mm512_castps512_ps256(v)),
            _mm512_cvtps_pd(hi),
        )
    };
    let mut acc = [_mm512_setzero_pd(); 4];
    let full = d / F32S;
    for ch in (0..full & !1).step_by(2) {
        for (ch, acc) in [ch, ch + 1].into_iter().zip(acc.chunks_exact_mut(2)) {
            let (lo, hi) = chunk(ch, u16::MAX);
            acc[0] = _mm512_fmadd_pd(lo, lo, acc[0]);
            acc[1] = _mm512_fmadd_pd(hi, hi, acc[1]);
        }
    }
    for ch in full & !1..d.div_ceil(F32S) {
        let (lo, hi) = chunk(ch, tail16(d - ch * F32S));
        acc[0] = _mm512_fmadd_pd(lo, lo, acc[0]);
        acc[1] = _mm512_fmadd_pd(hi, hi, acc[1]);
    }
    let sum = _mm512_add_pd(_mm512_add_pd(acc[0], acc[1]), _mm512_add_pd(acc[2], acc[3]));
    _mm512_reduce_add_pd(sum)
}

/// Logits of the tile against prototypes `16 col .. 16 col + 16`: `out[r] = (h_r - c) . P'^T`,
/// the [`MR`] accumulators held in registers over the whole of D. Chunk by chunk, the same
/// 64 bytes of each row in `fetch` are prefetched to L2.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn logits(panel: &[Line], pk: &Packed, col: usize, out: &mut [Line], fetch: &[*const f32]) {
    let mut acc = [_mm512_setzero_ps(); MR];
    for ch in 0..pk.chunks {
        for &row in fetch {
            _mm_prefetch::<_MM_HINT_T1>(row.wrapping_add(ch * F32S).cast());
        }
        let h = panel.as_ptr().add(ch * MR).cast::<f32>();
        let pt = pk.pt.as_ptr().add(ch * F32S * pk.lines + col);
        for i in 0..F32S {
            let pv = _mm512_load_ps(pt.add(i * pk.lines).cast());
            for (r, acc) in acc.iter_mut().enumerate() {
                *acc = _mm512_fmadd_ps(_mm512_set1_ps(*h.add(r * F32S + i)), pv, *acc);
            }
        }
    }
    for (o, acc) in out.iter_mut().zip(acc) {
        _mm512_store_ps(o.0.as_mut_ptr(), acc);
    }
}

/// Up to [`LANES`] tokens of a tile, one per f64 lane.
struct Group<'a> {
    /// The tile's logits, (lines, [`MR`]) lines.
    a: &'a [Line],
    /// Index of the group's first token in the tile.
    first: usize,
    /// The tokens' rows in the block.
    rows: &'a [usize],
    /// `||h - c||^2` per token, zero in unused lanes.
    hh: __m512d,
}

/// Distances, softmax and loss terms of one group, K values per token held as K vectors.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn epilogue(
    pk: &Packed,
    p: &[f32],
    tau: f64,
    g: &Group,
    io: &mut BlockIo<f32>,
    per_k: &mut [__m512d],
) {
    let (k, d) = (pk.k, pk.d);
    let valid = tail8(g.rows.len());
    let (hh, hs) = (g.hh, io.h);
    let h = |l: usize| &hs[g.rows[l] * d..(g.rows[l] + 1) * d];
    let proto = |j: usize| &p[j * d..(j + 1) * d];
    // a_k per token: 8 x 8 blocks of the logits tile, transposed
    let (av, rest) = per_k.split_at_mut(k);
    let (dist, q) = rest.split_at_mut(k);
    for kg in 0..k.div_ceil(LANES) {
        let (col, half) = (kg / 2, (kg % 2) * LANES);
        let rows = std::array::from_fn(|t| {
            _mm256_load_ps(g.a[col * MR + g.first + t].0.as_ptr().add(half))
        });
        for (c, v) in transpose8(rows).into_iter().enumerate() {
            let j = kg * LANES + c;
            if j < k {
                av[j] = _mm512_cvtps_pd(v);
            }
        }
    }
    // d = ||h-c||^2 - 2 a + ||p'||^2, recomputed from differences where it cancels
    let mut dmin = _mm512_set1_pd(f64::INFINITY);
    for (j, (&a, dist)) in av.iter().zip(dist.iter_mut()).enumerate() {
        let n = _mm512_set1_pd(pk.norms[j]);
        let mut e = _mm512_add_pd(_mm512_fnmadd_pd(_mm512_set1_pd(2.0), a, hh), n);
        let bound = _mm512_mul_pd(_mm512_set1_pd(CANCEL), _mm512_add_pd(hh, n));
        let cancel = _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(valid, e, bound);
        if cancel != 0 {
            e = patch(e, cancel, |l| exact_distance(h(l), proto(j)));
        }
        *dist = e;
        dmin = _mm512_min_pd(dmin, e);
    }
    // q = softmax(-d / tau), shifted by each token's smallest distance
    let inv_tau = _mm512_set1_pd(1.0 / tau);
    let mut z = _mm512_setzero_pd();
    for (q, &dist) in q.iter_mut().zip(&*dist) {
        *q = exp(_mm512_mul_pd(_mm512_sub_pd(dmin, dist), inv_tau));
        z = _mm512_add_pd(z, *q);
    }
    let inv_z = _mm512_div_pd(_mm512_set1_pd(1.0), z);
    let zero = _mm512_setzero_pd();
    let (mut sigma, mut l_sq, mut qa) = (zero, zero, zero);
    for ((q, &dist), &a) in q.iter_mut().zip(&*dist).zip(&*av) {
        *q = _mm512_mul_pd(*q, inv_z);
        sigma = _mm512_add_pd(sigma, *q);
        l_sq = _mm512_fmadd_pd(*q, dist, l_sq);
        qa = _mm512_fmadd_pd(*q, a, qa);
    }
    // V = q^T Dp q / 2 and q^T G' q over the upper triangles
    let (mut var, mut qgq) = (zero, zero);
    for j in 0..k {
        let row = pk.upper.as_ptr().add(j * 2 * k);
        let mut tv = zero;
        let mut tg = _mm512_mul_pd(_mm512_set1_pd(*row.add(k + j)), q[j]);
        let (dp, g2) = (row.add(j + 1), row.add(k + j + 1));
        for (l, &ql) in q[j + 1..].iter().enumerate() {
            tv = _mm512_fmadd_pd(_mm512_set1_pd(*dp.add(l)), ql, tv);
            tg = _mm512_fmadd_pd(_mm512_set1_pd(*g2.add(l)), ql, tg);
        }
        var = _mm512_fmadd_pd(q[j], tv, var);
        qgq = _mm512_fmadd_pd(q[j], tg, qgq);
    }
    // L_OLS = sigma^2 ||h-c||^2 - 2 sigma q.a + q^T G' q, from differences where it cancels
    let hh_s = _mm512_mul_pd(_mm512_mul_pd(sigma, sigma), hh);
    let two_sigma = _mm512_add_pd(sigma, sigma);
    let mut ols = _mm512_add_pd(_mm512_fnmadd_pd(two_sigma, qa, hh_s), qgq);
    let bound = _mm512_mul_pd(_mm512_set1_pd(CANCEL), _mm512_add_pd(hh_s, qgq));
    let cancel = _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(valid, ols, bound);
    if cancel != 0 {
        ols = patch(ols, cancel, |l| {
            let ql: Vec<f64> = q.iter().map(|&v| lane(v, l)).collect();
            exact_ols(h(l), p, &ql)
        });
    }
    for (l, &r) in g.rows.iter().enumerate() {
        let terms = [lane(l_sq, l), lane(ols, l), lane(var, l)];
        for (o, v) in io.terms[r * 3..r * 3 + 3].iter_mut().zip(terms) {
            *o = v as f32;
        }
    }
    store(q, g.rows, io.q);
    store(dist, g.rows, io.d);
}

/// Writes the K vectors `v` (one token per lane) as f32 rows of K into `out` at the tokens' rows.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn store(v: &[__m512d], rows: &[usize], out: &mut [f32]) {
    let k = v.len();
    for kg in 0..k.div_ceil(LANES) {
        let cols = std::array::from_fn(|c| {
            v.get(kg * LANES + c)
                .map_or(_mm256_setzero_ps(), |&v| _mm512_cvtpd_ps(v))
        });
        let m = tail8(k - kg * LANES);
        for (t, &r) in transpose8(cols).iter().zip(rows) {
            let at = r * k + kg * LANES;
            // lanes past K are masked off and never touched
            _mm256_mask_storeu_ps(out[at..].as_mut_ptr(), m, *t);
        }
    }
}

/// The 8 x 8 transpose: row i of the result holds element i of every input row.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn transpose8(r: [__m256; 8]) -> [__m256; 8] {
    let t = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let s = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xee>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xee>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xee>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xee>(t[5], t[7]),
    ];
    std::array::from_fn(|i| {
        let (a, b) = (s[i % 4], s[4 + i % 4]);
        if i < 4 {
            _mm256_permute2f128_ps::<0x20>(a, b)
        } else {
            _mm256_permute2f128_ps::<0x31>(a, b)
        }
    })
}

/// Lane `l` of `v`.
fn lane(v: __m512d, l: usize) -> f64 {
    // SAFETY: __m512d and [f64; 8] have the same size and every bit pattern is valid in both.
    unsafe { transmute::<__m512d, [f64; 8]>(v)[l] }
}

/// `v` with the lanes set in `lanes` replaced by `f(lane)`.
fn patch(v: __m512d, lanes: __mmask8, f: impl Fn(usize) -> f64) -> __m512d {
    // SAFETY: as in `lane`.
    let mut x = unsafe { transmute::<__m512d, [f64; 8]>(v) };
    for (l, x) in x.iter_mut().enumerate() {
        if lanes & (1 << l) != 0 {
            *x = f(l);
        }
    }
    // SAFETY: as in `lane`.
    unsafe { transmute::<[f64; 8], __m512d>(x) }
}

/// `||h - p_j||^2` from differences, in f64: exact to a few ulps.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn exact_distance(h: &[f32], p_j: &[f32]) -> f64 {
    let mut acc = _mm512_setzero_pd();
    for at in (0..h.len()).step_by(LANES) {
        let x = _mm512_sub_pd(wide8(h, at), wide8(p_j, at));
        acc = _mm512_fmadd_pd(x, x, acc);
    }
    _mm512_reduce_add_pd(acc)
}

/// `||sum_k q_k (h - p_k)||^2` from differences, in f64: exact to a few ulps.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn exact_ols(h: &[f32], p: &[f32], q: &[f64]) -> f64 {
    let d = h.len();
    let mut acc = _mm512_setzero_pd();
    for at in (0..d).step_by(LANES) {
        let x = wide8(h, at);
        let mut e = _mm512_setzero_pd();
        for (j, &qj) in q.iter().enumerate() {
            let diff = _mm512_sub_pd(x, wide8(&p[j * d..(j + 1) * d], at));
            e = _mm512_fmadd_pd(_mm512_set1_pd(qj), diff, e);
        }
        acc = _mm512_fmadd_pd(e, e, acc);
    }
    _mm512_reduce_add_pd(acc)
}

/// `x[at .. at + 8]` in f64, zeros past the end.
#[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
unsafe fn wide8(x: &[f32], at: usize) -> __m512d {
    let m = tail8(x.len() - at);
    _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m, x.as_ptr().add(at)))
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
