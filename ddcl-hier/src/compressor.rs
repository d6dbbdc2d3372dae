//! The hierarchical compressor: level 1 reads each chunk's token states, each level above the
//! summaries of the one below.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use ddcl_core::{Assignment, Losses};
use ddcl_readout::{Bucket, DdclReadout, ReadoutOutput};

use crate::gather::{gather, real_rows};
use crate::losses::combined;
use crate::{Chunk, Chunker, DocumentEncoder, Error, HierConfig, Result};

/// One forward pass of a level over part of its inputs.
#[derive(Debug, Clone)]
pub struct LevelPart {
    /// The sequences read, (B, T, W_in): chunk token states at level 1, gathered summaries of
    /// the level below above it.
    pub input: Tensor,
    /// Their mask (B, T), non-zero on real positions.
    pub mask: Tensor,
    /// The soft assignment and its loss terms.
    pub assignment: Assignment,
}

/// What one level computed for a batch of documents.
#[derive(Debug, Clone)]
pub struct LevelPass {
    /// 1-based level.
    pub level: usize,
    /// The level's summaries (U, W_out), one per unit, units in document order (level 1: the
    /// chunks, as [`crate::Chunker::chunks`] gives them document after document).
    pub summary: Tensor,
    /// The document (index in the call) of each unit.
    pub owners: Vec<usize>,
    /// The forward passes (level 1: one per length bucket of chunks, in bucket order).
    pub parts: Vec<LevelPart>,
    /// L_SQ, L_OLS, V over all parts (token-weighted means; differentiable).
    pub losses: Losses,
}

/// The output of [`HierCompressor::forward_documents`] and [`HierCompressor::forward_summaries`].
#[derive(Debug, Clone)]
pub struct HierOutput {
    /// The document vectors (B, width).
    pub vectors: Tensor,
    /// The levels computed, bottom first.
    pub levels: Vec<LevelPass>,
}

/// Stacked DDCL readouts: level 1 reads the token states of each chunk of a document, each
/// level above reads the summaries of the level below (all of a document's at the top, groups
/// of `group` in a middle level); the top level's summary is the document vector.
///
/// Built the candle way: level `l` has its variables under `level{l}` of `vb`
/// (`level1.prototypes`, `level2.prototypes`, ...), so the same code initialises a fresh
/// compressor from a `VarMap` or loads a saved one.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{Module, VarBuilder, VarMap};
/// use ddcl_hier::{ChunkConfig, HierCompressor, HierConfig};
/// use ddcl_readout::ReadoutConfig;
/// let cfg = HierConfig::two_level(ChunkConfig::new(30, 0)?, ReadoutConfig::new(4, 1.0)?, ReadoutConfig::new(2, 1.0)?)?;
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let hier = HierCompressor::new(16, &cfg, vb)?;
/// assert_eq!(hier.width(), 16); // mixture of the top level: the width of its inputs
/// // as a Module: the token states of one document's chunks (C, T, D), every token real
/// let chunks = Tensor::randn(0f32, 1., (3, 12, 16), &Device::Cpu)?;
/// assert_eq!(hier.forward(&chunks)?.dims(), [1, 16]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct HierCompressor {
    levels: Vec<DdclReadout>,
    cfg: HierConfig,
    chunker: Chunker,
    hidden: usize,
}

/// The variable prefix of 1-based `level`: `level1`, `level2`, ...
///
/// ```
/// assert_eq!(ddcl_hier::level_prefix(2), "level2");
/// ```
pub fn level_prefix(level: usize) -> String {
    format!("level{level}")
}

impl HierCompressor {
    /// A compressor over encoder states of size `hidden` with the settings `cfg`.
    pub fn new(hidden: usize, cfg: &HierConfig, vb: VarBuilder) -> Result<Self> {
        cfg.validate()?;
        let mut levels = Vec::with_capacity(cfg.levels.len());
        let mut width = hidden;
        for (i, level) in cfg.levels.iter().enumerate() {
            let readout = DdclReadout::new(width, &level.readout, vb.pp(level_prefix(i + 1)))?;
            width = readout.width();
            levels.push(readout);
        }
        Ok(Self {
            levels,
            chunker: Chunker::new(&cfg.chunk)?,
            cfg: cfg.clone(),
            hidden,
        })
    }

