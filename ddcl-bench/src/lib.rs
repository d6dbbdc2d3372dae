//! # ddcl-bench
//!
//! The comparison users run: does the DDCL readout beat mean pooling and CLS, where, by how
//! much, and at what cost? The `ddcl-bench` binary (`--help`) runs it on `configs/bench.yaml`;
//! this library holds its parts: datasets, feature cache, methods, protocols, metrics, report.
#![warn(missing_docs)]

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The workspace README's examples (this crate depends on every crate they use).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadmeDoctests;

mod alloc;
mod bench;
mod config;
mod data;
mod error;
mod features;
mod methods;
mod metrics;
mod probe;
mod report;
mod speed;
mod tabular;

pub use alloc::{heap_peak_since_reset, reset_heap_peak, CountingAlloc};
pub use bench::{
    run, write, ClusterRow, DatasetInfo, JointRow, Machine, ProbeRow, Results, SplitInfo, SweepRow,
    TabularRow, SCHEMA,
};
pub use config::{
    BenchConfig, DatasetConfig, JointConfig, SourceKind, SpeedConfig, SweepConfig, TabularConfig,
};
pub use data::{data_dir, load, split, DataSource, Dataset, Inputs};
pub use error::{Error, Result};
pub use features::{encode, progress, Encoder, States};
pub use methods::{auto_tau, FitConfig, Fitted, Method};
pub use metrics::{accuracy, ari, hungarian_accuracy, mean_std, nmi};
pub use probe::{kmeans, probe, standardise, ProbeConfig};
pub use report::{markdown, plots};
pub use speed::{speed, SpeedRow};
pub use tabular::TabularEncoder;
