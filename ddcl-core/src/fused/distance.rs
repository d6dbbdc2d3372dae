//! Squared distances in the centred frame: the expansion, and the recomputation from differences
//! where it cancels.

use crate::cpu::Elem;

/// An expanded quantity `x = a - 2b + c` is recomputed from differences when it falls below this
/// share of `a + c`: its rounding error, about `eps * (a + c)`, then stays within a few ulps of `x`.
pub(crate) const CANCEL: f64 = 0.25;

/// Writes `h - c` into `out` and returns `||h - c||^2`, accumulated in f64 over eight lanes so
/// that the loop vectorises.
pub(crate) fn centre<E: Elem>(h: &[E], c: &[E], out: &mut [E]) -> f64 {
    const L: usize = 8;
    let mut acc = [0f64; L];
    let split = h.len() / L * L;
    for ((o, x), c) in out[..split]
        .chunks_exact_mut(L)
        .zip(h[..split].chunks_exact(L))
        .zip(c[..split].chunks_exact(L))
    {
        for i in 0..L {
            o[i] = x[i] - c[i];
            let v = o[i].to_f64();
            acc[i] += v * v;
        }
    }
    let mut tail = 0f64;
    for ((o, &x), &c) in out[split..].iter_mut().zip(&h[split..]).zip(&c[split..]) {
        *o = x - c;
        tail += o.to_f64() * o.to_f64();
    }
    acc.iter().sum::<f64>() + tail
}

/// `||h - p_j||^2` from differences, in f64: exact to a few ulps.
pub(crate) fn exact_distance<E: Elem>(h: &[E], p_j: &[E]) -> f64 {
    h.iter()
        .zip(p_j)
        .map(|(&x, &y)| (x.to_f64() - y.to_f64()).powi(2))
        .sum()
}
