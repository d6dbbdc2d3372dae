//! The mean-pooling baselines of the hierarchical experiment, from the chunk token states:
//! truncation to the first window, the mean of the chunk means, and the two-level mean.

use candle_core::{DType, Device, Tensor};
use ddcl_readout::Pooling;

use crate::error::Result;
use crate::hier::chunks::ChunkStates;

/// The baselines, in the order of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Baseline {
    /// Mean pooling of the first chunk: what the flat encoder sees with its input truncated
    /// to one window.
    Truncate,
    /// The mean of the chunk mean-poolings, every chunk alike.
    ChunkMean,
    /// Two levels of mean pooling weighted by what they pool: each chunk's mean weighted by
    /// its real tokens, which is the mean of every token state of every chunk.
    TwoLevelMean,
}

impl Baseline {
    /// Every baseline.
    pub const ALL: [Baseline; 3] = [
        Baseline::Truncate,
        Baseline::ChunkMean,
        Baseline::TwoLevelMean,
    ];

    /// The name in the table.
    pub fn name(self) -> &'static str {
        match self {
            Baseline::Truncate => "truncate-mean",
            Baseline::ChunkMean => "chunk-mean",
            Baseline::TwoLevelMean => "two-level-mean",
        }
    }

    /// What it computes, in a few words.
    pub fn description(self) -> &'static str {
        match self {
            Baseline::Truncate => "mean pooling of the first window (truncation)",
            Baseline::ChunkMean => "mean of the chunk mean-poolings",
            Baseline::TwoLevelMean => "chunk means weighted by their tokens (all-token mean)",
        }
    }

    /// The document vectors (documents, D) from the chunk means (chunks, D) and each chunk's
    /// real tokens.
    pub fn features(self, states: &ChunkStates, means: &ChunkMeans) -> Result<Tensor> {
        let rows = states
            .per_document()
            .into_iter()
            .map(|chunks| {
                let weights: Vec<f32> = match self {
                    Baseline::Truncate => chunks
                        .clone()
                        .map(|c| f32::from(c == chunks.start))
                        .collect(),
                    Baseline::ChunkMean => chunks.clone().map(|_| 1.0).collect(),
                    Baseline::TwoLevelMean => {
                        chunks.clone().map(|c| means.tokens[c] as f32).collect()
                    }
                };
                let total: f32 = weights.iter().sum();
                let n = weights.len();
                let w = Tensor::from_vec(weights, (1, n), &Device::Cpu)?;
                Ok((w.matmul(&means.means.narrow(0, chunks.start, n)?)? / total as f64)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::cat(&rows, 0)?)
    }
}

/// Mean pooling of every chunk (its special tokens included, as the flat encoder's mean
/// pooling counts them) with each chunk's real tokens.
pub(crate) struct ChunkMeans {
    /// (chunks, D) f32.
    pub means: Tensor,
    /// Real tokens of each chunk.
    pub tokens: Vec<usize>,
}

impl ChunkMeans {
    /// The means of every chunk of `states`, `batch` chunks at a time.
    pub fn new(states: &ChunkStates, batch: usize) -> Result<Self> {
        let all: Vec<usize> = (0..states.len()).collect();
        let parts = all
            .chunks(batch.max(1))
            .map(|idx| {
                let s = states.states(idx)?;
                Ok(Pooling::Mean.pool(&s.hidden, &s.mask.to_dtype(DType::F32)?)?)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            means: Tensor::cat(&parts, 0)?,
            tokens: states.offsets.windows(2).map(|w| w[1] - w[0]).collect(),
        })
    }
}
