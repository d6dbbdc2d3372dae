//! The means over the real tokens: plain (the baseline a readout must beat), divided by the
//! root of the length, and weighted by position.

use candle_core::Tensor;

use super::linear::Linear;
use crate::Result;

/// Mean of the real tokens of each sequence: `h` (B, T, D), `mask` (B, T, non-zero for real
/// tokens; `None`: all real) -> (B, D); zeros for a sequence without real tokens. One
/// multi-threaded pass over `h` on CPU (f32, f64), plain candle ops elsewhere; differentiable
/// with respect to `h`.
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
    Linear::Mean.pool(h, mask)
}

/// Sum of the real tokens of each sequence divided by the square root of their number `n`
/// (sentence-transformers' `mean_sqrt_len_tokens`): `h` (B, T, D), `mask` (B, T) -> (B, D);
/// zeros for a sequence without real tokens. One pass as [`masked_mean`]; differentiable with
/// respect to `h`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::new(&[[[1f32, 2.], [3., 4.], [100., 100.]]], &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u8, 1, 0]], &Device::Cpu)?;
/// let v = ddcl_core::masked_mean_sqrt_len(&h, Some(&mask))?;
/// let s = 2f32.sqrt();
/// assert_eq!(v.to_vec2::<f32>()?, vec![vec![4. / s, 6. / s]]);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn masked_mean_sqrt_len(h: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    Linear::SqrtLen.pool(h, mask)
}

/// Mean of the real tokens of each sequence weighted by position, token `t` (counted from 0)
/// weighing `t + 1` (sentence-transformers' `weightedmean`): `h` (B, T, D), `mask` (B, T) ->
/// (B, D); zeros for a sequence without real tokens. One pass as [`masked_mean`];
/// differentiable with respect to `h`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::new(&[[[1f32, 2.], [100., 100.], [4., 8.]]], &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u8, 0, 1]], &Device::Cpu)?;
/// let v = ddcl_core::masked_weighted_mean(&h, Some(&mask))?;
/// // weights 1 and 3 over 4
/// assert_eq!(v.to_vec2::<f32>()?, vec![vec![13. / 4., 26. / 4.]]);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn masked_weighted_mean(h: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    Linear::Weighted.pool(h, mask)
}
