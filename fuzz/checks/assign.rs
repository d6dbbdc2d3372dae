//! `ddcl_core::assign` on arbitrary shapes, masks, values and temperatures, with the finiteness
//! check on: the reference and fused backends both refuse the input with the same error, or
//! both accept it and agree within what rounding allows; nothing panics.

use candle_core::{DType, Device, Tensor};
use ddcl_core::{assign, AssignConfig, Assignment, Backend};

/// Temperatures the first selector picks from; 7 reads a raw f64 from the input.
const TAUS: [f64; 7] = [1.0, 0.5, 1e-3, 1e-30, 1e-45, 1e-300, 1e6];
/// Scales of the values: ordinary, large enough to overflow f32 distances, tiny, f64-huge.
const SCALES: [f64; 4] = [1.0, 1e20, 1e-20, 1e150];

/// Reads the bytes of an input in order, zeros once they run out.
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }

    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }
}

/// Runs one input through both backends and compares.
pub fn run(data: &[u8]) {
    let mut bytes = Bytes(data);
    let [s0, s1] = bytes.array::<2>();
    let (b, t, k) = (
        1 + (s0 & 1) as usize,
        1 + (s0 >> 1 & 3) as usize,
        (s0 >> 3 & 3) as usize,
    );
    let d = 1 + (s1 & 3) as usize;
    let dtype = if s1 >> 2 & 1 == 0 {
        DType::F32
    } else {
        DType::F64
    };
    let tau = match (s1 >> 3 & 7) as usize {
        7 => f64::from_le_bytes(bytes.array()),
        i => TAUS[i],
    };
    let scale = SCALES[(s1 >> 6) as usize];
    let with_mask = s0 >> 5 & 1 == 1;
    let simd = s0 >> 6 & 1 == 1;
    let mask: Vec<u8> = (0..b * t).map(|_| bytes.byte() & 1).collect();
    let mut values = |n: usize| -> Vec<f64> {
        (0..n)
            .map(|_| f32::from_le_bytes(bytes.array()) as f64 * scale)
            .collect()
    };
    let (hv, pv) = (values(b * t * d), values(k * d));
    let dev = Device::Cpu;
    let tensor = |v: Vec<f64>, shape: &[usize]| {
        Tensor::from_vec(v, shape, &dev)
            .and_then(|x| x.to_dtype(dtype))
            .expect("a tensor")
    };
    let (h, p) = (tensor(hv, &[b, t, d]), tensor(pv, &[k, d]));
    let mask = Tensor::from_vec(mask, (b, t), &dev).expect("mask");
    let mask = with_mask.then_some(&mask);
    let Ok(cfg) = AssignConfig::new(tau) else {
        return;
    };
    let cfg = cfg.with_simd(simd);
    let reference = assign(&h, mask, &p, &cfg.with_backend(Backend::Reference));
    let fused = assign(&h, mask, &p, &cfg.with_backend(Backend::Fused));
    match (reference, fused) {
        (Err(r), Err(f)) => assert_eq!(r.to_string(), f.to_string()),
        (Ok(r), Ok(f)) => agree(&r, &f, d, tau, dtype),
        (r, f) => panic!("one backend refused: reference {r:?}, fused {f:?}"),
    }
}

fn host(t: &Tensor) -> Vec<f64> {
    t.to_dtype(DType::F64)
        .and_then(|x| x.flatten_all())
        .and_then(|x| x.to_vec1::<f64>())
        .expect("to host")
}

/// Both results are finite and agree: distances to (D + 4) roundings each, q to what those
/// errors allow at temperature `tau` (softmax moves by at most twice the change of its
/// arguments), the loss means to what q's and the distances' errors allow.
fn agree(r: &Assignment, f: &Assignment, d: usize, tau: f64, dtype: DType) {
    let (eps, floor, q_floor): (f64, f64, f64) = match dtype {
        DType::F32 => (f32::EPSILON as f64, 1e-37, 1e-5),
        _ => (f64::EPSILON, 1e-300, 1e-12),
    };
    let (rd, fd) = (host(&r.dist), host(&f.dist));
    let (rq, fq) = (host(&r.q), host(&f.q));
    let k = r.q.dims()[2];
    let all = rd.iter().chain(&fd).chain(&rq).chain(&fq);
    assert!(
        all.clone().all(|v| v.is_finite()),
        "non-finite output accepted"
    );
    let err_d = |x: f64| (d as f64 + 4.0) * eps * x + floor;
    let mut dmax = 0f64;
    let mut tol_q = q_floor;
    for (row_r, row_f) in rd.chunks(k).zip(fd.chunks(k)) {
        let row_err = row_f.iter().map(|&x| err_d(x)).fold(0.0, f64::max);
        for (a, b) in row_r.iter().zip(row_f) {
            assert!((a - b).abs() <= err_d(*b), "distance {a} vs {b}");
            dmax = dmax.max(*b);
        }
        tol_q = tol_q.max((2.0 * 2.0 * row_err / tau + q_floor).min(1.0));
    }
    for (a, b) in rq.iter().zip(&fq) {
        assert!((a - b).abs() <= tol_q, "q {a} vs {b} (tolerance {tol_q})");
    }
    let tol_loss = 4.0 * k as f64 * (tol_q * dmax + err_d(dmax)) + floor;
    for (lr, lf) in [
        (&r.losses.sq, &f.losses.sq),
        (&r.losses.ols, &f.losses.ols),
        (&r.losses.var, &f.losses.var),
    ] {
        let (a, b) = (host(lr)[0], host(lf)[0]);
        assert!(a.is_finite() && b.is_finite(), "non-finite loss accepted");
        assert!(
            (a - b).abs() <= tol_loss,
            "loss {a} vs {b} (tolerance {tol_loss})"
        );
    }
}
