//! The protocols of the comparison, one file each, all of one shape: `run(ctx, input)` takes
//! the run's [`Context`] and the protocol's own input (its config section, or an [`Encoded`]
//! dataset) and returns its rows of the results, which the pipeline pushes.

pub mod cluster;
pub mod codebook;
pub mod hier;
pub mod interpret;
pub mod joint;
mod predict;
pub mod probe;
pub mod speed;
pub mod sweep;
pub mod tabular;
mod trainer;

pub(crate) use predict::predict;
pub(crate) use trainer::{encoder_tau, text_batches};

use crate::config::BenchConfig;
use crate::data::Dataset;
use crate::encoders::Encoders;
use crate::states::States;

/// What every protocol may read: the configuration, its first seed, the encoders loaded.
pub struct Context<'a> {
    /// The configuration, as run.
    pub cfg: &'a BenchConfig,
    /// The first seed: it samples the datasets, and seeds the protocols that run once.
    pub seed: u64,
    /// The frozen encoders the datasets needed.
    pub encoders: &'a Encoders,
}

/// An encoder dataset with its token states.
pub struct Encoded {
    /// The dataset as sampled.
    pub data: Dataset,
    /// Its token states.
    pub states: States,
}
