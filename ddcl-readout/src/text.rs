//! Text: a tokenizer and a BERT encoder resolved from a hub repo id or a local directory.

use std::cmp::Reverse;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_transformers::models::bert::Config;
use serde::Deserialize;
use tokenizers::utils::padding::pad_encodings;
use tokenizers::{
    Encoding, PaddingParams, PaddingStrategy, PostProcessor, Tokenizer, TruncationParams,
};

use crate::check::require;
use crate::{Bert, Error, ModelSource, Result, Trainable, Weights};

/// A tokenized batch: ids, token types and the attention mask (1 = real token), all (B, T) u32.
#[derive(Debug, Clone)]
pub struct TextBatch {
    /// Token ids.
    pub ids: Tensor,
    /// Token type ids (all zero for single sentences).
    pub type_ids: Tensor,
    /// 1 for real tokens, 0 for padding.
    pub mask: Tensor,
}

/// One batch of a length-sorted plan ([`TextEncoder::tokenize_by_length`]): where its texts
/// stand in the input, in the batch's row order, and the batch.
#[derive(Debug, Clone)]
pub struct Bucket {
    /// Input position of each row.
    pub rows: Vec<usize>,
    /// The rows, tokenized and padded to the longest of them.
    pub batch: TextBatch,
}

impl Bucket {
    /// Concatenates `parts` (one tensor per bucket, its rows in the bucket's order) and puts
    /// the rows back in input order.
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use ddcl_readout::{tiny, Bucket, ModelSource, TextEncoder, Weights};
    /// let dir = tempfile::tempdir()?;
    /// tiny::text_model(dir.path(), 1)?;
    /// let model = ModelSource::new(dir.path().to_str().unwrap());
    /// let enc = TextEncoder::load(&model, Weights::Frozen, candle_core::DType::F32, &Device::Cpu)?;
    /// let buckets = enc.tokenize_by_length(&["good film", "the cat sat on the mat", "ok"], 2)?;
    /// let lengths: Vec<Tensor> = buckets.iter().map(|b| b.batch.mask.sum(1)).collect::<Result<_, _>>()?;
    /// let lengths = Bucket::restore(&buckets, &lengths)?.to_vec1::<u32>()?;
    /// assert_eq!(lengths, [4, 8, 3]); // input order again
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn restore(buckets: &[Bucket], parts: &[Tensor]) -> Result<Tensor> {
        if buckets.len() != parts.len() {
            return Err(Error::config(
                "Bucket::restore: parts",
                format!("{} parts for {} buckets", parts.len(), buckets.len()),
            ));
        }
        let n: usize = buckets.iter().map(|b| b.rows.len()).sum();
        let mut position = vec![0u32; n];
        for (j, &i) in buckets.iter().flat_map(|b| &b.rows).enumerate() {
            let slot = position.get_mut(i).ok_or_else(|| {
                Error::config("Bucket::restore: rows", format!("row {i} of {n} rows"))
            })?;
            *slot = j as u32;
        }
        let all = Tensor::cat(parts, 0)?;
        let index = Tensor::new(position, all.device())?;
        Ok(all.index_select(&index, 0)?)
    }
}

/// A BERT-family sentence encoder: tokenizer (padding to the longest sequence of the batch,
/// truncation at `max_len`) plus [`Bert`].
///
/// ```no_run
/// use candle_core::{DType, Device};
/// use ddcl_readout::{ModelSource, TextEncoder, Weights};
/// let model = ModelSource::new("sentence-transformers/all-MiniLM-L6-v2");
/// let enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
/// let batch = enc.tokenize(&["A man is eating food.", "ok"])?;
/// let hidden = enc.forward(&batch)?; // (2, T, 384)
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub struct TextEncoder {
    tokenizer: Tokenizer,
    padding: PaddingParams,
    bert: Bert,
    max_len: usize,
    device: Device,
}

#[derive(Deserialize)]
struct SentenceBertConfig {
    max_seq_length: usize,
}

