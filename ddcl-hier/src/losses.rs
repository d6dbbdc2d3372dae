//! A level's loss terms over several batches: token-weighted, so that they equal the terms of
//! one batch holding all the level's inputs.

use candle_core::{DType, Tensor};
use ddcl_core::{Assignment, Losses};

use crate::Result;

/// `L_SQ`, `L_OLS`, `V` as means over the real tokens of `token_losses` (B, T, 3) under `mask`
/// (B, T); zero without real tokens. Differentiable.
pub(crate) fn masked_means(token_losses: &Tensor, mask: &Tensor) -> Result<Losses> {
    let sums = token_losses.sum((0, 1))?;
    let n = mask
        .to_dtype(DType::F64)?
        .sum_all()?
        .to_scalar::<f64>()?
        .max(1.0);
    let sums = (sums / n)?;
    Ok(Losses {
        sq: sums.get(0)?,
        ols: sums.get(1)?,
        var: sums.get(2)?,
    })
}

/// The loss terms of the batches `parts` as if they were one batch. Differentiable.
pub(crate) fn combined(parts: &[Assignment]) -> Result<Losses> {
    match parts {
        [one] => Ok(one.losses.clone()),
        _ => {
            let tl: Vec<Tensor> = parts
                .iter()
                .map(|a| a.token_losses.sum((0, 1)))
                .collect::<candle_core::Result<_>>()?;
            let masks: Vec<Tensor> = parts
                .iter()
                .map(|a| a.mask.sum_all())
                .collect::<candle_core::Result<_>>()?;
            let sums = Tensor::stack(&tl, 0)?.unsqueeze(0)?;
            let tokens = Tensor::stack(&masks, 0)?.unsqueeze(0)?;
            masked_means(&sums, &tokens)
        }
    }
}
