//! # ddcl-hier
//!
//! Hierarchical document compression with stacked DDCL readouts. Not built yet: its issue fills
//! this crate. The prototype mathematics it will use lives in [`ddcl_core`], re-exported here.

pub use ddcl_core;
