//! A text encoder that reads chunks of token ids: the document's tokenizer (no truncation) and
//! the special tokens each chunk gets.

use candle_core::{Device, Tensor};
use ddcl_readout::{Bucket, TextBatch, TextEncoder};
use tokenizers::Tokenizer;

use crate::{Chunk, Error, Result};

/// A [`TextEncoder`] made to read chunks: documents are tokenized whole (no truncation, no
/// special tokens) into content ids, and each chunk is encoded as the encoder's own special
/// tokens around its content, `[CLS] chunk [SEP]` for BERT, so that every chunk is a valid
/// encoder input and a chunk holding a whole short text is encoded exactly as the flat encoder
/// encodes that text. The special tokens are found by tokenizing a one-word text with and
/// without them, so any template the tokenizer's post-processor has is kept.
///
/// ```
/// use candle_core::{DType, Device};
/// use ddcl_hier::DocumentEncoder;
/// use ddcl_readout::{tiny, ModelSource, TextEncoder, Weights};
/// let dir = tempfile::tempdir()?;
/// tiny::text_model(dir.path(), 1)?;
/// let model = ModelSource::new(dir.path().to_str().unwrap());
/// let enc = DocumentEncoder::new(TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?)?;
/// assert_eq!(enc.prefix(), [1]); // [CLS]
/// assert_eq!(enc.suffix(), [2]); // [SEP]
/// let ids = enc.ids("the cat sat on the mat")?; // untruncated, no special tokens
/// assert_eq!(ids.len(), 6);
/// let batch = enc.batch(&[&ids[..2], &ids[2..]])?;
/// assert_eq!(batch.ids.to_vec2::<u32>()?, [[1, 4, 6, 2, 0, 0], [1, 8, 9, 4, 10, 2]]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct DocumentEncoder {
    encoder: TextEncoder,
    tokenizer: Tokenizer,
    prefix: Vec<u32>,
    suffix: Vec<u32>,
    pad: u32,
    vocab: usize,
    device: Device,
}

impl DocumentEncoder {
    /// Wraps `encoder`; its tokenizer is copied without truncation for whole documents.
    pub fn new(encoder: TextEncoder) -> Result<Self> {
        let mut tokenizer = encoder.tokenizer().clone();
        tokenizer
            .with_truncation(None)
            .map_err(|e| ddcl_readout::Error::Tokenizer(e.to_string()))?;
        let probe = tokenizer
            .encode("a", true)
            .map_err(|e| ddcl_readout::Error::Tokenizer(e.to_string()))?;
        let sequence = probe.get_sequence_ids();
        let first = sequence.iter().position(Option::is_some);
        let last = sequence.iter().rposition(Option::is_some);
        let (first, last) = first.zip(last).ok_or_else(|| {
            ddcl_readout::Error::Tokenizer("a one-word text gave no content token".into())
        })?;
        let ids = probe.get_ids();
        let cfg = encoder.bert().config();
        let (pad, vocab) = (cfg.pad_token_id as u32, cfg.vocab_size);
        let device = encoder.tokenize(&["a"])?.ids.device().clone();
        Ok(Self {
            prefix: ids[..first].to_vec(),
            suffix: ids[last + 1..].to_vec(),
            encoder,
            tokenizer,
            pad,
            vocab,
            device,
        })
    }