    /// The settings.
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor) {
    /// let window = hier.config().chunk.window;
    /// # }
    /// ```
    pub fn config(&self) -> &HierConfig {
        &self.cfg
    }

    /// The chunker of [`HierConfig::chunk`].
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor) {
    /// let chunks = hier.chunker().chunks(0, &[5; 1000]);
    /// # }
    /// ```
    pub fn chunker(&self) -> &Chunker {
        &self.chunker
    }

    /// The levels' readouts, bottom first.
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor) {
    /// let k1 = hier.levels()[0].config().prototypes;
    /// # }
    /// ```
    pub fn levels(&self) -> &[DdclReadout] {
        &self.levels
    }

    /// Hidden size D of the encoder states level 1 reads.
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor) {
    /// assert_eq!(hier.hidden_size(), 384);
    /// # }
    /// ```
    pub fn hidden_size(&self) -> usize {
        self.hidden
    }

    /// Width of the document vector.
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor) {
    /// let w = hier.width();
    /// # }
    /// ```
    pub fn width(&self) -> usize {
        self.levels.last().map_or(self.hidden, DdclReadout::width)
    }

    /// Checks that `encoder` fits: its hidden size is D and a whole window plus its special
    /// tokens fits its `max_len`.
    pub fn check_encoder(&self, encoder: &DocumentEncoder) -> Result<()> {
        if encoder.hidden_size() != self.hidden {
            return Err(ddcl_readout::Error::HiddenSize {
                readout: self.hidden,
                encoder: encoder.hidden_size(),
            }
            .into());
        }
        let window = self.cfg.chunk.window;
        if window > encoder.max_window() {
            return Err(Error::Window {
                window,
                specials: encoder.specials(),
                max_len: encoder.encoder().max_len(),
            });
        }
        Ok(())
    }

    /// Level 1 on chunk token states `h` (C, T, D) with `mask` (C, T): one summary per chunk.
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor, h: &candle_core::Tensor, mask: &candle_core::Tensor) -> ddcl_hier::Result<()> {
    /// let out = hier.forward_chunks(h, mask)?;
    /// let chunk_summaries = out.summary; // (C, W1)
    /// # Ok(())
    /// # }
    /// ```
    pub fn forward_chunks(&self, h: &Tensor, mask: &Tensor) -> Result<ReadoutOutput> {
        Ok(self.levels[0].forward_masked(h, Some(mask))?)
    }

    /// Levels 2 and above on each document's chunk summaries `summaries` (B, N, W1) with the
    /// chunk mask `mask` (B, N, non-zero = a real chunk): padded chunks are left out before
    /// any level reads them, so they change nothing. Differentiable.
    ///
    /// ```
    /// # use candle_core::{DType, Device, Tensor};
    /// # use candle_nn::{VarBuilder, VarMap};
    /// # use ddcl_hier::{ChunkConfig, HierCompressor, HierConfig};
    /// # use ddcl_readout::ReadoutConfig;
    /// # let cfg = HierConfig::two_level(ChunkConfig::new(30, 0)?, ReadoutConfig::new(4, 1.0)?, ReadoutConfig::new(2, 1.0)?)?;
    /// # let varmap = VarMap::new();
    /// # let hier = HierCompressor::new(16, &cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
    /// let s = Tensor::randn(0f32, 1., (2, 5, 16), &Device::Cpu)?;
    /// let mask = Tensor::new(&[[1u8, 1, 1, 0, 0], [1, 1, 1, 1, 1]], &Device::Cpu)?;
    /// let out = hier.forward_summaries(&s, &mask)?;
    /// assert_eq!(out.vectors.dims(), [2, 16]);
    /// assert_eq!(out.levels[0].level, 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn forward_summaries(&self, summaries: &Tensor, mask: &Tensor) -> Result<HierOutput> {
        let (b, n, w) = summaries.dims3()?;
        let expected = self.levels[0].width();
        if w != expected {
            return Err(Error::Width {
                level: 2,
                expected,
                got: w,
            });
        }
        let mut members = real_rows(mask)?;
        if members.iter().any(Vec::is_empty) {
            return Err(Error::Empty {
                what: "a document's chunk mask (no real chunk)",
            });
        }
        let mut rows = summaries.reshape((b * n, w))?;
        let mut levels = Vec::with_capacity(self.levels.len() - 1);
        for (i, readout) in self.levels.iter().enumerate().skip(1) {
            let mut layout = Vec::new();
            let mut owners = Vec::new();
            for (doc, rows_of_doc) in members.iter_mut().enumerate() {
                let units: Vec<Vec<usize>> = match self.cfg.levels[i].group {
                    Some(g) => rows_of_doc.chunks(g).map(<[usize]>::to_vec).collect(),
                    None => vec![std::mem::take(rows_of_doc)],
                };
                *rows_of_doc = (layout.len()..layout.len() + units.len()).collect();
                owners.extend(std::iter::repeat_n(doc, units.len()));
                layout.extend(units);
            }
            let (input, unit_mask) = gather(&rows, &layout)?;
            let out = readout.forward_masked(&input, Some(&unit_mask))?;
            rows = out.summary.clone();
            levels.push(LevelPass {
                level: i + 1,
                summary: out.summary,
                owners,
                losses: out.assignment.losses.clone(),
                parts: vec![LevelPart {
                    input,
                    mask: unit_mask,
                    assignment: out.assignment,
                }],
            });
        }
        Ok(HierOutput {
            vectors: rows,
            levels,
        })
    }

    /// Every level on `documents` (content token ids, as [`DocumentEncoder::ids`] gives
    /// them): chunked, encoded in length buckets of `chunk.batch` chunks, read out level by
    /// level. Differentiable end to end (encoder layers that train included), so for training:
    /// it keeps every chunk's states for the backward pass. To embed long documents at
    /// bounded memory use [`Self::compress_documents`].
    ///
    /// ```no_run
    /// # fn f(hier: &ddcl_hier::HierCompressor, enc: &ddcl_hier::DocumentEncoder) -> ddcl_hier::Result<()> {
    /// let docs = [enc.ids("A first document.")?, enc.ids("A second, longer one.")?];
    /// let out = hier.forward_documents(enc, &[&docs[0], &docs[1]])?;
    /// let l_sq: Vec<&candle_core::Tensor> = out.levels.iter().map(|l| &l.losses.sq).collect(); // per level
    /// # Ok(())
    /// # }
    /// ```
    pub fn forward_documents(
        &self,
        encoder: &DocumentEncoder,
        documents: &[&[u32]],
    ) -> Result<HierOutput> {
        let chunks = self.plan(encoder, documents)?;
        let buckets = encoder.buckets(documents, &chunks, self.cfg.chunk.batch)?;
        let mut parts = Vec::with_capacity(buckets.len());
        let mut summaries = Vec::with_capacity(buckets.len());
        for bucket in &buckets {
            let h = encoder.forward(&bucket.batch)?;
            let out = self.forward_chunks(&h, &bucket.batch.mask)?;
            summaries.push(out.summary);
            parts.push(LevelPart {
                input: h,
                mask: bucket.batch.mask.clone(),
                assignment: out.assignment,
            });
        }
        let summary = Bucket::restore(&buckets, &summaries)?;
        let owners: Vec<usize> = chunks.iter().map(|c| c.document).collect();
        let assignments: Vec<Assignment> = parts.iter().map(|p| p.assignment.clone()).collect();
        let (per_doc, mask) = gather(&summary, &layout_of(&owners, documents.len()))?;
        let upper = self.forward_summaries(&per_doc, &mask)?;
        let mut levels = vec![LevelPass {
            level: 1,
            summary,
            owners,
            losses: combined(&assignments)?,
            parts,
        }];
        levels.extend(upper.levels);
        Ok(HierOutput {
            vectors: upper.vectors,
            levels,
        })
    }

    /// The chunks of `documents`, after checking the encoder and the ids.
    pub(crate) fn plan(
        &self,
        encoder: &DocumentEncoder,
        documents: &[&[u32]],
    ) -> Result<Vec<Chunk>> {
        if documents.is_empty() {
            return Err(Error::Empty {
                what: "the documents",
            });
        }
        self.check_encoder(encoder)?;
        let mut chunks = Vec::new();
        for (d, ids) in documents.iter().enumerate() {
            encoder.check_ids(d, ids)?;
            chunks.extend(self.chunker.chunks(d, ids));
        }
        Ok(chunks)
    }
}

/// The rows of each of `documents` documents, given the document of each row (rows of a
/// document contiguous or not).
pub(crate) fn layout_of(owners: &[usize], documents: usize) -> Vec<Vec<usize>> {
    let mut layout = vec![Vec::new(); documents];
    for (row, &d) in owners.iter().enumerate() {
        layout[d].push(row);
    }
    layout
}

impl candle_nn::Module for HierCompressor {
    /// The document vector (1, width) of one document given its chunks' token states
    /// (C, T, D), every token real.
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        let run = || -> Result<Tensor> {
            let (c, t, _) = xs.dims3()?;
            let ones = Tensor::ones((c, t), xs.dtype(), xs.device())?;
            let chunks = self.forward_chunks(xs, &ones)?.summary.unsqueeze(0)?;
            let mask = Tensor::ones((1, c), xs.dtype(), xs.device())?;
            Ok(self.forward_summaries(&chunks, &mask)?.vectors)
        };
        run().map_err(candle_core::Error::wrap)
    }
}
