//! Integer class labels: checked against a batch, counted against the head's predictions.

use candle_core::{DType, Tensor, D};

use crate::{Error, Result};

/// `labels` as u32 after checking it is (batch) with every class below `classes`.
pub(super) fn check_labels(labels: &Tensor, batch: usize, classes: usize) -> Result<Tensor> {
    let labels = labels.to_dtype(DType::U32)?;
    if labels.dims() != [batch] {
        return Err(ddcl_core::Error::Shape {
            name: "labels",
            expected: format!("({batch})"),
            got: labels.dims().to_vec(),
        }
        .into());
    }
    let max = labels.max(0)?.to_scalar::<u32>()? as usize;
    if max >= classes {
        return Err(Error::Label {
            class: max,
            classes,
        });
    }
    Ok(labels)
}

/// How many rows of `logits` have their largest value at the label.
pub(super) fn hits(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    let pred = logits.argmax(D::Minus1)?;
    Ok(pred
        .eq(&labels.to_dtype(DType::U32)?)?
        .to_dtype(DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()? as usize)
}
