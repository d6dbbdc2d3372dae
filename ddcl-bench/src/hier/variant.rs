//! A hierarchical DDCL variant fitted without labels: each level's prototypes fitted as the
//! bench's `ddcl:K:SUMMARY` methods fit theirs (k-means++ on the inputs, then steps on
//! `L_SQ`), level 1 on the training documents' chunk tokens, level 2 on their chunk
//! summaries; then run by [`ddcl_hier::HierCompressor`].

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use ddcl_hier::{ChunkConfig, DocumentEncoder, HierCompressor, HierConfig as CompressorConfig};
use ddcl_readout::ReadoutConfig;

use crate::error::{Error, Result};
use crate::hier::chunks::ChunkStates;
use crate::hier::config::Variant;
use crate::methods::{FitConfig, Fitted as FittedMethod, Method};
use crate::states::States;

/// Chunks (or documents) per forward pass when computing features from cached states.
const BATCH: usize = 64;

/// A fitted hierarchical compressor.
pub(crate) struct Fitted {
    hier: HierCompressor,
    // holds the compressor's variables
    _varmap: VarMap,
    description: String,
}

impl Fitted {
    /// Fits `variant`'s levels on the chunks of the documents `train` of `states`, without
    /// labels, seeded by `seed`; the compressor chunks as `chunk`.
    pub fn fit(
        variant: &Variant,
        chunk: &ChunkConfig,
        fit: &FitConfig,
        states: &ChunkStates,
        train: &[usize],
        seed: u64,
    ) -> Result<Self> {
        let per_doc = states.per_document();
        let chunks: Vec<usize> = train.iter().flat_map(|&d| per_doc[d].clone()).collect();
        let mut readouts: Vec<(ReadoutConfig, Tensor)> = Vec::new();
        let mut inputs = states.states(&chunks)?;
        for (l, level) in variant.levels.iter().enumerate() {
            let method = Method::Ddcl {
                k: level.k,
                summary: level.summary,
            };
            let fitted = method.fit(&inputs, &[], 0, fit, seed.wrapping_add(l as u64))?;
            let FittedMethod::Ddcl(readout) = &fitted else {
                return Err(Error::Config(format!(
                    "variants.{}: not a DDCL level",
                    variant.name
                )));
            };
            readouts.push((readout.config().clone(), readout.prototypes().detach()));
            if l + 1 < variant.levels.len() {
                // the next level reads each training document's summaries of this level
                let summaries = fitted.features(&inputs, BATCH)?;
                let mut ranges = Vec::with_capacity(train.len());
                let mut at = 0;
                for &d in train {
                    ranges.push(at..at + per_doc[d].len());
                    at += per_doc[d].len();
                }
                inputs = units(&summaries, &ranges)?;
            }
        }
        let [(level1, _), (level2, _)] = &readouts[..] else {
            return Err(Error::Config(format!(
                "variants.{}: two levels",
                variant.name
            )));
        };
        let cfg = CompressorConfig::two_level(chunk.clone(), level1.clone(), level2.clone())?;
        let mut varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let hier = HierCompressor::new(states.hidden.dim(1)?, &cfg, vb)?;
        for (readout, (_, p)) in hier.levels().iter().zip(&readouts) {
            varmap.set_one(readout.prototypes_name(), p)?;
        }
        let description = variant
            .levels
            .iter()
            .enumerate()
            .map(|(l, s)| {
                let what = if l == 0 { "per chunk" } else { "per document" };
                format!("DDCL K={} {} {what}", s.k, s.summary)
            })
            .collect::<Vec<_>>()
            .join(" → ");
        Ok(Self {
            hier,
            _varmap: varmap,
            description,
        })
    }

    /// The compressor.
    pub fn compressor(&self) -> &HierCompressor {
        &self.hier
    }

    /// What it computes, in a few words.
    pub fn description(&self) -> String {
        self.description.clone()
    }

    /// Seconds to compress `texts` from their text: the tokenizer, then the streaming path
    /// (encoder and level 1 in buckets of `chunk.batch` chunks, then level 2).
    pub fn stream_seconds(&self, encoder: &DocumentEncoder, texts: &[String]) -> Result<f64> {
        let clock = Instant::now();
        let ids = texts
            .iter()
            .map(|t| encoder.ids(t))
            .collect::<ddcl_hier::Result<Vec<_>>>()?;
        let views: Vec<&[u32]> = ids.iter().map(Vec::as_slice).collect();
        self.hier.compress_documents(encoder, &views)?;
        Ok(clock.elapsed().as_secs_f64())
    }

    /// The document vectors (documents, width) of every document of `states`: level 1 on
    /// each chunk's cached token states, the levels above on each document's chunk summaries.
    pub fn features(&self, states: &ChunkStates) -> Result<Tensor> {
        let all: Vec<usize> = (0..states.len()).collect();
        let summaries = all
            .chunks(BATCH)
            .map(|idx| {
                let s = states.states(idx)?;
                Ok(self.hier.forward_chunks(&s.hidden, &s.mask)?.summary)
            })
            .collect::<Result<Vec<_>>>()?;
        let summaries = Tensor::cat(&summaries, 0)?;
        let per_doc = states.per_document();
        let vectors = per_doc
            .chunks(BATCH)
            .map(|ranges| {
                let u = units(&summaries, ranges)?;
                Ok(self.hier.forward_summaries(&u.hidden, &u.mask)?.vectors)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&vectors, 0)?)
    }
}

/// The rows `ranges[i]` of `rows` (R, W) as unit `i` of padded states (units, longest, W)
/// with their mask.
fn units(rows: &Tensor, ranges: &[std::ops::Range<usize>]) -> Result<States> {
    let longest = ranges.iter().map(|r| r.len()).max().unwrap_or(0);
    let (mut parts, mut mask) = (Vec::with_capacity(ranges.len()), Vec::new());
    for r in ranges {
        parts.push(
            rows.narrow(0, r.start, r.len())?
                .pad_with_zeros(0, 0, longest - r.len())?,
        );
        mask.extend((0..longest).map(|i| u8::from(i < r.len())));
    }
    Ok(States {
        hidden: Tensor::stack(&parts, 0)?,
        mask: Tensor::from_vec(mask, (ranges.len(), longest), &Device::Cpu)?,
    })
}
