//! # ddcl-hier
//!
//! Hierarchical document compression with stacked DDCL readouts, for documents far longer
//! than an encoder's window: a document's token ids are cut into chunks ([`Chunker`]), each
//! chunk is encoded ([`DocumentEncoder`]: the encoder's special tokens around each chunk) and
//! read out by a DDCL readout (level 1, K1 prototypes) into a chunk summary, and each level
//! above reads the summaries of the one below, all of a document's at the top level (K2
//! prototypes), so that the top summary is the document vector ([`HierCompressor`]). The
//! cost is linear in the document's length: [`HierCompressor::compress_documents`] streams
//! the chunks through the encoder and level 1 in bounded batches and keeps only the chunk
//! summaries.
//!
//! Each level reports its loss terms (L_SQ, L_OLS, V), the identity residual, prototype usage
//! and which input went to which prototype ([`LevelReport`]); the compressor can be fitted
//! without labels ([`fit_frozen`]) or trained end to end with a task head ([`HierTrainer`]: every
//! level jointly, the timescale condition checked per level). The `ddcl-hier` command (feature `cli`) embeds long documents without
//! writing Rust.
//!
//! ```
//! use candle_core::{DType, Device};
//! use candle_nn::{VarBuilder, VarMap};
//! use ddcl_hier::{DocumentEncoder, HierCompressor, HierConfig};
//! use ddcl_readout::{tiny, ModelSource, TextEncoder, Weights};
//! let dir = tempfile::tempdir()?;
//! tiny::text_model(dir.path(), 1)?;
//! let model = ModelSource::new(dir.path().to_str().unwrap());
//! let enc = DocumentEncoder::new(TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?)?;
//! let cfg = HierConfig::from_yaml(
//!     "chunk: {window: 30, overlap: 6}
//! levels:
//!   - readout: {prototypes: 4, tau: 1.0, pooling: [mixture]}
//!   - readout: {prototypes: 2, tau: 1.0, pooling: [mixture, mean]}
//! ",
//! )?;
//! let varmap = VarMap::new();
//! let hier = HierCompressor::new(enc.hidden_size(), &cfg, VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu))?;
//! let ids = enc.ids(&"the film was very fun and the music was great but the ending was slow ".repeat(50))?;
//! let out = hier.compress_document(&enc, &ids)?;
//! assert_eq!(out.vector.dims(), [32]); // mixture ⊕ mean of the chunk summaries
//! assert_eq!(out.report.chunks, 31);   // 750 tokens, windows of 30 every 24
//! assert!(out.report.levels.iter().all(|l| l.identity_residual < 1e-4));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod checkpoint;
mod chunk;
mod compressor;
mod config;
mod document_encoder;
mod error;
mod fit;
mod gather;
mod losses;
mod report;
mod stream;
mod train;

pub use checkpoint::CONFIG_KEY;
pub use chunk::{Chunk, Chunker};
pub use compressor::{level_prefix, HierCompressor, HierOutput, LevelPart, LevelPass};
pub use config::{ChunkConfig, HierConfig, LevelConfig};
pub use document_encoder::DocumentEncoder;
pub use error::{Error, Result};
pub use fit::{fit_frozen, FitConfig};
pub use report::{LevelReport, LossTerms};
pub use stream::{Compressed, DocumentReport};
pub use train::{HierEpoch, HierStep, HierTrainConfig, HierTrainer, LevelTimescale};
