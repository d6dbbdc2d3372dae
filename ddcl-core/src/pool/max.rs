//! Elementwise maximum over the real tokens as one pass.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};

use super::rows::for_each_slice;
use crate::cpu::{contiguous, map, Elem, Map};
use crate::input;
use crate::Result;

/// Elementwise maximum over the real tokens of each sequence (sentence-transformers' `max`):
/// `h` (B, T, D), `mask` (B, T, non-zero for real tokens; `None`: all real) -> (B, D); zeros for
/// a sequence without real tokens. One multi-threaded pass over `h` on CPU (f32, f64), plain
/// candle ops elsewhere; differentiable with respect to `h`: the gradient of a feature goes to
/// the real tokens that hold its maximum, in full to each where several tie, as candle's `max`
/// gives it. NaN is passed over by the comparison.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::new(&[[[1f32, 8.], [3., 4.], [100., 100.]]], &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u8, 1, 0]], &Device::Cpu)?;
/// let max = ddcl_core::masked_max(&h, Some(&mask))?;
/// assert_eq!(max.to_vec2::<f32>()?, vec![vec![3., 8.]]);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn masked_max(h: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    let (_, mask) = input::check_hidden(h, mask)?;
    if h.device().is_cpu() && matches!(h.dtype(), DType::F32 | DType::F64) {
        return Ok(h.contiguous()?.apply_op2(&mask.contiguous()?, MaxPool)?);
    }
    let real = mask.ne(0u8)?.unsqueeze(2)?.broadcast_as(h.shape())?;
    let low = Tensor::new(f32::NEG_INFINITY, h.device())?
        .to_dtype(h.dtype())?
        .broadcast_as(h.shape())?;
    let max = real.where_cond(h, &low)?.max(1)?;
    let any = mask.max_keepdim(1)?.ne(0u8)?.broadcast_as(max.shape())?;
    Ok(any.where_cond(&max, &max.zeros_like()?)?)
}

struct MaxPool;

/// The element types of the max kernel: ordered, with a value below every other.
trait Ordered: Elem + PartialOrd {
    const LOWEST: Self;
}

impl Ordered for f32 {
    const LOWEST: Self = f32::NEG_INFINITY;
}

impl Ordered for f64 {
    const LOWEST: Self = f64::NEG_INFINITY;
}

impl CustomOp2 for MaxPool {
    fn name(&self) -> &'static str {
        "ddcl-masked-max"
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

    /// `dh[b,t,j] = grad[b,j]` where token `t` is real and holds the maximum, 0 elsewhere.
    fn bwd(
        &self,
        h: &Tensor,
        mask: &Tensor,
        res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let hit = h.broadcast_eq(&res.unsqueeze(1)?)?.to_dtype(h.dtype())?;
        let dh = hit
            .broadcast_mul(&mask.unsqueeze(2)?)?
            .broadcast_mul(&grad.unsqueeze(1)?)?;
        Ok((Some(dh), None))
    }
}

impl<E: Ordered> Map<E, 2> for MaxPool {
    fn f(&self, inputs: [(&[E], &Layout); 2]) -> candle_core::Result<(CpuStorage, Shape)> {
        let [(_, hidden), _] = inputs;
        let (b, t, d) = hidden.shape().dims3()?;
        let [h, mask] = contiguous(inputs, self.name())?;
        let mut out = vec![E::ZERO; b * d];
        for_each_slice(&mut out, t, d, |b, first, part| {
            let mask = &mask[b * t..(b + 1) * t];
            if mask.iter().all(|&m| m == E::ZERO) {
                return; // no real token: zeros
            }
            // taken apart from `part`, whose ends may share a cache line with a neighbour's
            let mut max = vec![E::LOWEST; part.len()];
            for (i, _) in mask.iter().enumerate().filter(|(_, &m)| m != E::ZERO) {
                let row = &h[(b * t + i) * d + first..][..part.len()];
                max.iter_mut()
                    .zip(row)
                    .for_each(|(m, &x)| *m = if *m < x { x } else { *m });
            }
            part.copy_from_slice(&max);
        });
        Ok((E::into_storage(out), Shape::from((b, d))))
    }
}
