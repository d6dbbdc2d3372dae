//! # ddcl-readout
//!
//! The DDCL-Attention readout as a `candle_nn` layer on candle-transformers BERT and ViT.
//! Not built yet: its issue fills this crate. The prototype mathematics it will use lives in
//! [`ddcl_core`], re-exported here.

pub use ddcl_core;
