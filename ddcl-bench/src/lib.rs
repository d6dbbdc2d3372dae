//! # ddcl-bench
//!
//! The comparison users run: does the DDCL readout beat mean pooling and CLS, where, by how
//! much, and at what cost? See the `ddcl-bench` binary (`--help`) and `configs/bench.yaml`.
#![warn(missing_docs)]

mod data;
mod error;
mod metrics;
mod probe;

pub use data::{data_dir, load, split, DataSource, Dataset, Inputs};
pub use error::{Error, Result};
pub use metrics::{accuracy, ari, hungarian_accuracy, mean_std, nmi};
pub use probe::{kmeans, probe, standardise, ProbeConfig};