    /// The wrapped encoder.
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) {
    /// let d = enc.encoder().hidden_size();
    /// # }
    /// ```
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// The wrapped encoder, mutably (to choose which layers train).
    ///
    /// ```no_run
    /// # fn f(enc: &mut ddcl_hier::DocumentEncoder) {
    /// enc.encoder_mut().bert_mut().set_trainable(ddcl_readout::Trainable::Top(1));
    /// # }
    /// ```
    pub fn encoder_mut(&mut self) -> &mut TextEncoder {
        &mut self.encoder
    }

    /// Hidden size D of the encoder's states.
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) {
    /// assert_eq!(enc.hidden_size(), 384); // MiniLM
    /// # }
    /// ```
    pub fn hidden_size(&self) -> usize {
        self.encoder.hidden_size()
    }

    /// Special tokens before each chunk's content (`[CLS]`).
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) {
    /// assert_eq!(enc.prefix(), [101]); // BERT's [CLS]
    /// # }
    /// ```
    pub fn prefix(&self) -> &[u32] {
        &self.prefix
    }

    /// Special tokens after each chunk's content (`[SEP]`).
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) {
    /// assert_eq!(enc.suffix(), [102]); // BERT's [SEP]
    /// # }
    /// ```
    pub fn suffix(&self) -> &[u32] {
        &self.suffix
    }

    /// Special tokens per chunk (prefix and suffix).
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) {
    /// assert_eq!(enc.specials(), 2);
    /// # }
    /// ```
    pub fn specials(&self) -> usize {
        self.prefix.len() + self.suffix.len()
    }

    /// The longest chunk content the encoder reads: its `max_len` less the special tokens.
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) {
    /// assert_eq!(enc.max_window(), 254); // MiniLM: 256 - 2
    /// # }
    /// ```
    pub fn max_window(&self) -> usize {
        self.encoder.max_len().saturating_sub(self.specials())
    }

    /// The content token ids of a whole document: untruncated, without special tokens.
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) -> ddcl_hier::Result<()> {
    /// let ids = enc.ids("A long report. Many sentences.")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn ids(&self, text: &str) -> Result<Vec<u32>> {
        let encoding = self
            .tokenizer
            .encode(text, false)
            .map_err(|e| ddcl_readout::Error::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().to_vec())
    }

    /// The ids of those of `tokens` the vocabulary has (e.g. `[".", "!", "?"]` for
    /// [`crate::ChunkConfig::sentence_ends`]).
    ///
    /// ```no_run
    /// # fn f(enc: &ddcl_hier::DocumentEncoder) {
    /// let ends = enc.token_ids(&[".", "!", "?"]);
    /// # }
    /// ```
    pub fn token_ids(&self, tokens: &[&str]) -> Vec<u32> {
        tokens
            .iter()
            .filter_map(|t| self.tokenizer.token_to_id(t))
            .collect()
    }

    /// Checks that every id of `ids` (document number `document`) is in the vocabulary.
    pub(crate) fn check_ids(&self, document: usize, ids: &[u32]) -> Result<()> {
        match ids.iter().find(|&&id| id as usize >= self.vocab) {
            Some(&id) => Err(Error::TokenId {
                document,
                id,
                vocab: self.vocab,
            }),
            None => Ok(()),
        }
    }

    /// A batch of chunks, each `prefix content suffix`, padded to the longest.
    pub fn batch(&self, rows: &[&[u32]]) -> Result<TextBatch> {
        if rows.is_empty() {
            return Err(Error::Empty {
                what: "DocumentEncoder::batch: the rows",
            });
        }
        let specials = self.specials();
        let t = rows.iter().map(|r| r.len()).max().unwrap_or(0) + specials;
        let (mut ids, mut mask) = (Vec::with_capacity(rows.len() * t), Vec::new());
        mask.reserve(rows.len() * t);
        for row in rows {
            let real = row.len() + specials;
            ids.extend(self.prefix.iter().chain(row.iter()).chain(&self.suffix));
            ids.extend(std::iter::repeat_n(self.pad, t - real));
            mask.extend(std::iter::repeat_n(1u32, real));
            mask.extend(std::iter::repeat_n(0u32, t - real));
        }
        let shape = (rows.len(), t);
        Ok(TextBatch {
            ids: Tensor::from_vec(ids, shape, &self.device)?,
            type_ids: Tensor::zeros(shape, candle_core::DType::U32, &self.device)?,
            mask: Tensor::from_vec(mask, shape, &self.device)?,
        })
    }

    /// The chunks of `documents` in batches of at most `batch` chunks of similar length
    /// (longest first, ties in input order), as [`TextEncoder::tokenize_by_length`] batches
    /// texts; [`Bucket::restore`] puts per-chunk results back in the order of `chunks`. (The
    /// encoder's own method takes texts and would tokenize again; chunks are already ids.)
    pub fn buckets(
        &self,
        documents: &[&[u32]],
        chunks: &[Chunk],
        batch: usize,
    ) -> Result<Vec<Bucket>> {
        let mut order: Vec<usize> = (0..chunks.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(chunks[i].span.len()));
        order
            .chunks(batch.max(1))
            .map(|rows| {
                let ids: Vec<&[u32]> = rows
                    .iter()
                    .map(|&i| &documents[chunks[i].document][chunks[i].span.clone()])
                    .collect();
                Ok(Bucket {
                    rows: rows.to_vec(),
                    batch: self.batch(&ids)?,
                })
            })
            .collect()
    }

    /// Last hidden states (B, T, D) of a batch of chunks.
    pub fn forward(&self, batch: &TextBatch) -> Result<Tensor> {
        Ok(self.encoder.forward(batch)?)
    }
}
