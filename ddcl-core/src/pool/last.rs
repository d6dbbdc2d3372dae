//! The state of the last real token of each sequence.

use candle_core::Tensor;

use super::linear::Linear;
use crate::Result;

/// The last real token of each sequence (sentence-transformers' `lasttoken`), whichever side
/// the padding is on: `h` (B, T, D), `mask` (B, T, non-zero for real tokens; `None`: all real)
/// -> (B, D); zeros for a sequence without real tokens. Reads one row per sequence on CPU (f32,
/// f64), plain candle ops elsewhere; differentiable with respect to `h` (the gradient goes to
/// that token).
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::new(&[[[1f32, 2.], [3., 4.], [5., 6.]]], &Device::Cpu)?;
/// let mask = Tensor::new(&[[1u8, 1, 0]], &Device::Cpu)?;
/// let last = ddcl_core::last_token(&h, Some(&mask))?;
/// assert_eq!(last.to_vec2::<f32>()?, vec![vec![3., 4.]]);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn last_token(h: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
    Linear::Last.pool(h, mask)
}
