//! A trained classifier's test predictions, with the labels they are scored against
//! (protocols 3 to 5 keep them for their intervals and paired comparisons).

use candle_core::{Tensor, D};
use ddcl_readout::{Encode, FrozenOutputs, Trainer};

use crate::error::Result;
use crate::stats::{vs_baseline, Paired, Split};

/// The predicted classes of every example of `batches`, and their labels, in batch order.
/// Training is over: the encoder's frozen part runs on each padded batch
/// ([`FrozenOutputs::Batched`]) rather than example by example into the training cache.
pub fn predict<E: Encode>(
    t: &mut Trainer<E>,
    batches: &[(E::Batch, Tensor)],
) -> Result<(Vec<usize>, Vec<usize>)> {
    t.set_frozen_outputs(FrozenOutputs::Batched);
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

/// Each method's paired comparison with mean pooling on the one test split it was scored on
/// (`None` for mean itself, or for all without a mean row): `rows` gives each method's name,
/// predictions and labels, in the order the comparisons come back.
pub fn vs_mean<'a>(
    rows: impl Iterator<Item = (&'a str, &'a [usize], &'a [usize])>,
    seed: u64,
) -> Result<Vec<Option<Paired>>> {
    let (mut names, mut scores) = (Vec::new(), Vec::new());
    for (name, predictions, labels) in rows {
        names.push(name);
        scores.push(vec![Split::new(predictions, labels)?]);
    }
    vs_baseline(&names, &scores, seed)
}
