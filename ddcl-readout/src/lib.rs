//! # ddcl-readout
//!
//! The DDCL-Attention readout layer for candle encoders. [`DdclReadout`] pools the token states
//! of a BERT or ViT with K learned prototypes; [`Pooling`] is a superset of
//! sentence-transformers' pooling modes; the crate also carries encoders that pass gradients
//! through every layer (candle-transformers' do not, see [`Bert`]), model resolution through the
//! hf-hub cache, a joint trainer under the timescale condition, safetensors checkpoints,
//! readers for labelled data ([`data`]) and two commands, `ddcl-train` and `ddcl-embed`
//! (feature `cli`).
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use candle_nn::{VarBuilder, VarMap};
//! use ddcl_readout::{DdclReadout, Pooling, ReadoutConfig};
//! let mut cfg = ReadoutConfig::new(8, 1.0)?;
//! cfg.pooling = vec![Pooling::Mixture, Pooling::Mean];
//! let varmap = VarMap::new();
//! let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
//! let readout = DdclReadout::new(16, &cfg, vb.pp("readout"))?;
//! let h = Tensor::randn(0f32, 1., (3, 7, 16), &Device::Cpu)?;
//! let out = readout.forward_masked(&h, None)?;
//! assert_eq!(out.summary.dims(), &[3, 32]); // mixture ⊕ mean
//! # Ok::<(), ddcl_readout::Error>(())
//! ```
#![warn(missing_docs)]

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod atomic;
mod bert;
pub mod check;
mod checkpoint;
mod config;
pub mod data;
mod dinov2;
mod embed;
mod error;
mod fit;
mod frozen;
mod hub;
pub mod interpret;
#[cfg(feature = "test-utils")]
pub mod kill;
mod layers;
mod optim;
mod pooling;
mod readout;
mod run;
#[cfg(feature = "test-utils")]
pub mod snapshot;
mod text;
#[cfg(feature = "test-utils")]
pub mod tiny;
mod train;
mod vars;
mod vision;
pub mod yaml;

pub use atomic::AtomicFile;
pub use bert::Bert;
pub use checkpoint::{load_checkpoint, save_checkpoint, FORMAT, FORMAT_KEY};
pub use config::{Init, ReadoutConfig};
pub use dinov2::{Dinov2, Dinov2Config};
pub use embed::{readout_from_checkpoint, Embedder};
pub use error::{Error, Result};
pub use fit::{
    fit_prototypes, minibatches, nearest_sq_distance, seed_prototypes, Batching, PrototypeFit,
    Seeds,
};
pub use frozen::FrozenOutputs;
pub use hub::ModelSource;
pub use layers::Trainable;
pub use optim::{AdamW, Group};
pub use pooling::{sentence_transformers_pooling, Pooling};
pub use readout::{DdclReadout, ReadoutOutput};
pub use run::{ModelConfig, ModelKind, Policy, RunConfig, TimescaleConfig, TrainConfig};
pub use text::{Bucket, TextBatch, TextEncoder};
pub use train::{
    Classifier, Encode, EpochRecord, IdentityTally, StepRecord, TimescaleRecord, Trainer,
    TrainingState, ENCODER, F32_TOLERANCE, F64_TOLERANCE,
};
pub use vars::{load_frozen, load_trainable, seeded_builder, Weights};
pub use vision::{preprocess, ImageEncoder};
