//! A trained classifier's test predictions, with the labels they are scored against
//! (protocols 3 to 5 keep them for their intervals and paired comparisons).

use candle_core::{Tensor, D};
use ddcl_readout::{Encode, Trainer};

use crate::error::Result;

/// The predicted classes of every example of `batches`, and their labels, in batch order.
pub fn predict<E: Encode>(
    t: &Trainer<E>,
    batches: &[(E::Batch, Tensor)],
) -> Result<(Vec<usize>, Vec<usize>)> {
    let (mut predicted, mut labels) = (Vec::new(), Vec::new());
    for (batch, y) in batches {
        let (logits, _) = t.model().forward(batch)?;
        let as_usize = |v: Vec<u32>| v.into_iter().map(|x| x as usize);
        predicted.extend(as_usize(logits.argmax(D::Minus1)?.to_vec1::<u32>()?));
        labels.extend(as_usize(
            y.to_dtype(candle_core::DType::U32)?.to_vec1::<u32>()?,
        ));
    }
    Ok((predicted, labels))
}
