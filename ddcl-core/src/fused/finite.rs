//! A one-pass scan of the real rows of a tensor: NaN/inf count and largest magnitude.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};
use rayon::prelude::*;

use crate::cpu::{contiguous, map, Elem, Map};

/// (rows, D) values and (rows) mask -> f64 [count, first, max_abs] over the rows whose mask is
/// non-zero: the number of non-finite values, the row-major index of the first (equal to the
/// element count when there is none) and the largest |value| among the finite ones (0 when
/// there is none).
pub(crate) struct NonFinite;

fn scan<E: Elem>(x: &[E], mask: &[E]) -> [f64; 3] {
    let d = x.len() / mask.len().max(1);
    let (count, first, max_abs) = x
        .par_chunks(d.max(1))
        .zip(mask)
        .enumerate()
        .filter(|(_, (_, &m))| m != E::ZERO)
        .map(|(r, (row, _))| {
            row.iter()
                .enumerate()
                .fold((0, usize::MAX, 0f64), |(n, first, max), (i, v)| {
                    let v = v.to_f64();
                    if v.is_finite() {
                        (n, first, max.max(v.abs()))
                    } else {
                        (n + 1, first.min(r * d + i), max)
                    }
                })
        })
        .reduce(
            || (0, usize::MAX, 0f64),
            |a, b| (a.0 + b.0, a.1.min(b.1), a.2.max(b.2)),
        );
    [count as f64, first.min(x.len()) as f64, max_abs]
}

impl CustomOp2 for NonFinite {
    fn name(&self) -> &'static str {
        "ddcl-non-finite"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> candle_core::Result<(CpuStorage, Shape)> {
        map(self.name(), self, [(s1, l1), (s2, l2)])
    }
}

impl<E: Elem> Map<E, 2> for NonFinite {
    fn f(&self, inputs: [(&[E], &Layout); 2]) -> candle_core::Result<(CpuStorage, Shape)> {
        let [x, mask] = contiguous(inputs, self.name())?;
        Ok((CpuStorage::F64(scan(x, mask).to_vec()), Shape::from(3)))
    }
}
