//! # ddcl-codebook
//!
//! DDCL as a differentiable codebook (soft code during training, hard code at inference) and the
//! hard VQ-VAE baseline. Not built yet: its issue fills this crate. The prototype mathematics it
//! will use lives in [`ddcl_core`], re-exported here.

pub use ddcl_core;
