//! Masked mean pooling as one pass over the hidden states: the baseline a readout must beat.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};
use rayon::prelude::*;

use crate::cpu::{contiguous, map, Elem, Map};
use crate::input;
use crate::Result;

/// Mean of the real tokens of each sequence: `h` (B, T, D), `mask` (B, T) -> (B, D); zeros for
/// a sequence without real tokens. One multi-threaded pass over `h` on CPU (f32, f64), plain
/// candle ops elsewhere; differentiable with respect to `h`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::new(&[[[1f32, 2.], [3., 4.], [100., 100.]]], &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u8, 1, 0]], &Device::Cpu)?;
/// let mean = ddcl_core::masked_mean(&h, Some(&mask))?;
/// assert_eq!(mean.to_vec2::<f32>()?, vec![vec![2., 3.]]);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn masked_mean(h: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let (_, mask) = input::check_hidden(h, mask)?;
    if h.device().is_cpu() && matches!(h.dtype(), DType::F32 | DType::F64) {
        return Ok(h.contiguous()?.apply_op2(&mask.contiguous()?, MeanPool)?);
    }
    Ok(input::masked(h, &mask)?
        .sum(1)?
        .broadcast_div(&counts(&mask)?)?)
}

/// Real tokens per sequence, at least 1, (B, 1).
fn counts(mask: &Tensor) -> candle_core::Result<Tensor> {
    mask.sum_keepdim(1)?.maximum(1.0)
}

struct MeanPool;

/// Sequences of at least this many values (T x D) are split by features across threads when
/// there are fewer sequences than threads: below it, waking a thread costs more than it saves.
const SPLIT: usize = 1 << 19;

/// One pass over the real rows of each sequence. With fewer long sequences than threads, each
/// sequence's features are split across threads too, so that every core reads its share of H.
fn pool<E: Elem>(h: &[E], mask: &[E], d: usize, out: &mut [E]) {
    let b = out.len() / d;
    let t = mask.len() / b;
    let threads = rayon::current_num_threads();
    let parts = if b < threads && t * d >= SPLIT {
        threads.div_ceil(b)
    } else {
        1
    };
    let width = d.div_ceil(parts);
    out.par_chunks_mut(d).enumerate().for_each(|(b, out)| {
        let mask = &mask[b * t..(b + 1) * t];
        let inv = 1.0 / mask.iter().filter(|&&m| m != E::ZERO).count().max(1) as f64;
        out.par_chunks_mut(width).enumerate().for_each(|(j, out)| {
            // summed apart from `out`, whose ends may share a cache line with a neighbour's
            let (first, mut sum) = (j * width, vec![E::ZERO; out.len()]);
            for (i, _) in mask.iter().enumerate().filter(|(_, &m)| m != E::ZERO) {
                let row = &h[(b * t + i) * d + first..][..out.len()];
                sum.iter_mut().zip(row).for_each(|(s, &x)| *s = *s + x);
            }
            out.iter_mut()
                .zip(&sum)
                .for_each(|(o, s)| *o = E::from_f64(s.to_f64() * inv));
        });
    });
}

impl CustomOp2 for MeanPool {
    fn name(&self) -> &'static str {
        "ddcl-masked-mean"
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

    fn bwd(
        &self,
        h: &Tensor,
        mask: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let g = grad.broadcast_div(&counts(mask)?)?.unsqueeze(1)?;
        let dh = mask
            .unsqueeze(2)?
            .broadcast_mul(&g)?
            .broadcast_as(h.shape())?;
        Ok((Some(dh.contiguous()?), None))
    }
}

impl<E: Elem> Map<E, 2> for MeanPool {
    fn f(&self, inputs: [(&[E], &Layout); 2]) -> candle_core::Result<(CpuStorage, Shape)> {
        let [(_, hidden), _] = inputs;
        let (b, _, d) = hidden.shape().dims3()?;
        let [h, mask] = contiguous(inputs, self.name())?;
        let mut out = vec![E::ZERO; b * d];
        pool(h, mask, d, &mut out);
        Ok((E::into_storage(out), Shape::from((b, d))))
    }
}
