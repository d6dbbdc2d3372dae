//! # ddcl-codebook
//!
//! Vector-quantisation codebooks for candle, all behind one [`Quantizer`] interface:
//!
//! - [`DdclCodebook`]: DDCL as a differentiable codebook. In training a latent is replaced by
//!   the soft code `z_q = sum_k q_k e_k`, `q = softmax(-||z - e||^2 / tau)`, with no
//!   straight-through estimator; the loss `beta L_SQ` splits exactly into `L_OLS + V`
//!   ([`ddcl_core::math`]). At inference a latent gets its nearest code. Temperature schedules
//!   ([`TauSchedule`]), a temperature that tracks the distance scale ([`Temperature`]),
//!   k-means++ init, cosine distance, re-seeding of dead codes and a usage-entropy term are
//!   settings ([`DdclConfig`]).
//! - [`VectorQuantizer`]: hard VQ as practised: nearest code with a straight-through gradient,
//!   codebook and commitment losses or EMA codebook updates, k-means init, dead-code expiry,
//!   cosine codebooks ([`VqConfig`]).
//! - [`Fsq`]: finite scalar quantisation, bounded and rounded per dimension ([`FsqConfig`]).
//! - [`CodebookStats`] and [`ReconError`]: utilisation, perplexity, dead codes, bits used and
//!   reconstruction errors over an evaluation pass.
//! - [`ConvAutoencoder`]: the small convolutional autoencoder of the codebook experiment, with
//!   [`to_latents`] and [`from_latents`] between feature maps and latents.
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use candle_nn::{VarBuilder, VarMap};
//! use ddcl_codebook::{CodebookStats, DdclCodebook, DdclConfig, Quantizer};
//!
//! let varmap = VarMap::new();
//! let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
//! let mut codebook = DdclCodebook::new(4, &DdclConfig::new(8), vb)?;
//! let z = Tensor::randn(0f32, 1., (3, 10, 4), &Device::Cpu)?;
//! let out = codebook.quantize(&z, true)?;          // soft codes + beta L_SQ
//! let mut stats = CodebookStats::new(8)?;
//! stats.add(&codebook.encode(&z)?)?;              // hard indices at evaluation
//! assert!(stats.report().utilisation <= 1.0);
//! # Ok::<(), ddcl_codebook::Error>(())
//! ```

#![warn(missing_docs)]

mod autoencoder;
mod bank;
mod banked;
mod check;
mod ddcl;
mod ddcl_config;
mod error;
mod fsq;
mod fsq_config;
mod host;
mod init;
mod nearest;
mod quantizer;
mod recon;
mod reseed;
mod schedule;
mod stats;
mod temperature;
mod unfold;
mod usage;
mod vq;
mod vq_config;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use autoencoder::{from_latents, to_latents, AutoencoderConfig, ConvAutoencoder};
pub use ddcl::DdclCodebook;
pub use ddcl_config::DdclConfig;
pub use error::{Error, Result};
pub use fsq::Fsq;
pub use fsq_config::FsqConfig;
pub use init::CodeInit;
pub use quantizer::{LossParts, QuantOutput, Quantizer};
pub use recon::ReconError;
pub use schedule::TauSchedule;
pub use stats::{CodebookStats, StatsReport};
pub use temperature::Temperature;
pub use vq::VectorQuantizer;
pub use vq_config::VqConfig;
