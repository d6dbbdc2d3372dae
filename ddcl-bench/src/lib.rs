//! # ddcl-bench
//!
//! The comparison users run: does the DDCL readout beat mean pooling and CLS, where, by how
//! much, and at what cost? The `ddcl-bench` binary (`--help`) runs it on `configs/bench.yaml`;
//! this library holds its parts: datasets, feature cache, methods, protocols, metrics, report.
//! `ddcl-bench codebook` runs the codebook experiment instead ([`CodebookConfig`],
//! [`run_codebook`]): DDCL as a differentiable codebook against hard VQ and FSQ.
//! `ddcl-bench hier` runs the hierarchical experiment ([`HierConfig`], [`run_hier`]): BBC
//! News classified from whole documents by stacked DDCL readouts, and the streaming path's
//! cost against document length.
//! `ddcl-bench claims` measures the paper's claims ([`ClaimsConfig`], [`run_claims`]): deep
//! clustering, the two-timescale condition, the identity over every training step.
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
mod claims;
mod codebook;
mod config;
mod data;
mod encoders;
mod error;
mod features;
mod hier;
mod kmeans;
mod methods;
mod metrics;
mod outdir;
mod pipeline;
mod probe;
mod progress;
mod protocol;
mod report;
mod results;
mod speed;
mod states;
mod stats;
mod tabular;
mod write;

pub use alloc::{heap_peak_since_reset, reset_heap_peak, CountingAlloc};
pub use claims::config::{ClaimsConfig, ClusterSettings, FullSettings, TimescaleSettings};
pub use claims::geometry::{relative_separation, TokenGeometry, CRITICAL_FACTOR};
pub use claims::report::identity_markdown;
pub use claims::results::{
    Claim, ClaimsResults, ClusterRun, ClusterSummary, TimescalePoint, TimescaleRun,
};
pub use claims::run_claims;
pub use codebook::config::{
    CodebookConfig, CodebookMethod, DdclSettings, FsqSettings, InitSetting, NetworkConfig,
    Schedule, Shape, VqSettings,
};
pub use codebook::results::{CodebookResults, CodebookRow, Curve};
pub use config::{
    BenchConfig, DatasetConfig, JointConfig, Modality, SourceKind, SpeedConfig, SweepConfig,
    TabularConfig,
};
pub use data::{data_dir, load, split, DataSource, Dataset, Inputs};
pub use error::{Error, Result};
pub use features::{encode, read_cached, CacheKey, Encoder, ModelFiles, FORMAT};
pub use hier::config::{HierConfig, LevelSetting, ScalingSetting, Variant};
pub use hier::results::{DocumentStats, HierResults, HierRow, Line, ScalingFit, ScalingPoint};
pub use kmeans::{kmeans, KMeans};
pub use methods::{auto_tau, FitConfig, Fitted, Method, Tau};
pub use metrics::{accuracy, ari, hungarian_accuracy, mean_std, nmi};
pub use outdir::{check_out, partial_of, remove_partial, replace_dir};
pub use pipeline::{run, run_codebook, run_codebook_with, run_hier};
pub use probe::{probe, standardise, CvScores, Logistic, ProbeConfig, ProbeFit, ProbeRecord};
pub use progress::{progress, Progress, LINE_EVERY};
pub use report::{markdown, plots};
pub use results::{
    ClusterRow, DatasetInfo, IdentityRow, ImagePages, InterpretPage, JointRow, Machine, ProbeRow,
    Results, SpeedRow, SplitInfo, StatsInfo, SweepRow, TabularRow, SCHEMA,
};
pub use speed::speed;
pub use states::States;
pub use stats::{
    mcnemar_exact, paired, vs_baseline, Interval, Paired, Split, ALPHA, BASELINE, LEVEL, RESAMPLES,
};
pub use tabular::TabularEncoder;
pub use write::write;
