//! Sentence embeddings: a text encoder, pooling modes and (for DDCL modes) a readout.

use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarBuilder;

use crate::{
    load_checkpoint, Bucket, DdclReadout, Error, Pooling, Result, RunConfig, TextBatch,
    TextEncoder, Trainable,
};

/// Turns sentences into vectors with any mix of pooling modes.
///
/// Classic modes need only the encoder; DDCL modes need a readout, e.g. one loaded from a
/// training checkpoint with [`readout_from_checkpoint`].
///
/// ```no_run
/// use candle_core::{DType, Device};
/// use ddcl_readout::{Embedder, ModelSource, Pooling, TextEncoder, Weights};
/// let model = ModelSource::new("sentence-transformers/all-MiniLM-L6-v2");
/// let encoder = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
/// let embedder = Embedder::new(encoder, vec![Pooling::Mean], None)?;
/// let v = embedder.embed(&["A man is eating food."], true)?; // (1, 384), unit norm
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub struct Embedder {
    encoder: TextEncoder,
    pooling: Vec<Pooling>,
    readout: Option<DdclReadout>,
}

impl Embedder {
    /// An embedder concatenating `pooling` modes; `readout` is required when any is a DDCL
    /// mode, and must have the encoder's hidden size. Nothing trains: the encoder runs its
    /// fused, no-backward path.
    pub fn new(
        mut encoder: TextEncoder,
        pooling: Vec<Pooling>,
        readout: Option<DdclReadout>,
    ) -> Result<Self> {
        if pooling.is_empty() {
            return Err(Error::empty("Embedder: the pooling modes"));
        }
        let readout = match readout {
            Some(r) if r.hidden_size() != encoder.hidden_size() => {
                return Err(Error::HiddenSize {
                    readout: r.hidden_size(),
                    encoder: encoder.hidden_size(),
                })
            }
            Some(r) => Some(r.with_pooling(pooling.clone())?),
            None => {
                if let Some(&mode) = pooling.iter().find(|m| m.summary().is_some()) {
                    return Err(Error::NeedsPrototypes { mode });
                }
                None
            }
        };
        encoder.bert_mut().set_trainable(Trainable::Frozen);
        Ok(Self {
            encoder,
            pooling,
            readout,
        })
    }

    /// The encoder.
    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    /// Vectors (B, width) for a batch of sentences, L2-normalised if `normalize`.
    pub fn embed<S: AsRef<str>>(&self, texts: &[S], normalize: bool) -> Result<Tensor> {
        self.embed_batch(&self.encoder.tokenize(texts)?, normalize)
    }

    /// Vectors (N, width) for any number of sentences, in input order: encoded in batches of
    /// at most `batch_size` sentences of similar length
    /// ([`TextEncoder::tokenize_by_length`]), so that little compute goes to padding.
    ///
    /// ```no_run
    /// # fn f(embedder: &ddcl_readout::Embedder) -> ddcl_readout::Result<()> {
    /// let v = embedder.embed_all(&["a long sentence about a film", "ok"], 32, true)?; // (2, width)
    /// # Ok(()) }
    /// ```
    pub fn embed_all<S: AsRef<str>>(
        &self,
        texts: &[S],
        batch_size: usize,
        normalize: bool,
    ) -> Result<Tensor> {
        let buckets = self.encoder.tokenize_by_length(texts, batch_size)?;
        let parts = buckets
            .iter()
            .map(|b| self.embed_batch(&b.batch, normalize))
            .collect::<Result<Vec<_>>>()?;
        Bucket::restore(&buckets, &parts)
    }

    /// Vectors (B, width) of a tokenized batch.
    fn embed_batch(&self, batch: &TextBatch, normalize: bool) -> Result<Tensor> {
        let h = self.encoder.forward(batch)?;
        let v = match &self.readout {
            Some(r) => r.forward_masked(&h, Some(&batch.mask))?.summary,
            None => {
                let mask = batch.mask.to_dtype(h.dtype())?;
                let parts = self
                    .pooling
                    .iter()
                    .map(|m| m.pool(&h, &mask))
                    .collect::<Result<Vec<_>>>()?;
                Tensor::cat(&parts, 1)?
            }
        };
        if !normalize {
            return Ok(v);
        }
        let norm = v.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?.maximum(1e-12)?;
        Ok(v.broadcast_div(&norm)?)
    }
}

/// Loads the readout stored in a training checkpoint ([`crate::Trainer::save`]), with the
/// run config embedded in it. Every error names the file: a missing or bad config, readout
/// tensors that are not f32 (or, from [`load_checkpoint`], hold NaN or infinity), prototypes
/// of another shape than the config's K and `hidden`.
pub fn readout_from_checkpoint(
    path: &Path,
    hidden: usize,
    device: &Device,
) -> Result<(DdclReadout, RunConfig)> {
    let (tensors, meta) = load_checkpoint(path, device)?;
    let cfg = meta
        .get("config")
        .ok_or_else(|| Error::checkpoint(path, "metadata has no `config`"))
        .and_then(|y| RunConfig::from_yaml(y).map_err(|e| Error::checkpoint(path, e)))?;
    for (name, t) in tensors.iter().filter(|(n, _)| n.starts_with("readout.")) {
        if t.dtype() != DType::F32 {
            return Err(Error::checkpoint(
                path,
                format!("tensor `{name}` is {:?}, expected f32", t.dtype()),
            ));
        }
    }
    let vb = VarBuilder::from_tensors(tensors, DType::F32, device);
    let readout = DdclReadout::new(hidden, &cfg.readout, vb.pp("readout"))
        .map_err(|e| Error::checkpoint(path, e))?;
    Ok((readout, cfg))
}
