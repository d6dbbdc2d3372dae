//! Each token of some sentences with its prototype: what the text page shows.

use candle_core::Tensor;
use ddcl_core::hard_assignment;

use crate::check::at_least;
use crate::{DdclReadout, Error, Result, TextEncoder};

/// One token of a sentence: what it is, where it stands, and its assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    /// The text it covers in the sentence (word pieces: their part of the word), or the
    /// special token itself (`[CLS]`, `[SEP]`), which covers none.
    pub text: String,
    /// The tokenizer's name of it (`##ing`, `[CLS]`).
    pub piece: String,
    /// A special token, added by the tokenizer.
    pub special: bool,
    /// Whether the sentence has a gap (whitespace) between the previous token and this one;
    /// word pieces after the first of a word have none.
    pub space_before: bool,
    /// The prototype with the largest `q` (the hard assignment).
    pub prototype: usize,
    /// Its soft assignment `q[k]` over the K prototypes.
    pub q: Vec<f32>,
}

/// A sentence and its tokens, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedText {
    /// The sentence as given.
    pub text: String,
    /// Its tokens as the encoder saw them (truncated at the encoder's `max_len`).
    pub tokens: Vec<Token>,
}

/// Tokenizes `texts`, encodes them in length-sorted batches of at most `batch_size` and reads
/// each token's assignment from `readout`; sentences come back in input order.
///
/// ```
/// use candle_core::{DType, Device};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_readout::{interpret, tiny, DdclReadout, ModelSource, ReadoutConfig, TextEncoder, Weights};
/// let dir = tempfile::tempdir()?;
/// tiny::text_model(dir.path(), 1)?;
/// let model = ModelSource::new(dir.path().to_str().unwrap());
/// let enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
/// let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
/// let readout = DdclReadout::new(16, &ReadoutConfig::new(3, 1.0)?, vb.pp("readout"))?;
/// let texts = interpret::assign_texts(&enc, &readout, &["the cat sat", "a good film"], 8)?;
/// assert_eq!(texts[0].tokens.len(), 5); // [CLS] the cat sat [SEP]
/// assert!(texts[0].tokens[0].special && texts[0].tokens[0].q.len() == 3);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn assign_texts<S: AsRef<str>>(
    encoder: &TextEncoder,
    readout: &DdclReadout,
    texts: &[S],
    batch_size: usize,
) -> Result<Vec<AssignedText>> {
    at_least("assign_texts: batch_size", batch_size, 1)?;
    if readout.hidden_size() != encoder.hidden_size() {
        return Err(Error::HiddenSize {
            readout: readout.hidden_size(),
            encoder: encoder.hidden_size(),
        });
    }
    let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
    let encodings = encoder
        .tokenizer()
        .encode_batch(inputs.clone(), true)
        .map_err(|e| Error::Tokenizer(e.to_string()))?;
    let mut out: Vec<Option<AssignedText>> = vec![None; texts.len()];
    for bucket in encoder.tokenize_by_length(&inputs, batch_size)? {
        let h = encoder.forward(&bucket.batch)?;
        let a = readout
            .forward_masked(&h, Some(&bucket.batch.mask))?
            .assignment;
        let hard = hard_assignment(&a)?.to_vec2::<u32>()?;
        let q = a.q.to_vec3::<f32>()?;
        let ids = real(&bucket.batch.ids, &bucket.batch.mask)?;
        for (r, &i) in bucket.rows.iter().enumerate() {
            let e = &encodings[i];
            if ids[r] != e.get_ids() {
                return Err(Error::Tokenizer(format!(
                    "sentence {}: the batch's tokens differ from the tokenizer's",
                    i + 1
                )));
            }
            let text = inputs[i];
            let mut end = 0;
            let tokens = (0..e.len())
                .map(|t| {
                    let special = e.get_special_tokens_mask()[t] == 1;
                    let (a0, a1) = e.get_offsets()[t];
                    let piece = e.get_tokens()[t].clone();
                    let covered = if special { None } else { text.get(a0..a1) };
                    let token = Token {
                        text: covered.unwrap_or(&piece).to_string(),
                        space_before: t > 0 && (special || covered.is_none() || a0 > end),
                        special,
                        piece,
                        prototype: hard[r][t] as usize,
                        q: q[r][t].clone(),
                    };
                    if !special {
                        end = a1;
                    }
                    token
                })
                .collect();
            out[i] = Some(AssignedText {
                text: text.to_string(),
                tokens,
            });
        }
    }
    out.into_iter()
        .enumerate()
        .map(|(i, t)| t.ok_or_else(|| Error::empty(format!("assign_texts: sentence {}", i + 1))))
        .collect()
}

/// The ids of each row's real tokens (padding is at the end of a row).
fn real(ids: &Tensor, mask: &Tensor) -> Result<Vec<Vec<u32>>> {
    let mask = mask.to_vec2::<u32>()?;
    Ok(ids
        .to_vec2::<u32>()?
        .into_iter()
        .zip(mask)
        .map(|(row, m)| {
            row.into_iter()
                .zip(m)
                .filter(|&(_, m)| m != 0)
                .map(|(id, _)| id)
                .collect()
        })
        .collect())
}
