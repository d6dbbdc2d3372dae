//! Token states of a dataset: what an encoder gives and every pooling method reads.

use candle_core::{DType, Tensor};

use crate::error::Result;

/// Token states of every example, padded to a common length: `hidden` (N, T, D) f32 and
/// `mask` (N, T) u8.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
///
/// let states = ddcl_bench::States {
///     hidden: Tensor::zeros((3, 4, 8), DType::F32, &Device::Cpu)?,
///     mask: Tensor::new(&[[1u8, 1, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1]], &Device::Cpu)?,
/// };
/// assert_eq!(states.tokens()?, 9);
/// assert_eq!(states.rows(&[2, 0])?.tokens()?, 6);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub struct States {
    /// Hidden states.
    pub hidden: Tensor,
    /// 1 for real tokens.
    pub mask: Tensor,
}

impl States {
    /// Rows `index` of both tensors.
    pub fn rows(&self, index: &[usize]) -> Result<States> {
        let i = Tensor::new(
            index.iter().map(|&x| x as u32).collect::<Vec<_>>(),
            self.hidden.device(),
        )?;
        Ok(States {
            hidden: self.hidden.index_select(&i, 0)?,
            mask: self.mask.index_select(&i, 0)?,
        })
    }

    /// Number of real tokens.
    pub fn tokens(&self) -> Result<usize> {
        Ok(self
            .mask
            .to_dtype(DType::U32)?
            .sum_all()?
            .to_scalar::<u32>()? as usize)
    }
}
