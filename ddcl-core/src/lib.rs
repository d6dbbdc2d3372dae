//! # ddcl-core
//!
//! The mathematics of DDCL-Attention on candle tensors: tokens `h` (B, T, D) are softly assigned
//! to K prototypes `p` (K, D) at temperature `tau`,
//!
//! ```text
//! q[t,k] = softmax_k(-||h_t - p_k||^2 / tau),    hhat_t = sum_k q[t,k] p_k,
//! ```
//!
//! and the soft quantisation loss splits exactly into reconstruction plus a non-negative
//! diversity term, `L_SQ = L_OLS + V`, so prototypes cannot collapse. [`math`] has the
//! definitions, the proof of the identity and the numerics of the kernels.
//!
//! Two backends compute the same [`Assignment`] with gradients to `h` and `p`: a reference graph
//! of plain candle ops and a fused, multi-threaded CPU kernel pair ([`Backend`]).
//! [`Summary`] pools a sequence, [`Usage`] and [`Separation`] diagnose a prototype bank and
//! [`Timescale`] checks the learning-rate condition of joint training.
//!
//! ```
//! use candle_core::{Device, Tensor};
//! use ddcl_core::{assign, AssignConfig, Summary};
//!
//! let h = Tensor::randn(0f32, 1., (2, 6, 16), &Device::Cpu)?;
//! let p = Tensor::randn(0f32, 1., (4, 16), &Device::Cpu)?;
//! let mask = Tensor::new(&[[1u8, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]], &Device::Cpu)?;
//! let a = assign(&h, Some(&mask), &p, &AssignConfig::new(0.5)?)?;
//! let pooled = a.summary(Summary::Mixture, &h, &p)?; // (2, 16)
//! assert_eq!(pooled.dims(), &[2, 16]);
//! # Ok::<(), ddcl_core::Error>(())
//! ```

#![warn(missing_docs)]

mod assignment;
mod config;
mod cpu;
#[cfg(feature = "cuda")]
mod cuda;
mod diagnostics;
mod error;
mod fused;
mod input;
mod kmeans;
mod matmul;
mod pool;
mod reference;
mod size;
mod summary;
mod timescale;

#[doc = include_str!("../docs/math.md")]
pub mod math {}

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub use assignment::{assign, Assignment, Losses};
pub use config::{AssignConfig, Backend, MIN_TAU};
pub use diagnostics::{hard_assignment, Separation, Usage, UsageReport};
pub use error::{Error, Result};
pub use kmeans::kmeans_pp;
pub use pool::masked_mean;
pub use pool::{last_token, masked_max, masked_mean_sqrt_len, masked_weighted_mean};
pub use size::{check_bank, check_prototypes, MAX_ELEMENTS, MAX_PROTOTYPES};
pub use summary::{Summary, RESIDUAL_EPS, SLOT_EPS};
pub use timescale::{Timescale, DEFAULT_EPS_MAX};
