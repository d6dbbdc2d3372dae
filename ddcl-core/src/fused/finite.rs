//! A one-pass NaN/inf count over the real rows of a tensor.

use candle_core::{CpuStorage, CustomOp2, Layout, Shape};
use rayon::prelude::*;

use crate::cpu::{contiguous, map, Elem, Map};

/// (rows, D) values and (rows) mask -> f64 [count, first] of non-finite values in rows whose mask
/// is non-zero; `first` is a row-major index (equal to the element count when there is none).
pub(crate) struct NonFinite;

fn scan<E: Elem>(x: &[E], mask: &[E]) -> [f64; 2] {
    let d = x.len() / mask.len().max(1);
    let (count, first) = x
        .par_chunks(d.max(1))
        .zip(mask)
        .enumerate()
        .filter(|(_, (_, &m))| m != E::ZERO)
        .map(|(r, (row, _))| {
            let bad = row
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.to_f64().is_finite());
            bad.fold((0, usize::MAX), |(n, first), (i, _)| {
                (n + 1, first.min(r * d + i))
            })
        })
        .reduce(|| (0, usize::MAX), |a, b| (a.0 + b.0, a.1.min(b.1)));
    [count as f64, first.min(x.len()) as f64]
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
        Ok((CpuStorage::F64(scan(x, mask).to_vec()), Shape::from(2)))
    }
}
