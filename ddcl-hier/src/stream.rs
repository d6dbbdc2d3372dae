//! Embedding documents at bounded memory: chunks stream through the encoder and level 1 in
//! batches; only the chunk summaries are kept.

use candle_core::Tensor;
use ddcl_readout::Bucket;
use serde::Serialize;

use crate::report::{select_rows, LevelStats};
use crate::{DocumentEncoder, Error, HierCompressor, LevelReport, Result};

/// A compressed document: its vector, every level's summaries and the report.
#[derive(Debug, Clone)]
pub struct Compressed {
    /// The document vector (width).
    pub vector: Tensor,
    /// Each level's summaries, bottom first: level 1 (chunks, W1), ..., the top (1, width).
    pub summaries: Vec<Tensor>,
    /// Sizes, compression ratio and the levels' reports.
    pub report: DocumentReport,
}

/// What [`HierCompressor::compress_documents`] reports of one document.
///
/// ```no_run
/// # fn f(c: &ddcl_hier::Compressed) {
/// let r = &c.report;
/// println!("{} tokens in {} chunks, {:.0}x", r.tokens, r.chunks, r.ratio);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DocumentReport {
    /// Content tokens of the document.
    pub tokens: usize,
    /// Its chunks.
    pub chunks: usize,
    /// Compression ratio: the numbers of the document's token states (`tokens · D`) over the
    /// numbers of its vector (`width`).
    pub ratio: f64,
    /// Per level, bottom first.
    pub levels: Vec<LevelReport>,
}

impl HierCompressor {
    /// Compresses `documents` (content token ids, as [`DocumentEncoder::ids`] gives them).
    /// Their chunks go through the encoder and level 1 in length buckets of `chunk.batch`
    /// chunks; each bucket's token states are dropped once level 1 has read them, so the peak
    /// memory is one bucket's encoder pass plus what is kept, which is linear in the length:
    /// the ids, the chunk summaries (chunks × W1) and the hard assignments of the report.
    /// Levels 2 and above then read each document's summaries. Nothing is differentiable here
    /// (see [`Self::forward_documents`] for training).
    ///
    /// ```
    /// use candle_core::{DType, Device};
    /// use candle_nn::{VarBuilder, VarMap};
    /// use ddcl_hier::{ChunkConfig, DocumentEncoder, HierCompressor, HierConfig};
    /// use ddcl_readout::{tiny, ModelSource, ReadoutConfig, TextEncoder, Weights};
    /// let dir = tempfile::tempdir()?;
    /// tiny::text_model(dir.path(), 1)?;
    /// let model = ModelSource::new(dir.path().to_str().unwrap());
    /// let enc = DocumentEncoder::new(TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?)?;
    /// let cfg = HierConfig::two_level(ChunkConfig::new(8, 2)?, ReadoutConfig::new(4, 1.0)?, ReadoutConfig::new(2, 1.0)?)?;
    /// let varmap = VarMap::new();
    /// let hier = HierCompressor::new(16, &cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    /// let ids = enc.ids(&"the cat sat on the mat and it was fun ".repeat(10))?;
    /// let out = hier.compress_documents(&enc, &[&ids, &ids[..5]])?;
    /// assert_eq!(out[0].report.chunks, 17); // 100 tokens, windows of 8 every 6
    /// assert_eq!(out[1].report.chunks, 1);
    /// assert_eq!(out[0].vector.dims(), [16]);
    /// assert_eq!(out[0].report.levels[1].assignments[0].len(), 17); // chunk -> prototype
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn compress_documents(
        &self,
        encoder: &DocumentEncoder,
        documents: &[&[u32]],
    ) -> Result<Vec<Compressed>> {
        let chunks = self.plan(encoder, documents)?;
        let buckets = encoder.buckets(documents, &chunks, self.config().chunk.batch)?;
        let threshold = self.config().utilisation_threshold;
        let k1 = self.levels()[0].config().prototypes;
        let mut stats = (0..documents.len())
            .map(|_| LevelStats::new(k1, threshold))
            .collect::<Result<Vec<_>>>()?;
        let mut parts = Vec::with_capacity(buckets.len());
        for bucket in &buckets {
            let h = encoder.forward(&bucket.batch)?;
            let out = self.forward_chunks(&h, &bucket.batch.mask)?;
            parts.push(out.summary.detach());
            let mut by_doc: Vec<(usize, Vec<usize>, Vec<usize>)> = Vec::new();
            for (j, &row) in bucket.rows.iter().enumerate() {
                let c = &chunks[row];
                match by_doc.iter_mut().find(|(d, _, _)| *d == c.document) {
                    Some((_, rows, units)) => {
                        rows.push(j);
                        units.push(c.index);
                    }
                    None => by_doc.push((c.document, vec![j], vec![c.index])),
                }
            }
            for (doc, rows, units) in by_doc {
                stats[doc].add(&select_rows(&out.assignment, &rows)?, &units)?;
            }
        }
        let all = Bucket::restore(&buckets, &parts)?;
        drop(parts);
        let mut start = 0;
        let mut results = Vec::with_capacity(documents.len());
        for (ids, level1) in documents.iter().zip(stats) {
            let n = level1.units();
            let own = all.narrow(0, start, n)?;
            start += n;
            results.push(self.upper(own, level1, ids.len())?);
        }
        Ok(results)
    }

    /// Compresses one document (content token ids) at bounded memory; see
    /// [`Self::compress_documents`].
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor, enc: &ddcl_hier::DocumentEncoder, text: &str) -> ddcl_hier::Result<()> {
    /// let out = hier.compress_document(enc, &enc.ids(text)?)?;
    /// let v: Vec<f32> = out.vector.to_vec1()?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn compress_document(&self, encoder: &DocumentEncoder, ids: &[u32]) -> Result<Compressed> {
        self.compress_documents(encoder, &[ids])?
            .pop()
            .ok_or(Error::Empty {
                what: "the compressed documents",
            })
    }

    /// Levels 2 and above on one document's chunk summaries `own` (chunks, W1), and the report.
    fn upper(&self, own: Tensor, level1: LevelStats, tokens: usize) -> Result<Compressed> {
        let n = own.dim(0)?;
        let mask = Tensor::ones((1, n), own.dtype(), own.device())?;
        let out = self.forward_summaries(&own.unsqueeze(0)?, &mask)?;
        let threshold = self.config().utilisation_threshold;
        let mut levels = vec![level1.report(1)];
        let mut summaries = vec![own];
        for pass in &out.levels {
            let k = self.levels()[pass.level - 1].config().prototypes;
            let mut stats = LevelStats::new(k, threshold)?;
            for part in &pass.parts {
                let units: Vec<usize> = (0..part.mask.dim(0)?).collect();
                stats.add(&part.assignment, &units)?;
            }
            levels.push(stats.report(pass.level));
            summaries.push(pass.summary.detach());
        }
        let width = self.width();
        Ok(Compressed {
            vector: out.vectors.get(0)?.detach(),
            summaries,
            report: DocumentReport {
                tokens,
                chunks: n,
                ratio: (tokens * self.hidden_size()) as f64 / width as f64,
                levels,
            },
        })
    }
}
