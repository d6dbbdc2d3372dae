//! The poolings linear in the hidden states, `out[b] = (sum_t w[b,t] h[b,t]) / den[b]` with
//! weights on the real tokens only: one pass over the tokens they read on CPU (f32, f64), the
//! same formula as candle ops elsewhere and for the gradient.

use candle_core::{CpuStorage, CustomOp2, DType, Layout, Shape, Tensor};

use super::rows::for_each_slice;
use crate::cpu::{contiguous, map, Elem, Map};
use crate::input;
use crate::Result;

/// A linear pooling: its weights `w` over the real tokens and the divisor `den` of their sum,
/// with `n` real tokens in a sequence. Each divisor is at least 1 where a sequence has a real
/// token; a sequence without one pools to zeros.
#[derive(Debug, Clone, Copy)]
pub(super) enum Linear {
    /// `w = 1`, `den = max(n, 1)`.
    Mean,
    /// `w = 1`, `den = max(sqrt(n), 1e-9)`, the root in the dtype of `h`.
    SqrtLen,
    /// `w = t + 1` at position `t` (counted from 0), `den = max(sum of w, 1e-9)`.
    Weighted,
    /// `w = 1` on the last real token, `den = 1`.
    Last,
}

impl Linear {
    /// Checks `h` (B, T, D) and `mask` (B, T) and pools, giving (B, D).
    pub(super) fn pool(self, h: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (_, mask) = input::check_hidden(h, mask)?;
        if h.device().is_cpu() && matches!(h.dtype(), DType::F32 | DType::F64) {
            return Ok(h.contiguous()?.apply_op2(&mask.contiguous()?, self)?);
        }
        let (w, den) = self.factors(&mask)?;
        Ok(input::masked(h, &mask)?
            .broadcast_mul(&w.unsqueeze(2)?)?
            .sum(1)?
            .broadcast_div(&den)?)
    }

    /// The weights (B, T) and divisors (B, 1) as candle ops on the 0/1 mask (B, T) in the dtype
    /// of `h`.
    fn factors(self, mask: &Tensor) -> candle_core::Result<(Tensor, Tensor)> {
        let dtype = mask.dtype();
        Ok(match self {
            Linear::Mean => (mask.clone(), mask.sum_keepdim(1)?.maximum(1.0)?),
            Linear::SqrtLen => (mask.clone(), mask.sum_keepdim(1)?.sqrt()?.maximum(1e-9)?),
            Linear::Weighted => {
                let w = mask.broadcast_mul(&positions(mask, dtype)?)?;
                let den = w.sum_keepdim(1)?.maximum(1e-9)?;
                (w, den)
            }
            Linear::Last => {
                // positions in f32, exact up to 2^24 tokens whatever the dtype of h
                let at = mask
                    .to_dtype(DType::F32)?
                    .broadcast_mul(&positions(mask, DType::F32)?)?;
                let last = at.max_keepdim(1)?;
                let any = last.gt(0.0)?.to_dtype(dtype)?;
                let w = at
                    .broadcast_eq(&last)?
                    .to_dtype(dtype)?
                    .broadcast_mul(&any)?;
                (w, any.ones_like()?)
            }
        })
    }

    /// The tokens of one sequence's `mask` (T) that this pooling reads, with their weights, and
    /// the divisor of their weighted sum, rounded to `E` as the candle graph computes it.
    fn terms<E: Elem>(self, mask: &[E]) -> (Vec<(usize, E)>, f64) {
        let mut real = mask
            .iter()
            .enumerate()
            .filter(|(_, &m)| m != E::ZERO)
            .map(|(t, _)| t);
        let terms: Vec<(usize, E)> = match self {
            Linear::Weighted => real.map(|t| (t, E::from_f64((t + 1) as f64))).collect(),
            Linear::Last => real.next_back().map(|t| (t, E::ONE)).into_iter().collect(),
            Linear::Mean | Linear::SqrtLen => real.map(|t| (t, E::ONE)).collect(),
        };
        let n = terms.len() as f64;
        let den = match self {
            Linear::Mean => n,
            Linear::SqrtLen => E::from_f64(n.sqrt()).to_f64(),
            Linear::Weighted => {
                E::from_f64(terms.iter().map(|&(t, _)| (t + 1) as f64).sum()).to_f64()
            }
            Linear::Last => 1.0,
        };
        // every divisor of a sequence with a real token is at least 1: the floors of the
        // candle graph (1, 1e-9) only act on sequences without one, whose sum is 0 anyway
        (terms, den.max(1.0))
    }
}

/// 1, 2, ..., T as a (1, T) row in `dtype`, for a mask (B, T).
fn positions(mask: &Tensor, dtype: DType) -> candle_core::Result<Tensor> {
    let t = mask.dim(1)? as u32;
    Tensor::arange(1u32, t + 1, mask.device())?
        .to_dtype(dtype)?
        .unsqueeze(0)
}

impl CustomOp2 for Linear {
    fn name(&self) -> &'static str {
        match self {
            Linear::Mean => "ddcl-masked-mean",
            Linear::SqrtLen => "ddcl-masked-mean-sqrt-len",
            Linear::Weighted => "ddcl-masked-weighted-mean",
            Linear::Last => "ddcl-last-token",
        }
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

    /// `dh[b,t] = w[b,t] (grad[b] / den[b])`, as candle's autograd takes it through the graph.
    fn bwd(
        &self,
        _h: &Tensor,
        mask: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> candle_core::Result<(Option<Tensor>, Option<Tensor>)> {
        let (w, den) = self.factors(mask)?;
        let g = grad.broadcast_div(&den)?.unsqueeze(1)?;
        Ok((Some(w.unsqueeze(2)?.broadcast_mul(&g)?), None))
    }
}

impl<E: Elem> Map<E, 2> for Linear {
    /// One pass over the tokens each sequence reads, summed in `E` in token order (as candle's
    /// sum over the tokens is), then divided in f64 and rounded once, which is the rounded
    /// quotient candle's division in `E` gives.
    fn f(&self, inputs: [(&[E], &Layout); 2]) -> candle_core::Result<(CpuStorage, Shape)> {
        let [(_, hidden), _] = inputs;
        let (b, t, d) = hidden.shape().dims3()?;
        let [h, mask] = contiguous(inputs, self.name())?;
        let op = *self;
        let mut out = vec![E::ZERO; b * d];
        for_each_slice(&mut out, t, d, |b, first, part| {
            let (terms, den) = op.terms(&mask[b * t..(b + 1) * t]);
            // summed apart from `part`, whose ends may share a cache line with a neighbour's
            let mut sum = vec![E::ZERO; part.len()];
            for (i, w) in terms {
                let row = &h[(b * t + i) * d + first..][..part.len()];
                sum.iter_mut().zip(row).for_each(|(s, &x)| *s = *s + x * w);
            }
            part.iter_mut()
                .zip(&sum)
                .for_each(|(o, s)| *o = E::from_f64(s.to_f64() / den));
        });
        Ok((E::into_storage(out), Shape::from((b, d))))
    }
}