impl TextEncoder {
    /// Loads tokenizer, config and weights of `model` (`model.safetensors`, `config.json`,
    /// `tokenizer.json`, optionally `sentence_bert_config.json` for the truncation length).
    /// With [`Weights::Frozen`] nothing trains: the encoder runs its fused, no-backward path.
    pub fn load(
        model: &ModelSource,
        weights: Weights,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let vb = weights.builder(&model.file("model.safetensors")?, dtype, device)?;
        let cfg: Config = read_json(&model.file("config.json")?)?;
        let mut bert = Bert::new(vb, &cfg).map_err(|e| Error::model(model.id(), e))?;
        if matches!(weights, Weights::Frozen) {
            bert.set_trainable(Trainable::Frozen);
        }
        let max_len = match model.optional_file("sentence_bert_config.json") {
            Some(path) => read_json::<SentenceBertConfig>(&path)?.max_seq_length,
            None => cfg.max_position_embeddings,
        }
        .min(cfg.max_position_embeddings);
        let path = model.file("tokenizer.json")?;
        let mut tokenizer = Tokenizer::from_file(&path).map_err(|e| Error::model(model.id(), e))?;
        let pad_token = tokenizer
            .id_to_token(cfg.pad_token_id as u32)
            .unwrap_or_else(|| "[PAD]".to_string());
        tokenizer.with_padding(None);
        let padding = PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            pad_id: cfg.pad_token_id as u32,
            pad_token,
            ..Default::default()
        };
        let mut enc = Self {
            tokenizer,
            padding,
            bert,
            max_len,
            device: device.clone(),
        };
        enc.set_max_len(max_len)?;
        Ok(enc)
    }

    /// Truncates inputs at `max_len` tokens (special tokens included). At most the model's
    /// `max_position_embeddings`.
    pub fn set_max_len(&mut self, max_len: usize) -> Result<()> {
        let limit = self.bert.config().max_position_embeddings;
        // the special tokens ([CLS], [SEP]) count: tokenizers subtracts them unchecked
        // (overflow panic in debug builds for a max_len at or below their number)
        let special = self
            .tokenizer
            .get_post_processor()
            .map_or(0, |p| p.added_tokens(false));
        require(
            (special + 1..=limit).contains(&max_len),
            "max_len",
            max_len as f64,
            format!("in {}..={limit}", special + 1),
        )?;
        self.max_len = max_len;
        self.tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(())
    }

    /// The truncation length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The encoder.
    pub fn bert(&self) -> &Bert {
        &self.bert
    }

    /// The encoder, mutably (to choose which layers train).
    pub fn bert_mut(&mut self) -> &mut Bert {
        &mut self.bert
    }

    /// Hidden size of the encoder's output.
    pub fn hidden_size(&self) -> usize {
        self.bert.config().hidden_size
    }

    /// The tokenizer (truncating, not padding: [`Self::tokenize`] pads).
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Tokenizes a batch, padded to its longest sequence.
    pub fn tokenize<S: AsRef<str>>(&self, texts: &[S]) -> Result<TextBatch> {
        self.padded(self.encode(texts)?)
    }

    /// Tokenizes `texts` into batches of at most `batch_size` sentences of similar length
    /// (sorted by token count, longest first, ties in input order), so that padding stays
    /// small; [`Bucket::restore`] puts per-row results back in input order.
    pub fn tokenize_by_length<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch_size: usize,
    ) -> Result<Vec<Bucket>> {
        require(batch_size >= 1, "batch_size", batch_size as f64, ">= 1")?;
        let encodings = self.encode(texts)?;
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| Reverse(encodings[i].len()));
        order
            .chunks(batch_size)
            .map(|rows| {
                let batch = self.padded(rows.iter().map(|&i| encodings[i].clone()).collect())?;
                Ok(Bucket {
                    rows: rows.to_vec(),
                    batch,
                })
            })
            .collect()
    }

    /// Token encodings of `texts`, truncated, not padded.
    fn encode<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Encoding>> {
        if texts.is_empty() {
            return Err(Error::empty("tokenize: the batch"));
        }
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        self.tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// `encodings` padded to the longest of them, as tensors.
    fn padded(&self, mut encodings: Vec<Encoding>) -> Result<TextBatch> {
        pad_encodings(&mut encodings, &self.padding)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        let rows = |f: &dyn Fn(&Encoding) -> &[u32]| -> Result<Tensor> {
            let data: Vec<Vec<u32>> = encodings.iter().map(|e| f(e).to_vec()).collect();
            Ok(Tensor::new(data, &self.device)?)
        };
        Ok(TextBatch {
            ids: rows(&|e| e.get_ids())?,
            type_ids: rows(&|e| e.get_type_ids())?,
            mask: rows(&|e| e.get_attention_mask())?,
        })
    }

    /// Last hidden state (B, T, H) of a tokenized batch.
    pub fn forward(&self, batch: &TextBatch) -> Result<Tensor> {
        self.bert.forward(&batch.ids, &batch.type_ids, &batch.mask)
    }
}

/// Reads and parses a JSON file, naming it in errors.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_str(&text).map_err(|e| Error::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    })
}

impl crate::Encode for TextEncoder {
    type Batch = TextBatch;

    fn encode(&self, batch: &TextBatch) -> Result<(Tensor, Tensor)> {
        Ok((self.forward(batch)?, batch.mask.clone()))
    }

    fn hidden_size(&self) -> usize {
        TextEncoder::hidden_size(self)
    }

    fn set_trainable(&mut self, trainable: crate::Trainable) {
        self.bert.set_trainable(trainable);
    }

    fn is_trainable(&self, name: &str) -> bool {
        self.bert.is_trainable(name)
    }

    fn set_frozen_outputs(&mut self, mode: crate::FrozenOutputs) {
        self.bert.set_frozen_outputs(mode);
    }
}
