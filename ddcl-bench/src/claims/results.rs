//! What the claims experiment records (the `claims` section of results.json).

use serde::Serialize;

use super::config::ClaimsConfig;
use crate::stats::Interval;

/// The claims section: the config as run, every run's rows, the summaries and the verdicts.
#[derive(Debug, Serialize)]
pub struct ClaimsResults {
    /// The configuration, as run (after `--full`).
    pub config: ClaimsConfig,
    /// `tau_c = critical_factor * lambda_max` of the token covariance.
    pub critical_factor: f64,
    /// One row per dataset, seed and method of deep clustering.
    pub clustering: Vec<ClusterRun>,
    /// Per dataset and method, over the seeds.
    pub clustering_summary: Vec<ClusterSummary>,
    /// One row per timescale run.
    pub timescale: Vec<TimescaleRun>,
    /// Seconds per training step of each section (measured in this run).
    pub seconds_per_step: Vec<(String, f64)>,
    /// Each claim with the paper's figure, ours and a verdict.
    pub claims: Vec<Claim>,
}

/// One clustering of one dataset with one seed.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterRun {
    /// Dataset.
    pub dataset: String,
    /// Seed.
    pub seed: u64,
    /// `k-means(frozen)`, `ddcl-hard(trained)` or `k-means(trained)`.
    pub method: String,
    /// Examples clustered.
    pub n: usize,
    /// Hungarian accuracy.
    pub accuracy: f64,
    /// Its Wilson 95% interval under the matching found.
    pub accuracy_interval: Interval,
    /// Normalised mutual information.
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// The readout's temperature over the critical temperature of the initial token states
    /// (`None` for frozen k-means).
    pub tau_over_critical: Option<f64>,
    /// V / L_SQ on the last training step (`None` for frozen k-means).
    pub v_over_l_sq: Option<f64>,
}

/// One method on one dataset over the seeds.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterSummary {
    /// Dataset.
    pub dataset: String,
    /// Method.
    pub method: String,
    /// Seeds.
    pub seeds: usize,
    /// Hungarian accuracy, every seed's examples pooled: Wilson 95% interval.
    pub accuracy: Interval,
    /// Smallest and largest accuracy over the seeds.
    pub accuracy_range: (f64, f64),
    /// NMI: mean and standard deviation over the seeds.
    pub nmi: (f64, f64),
    /// ARI: mean and standard deviation over the seeds.
    pub ari: (f64, f64),
    /// Accuracy of always answering the most common class.
    pub majority: f64,
}

/// One timescale run.
#[derive(Debug, Clone, Serialize)]
pub struct TimescaleRun {
    /// `unsupervised` (lambda * L_SQ) or `supervised` (CE + lambda * L_SQ).
    pub setting: &'static str,
    /// `eta_P fixed` or `eta_E fixed`.
    pub axis: &'static str,
    /// `k-means++` or `collapsed`.
    pub start: &'static str,
    /// eta_E / eta_P.
    pub eps: f64,
    /// eta_E.
    pub eta_e: f64,
    /// eta_P.
    pub eta_p: f64,
    /// Weight of L_SQ.
    pub lambda: f64,
    /// Seed.
    pub seed: u64,
    /// Temperature.
    pub tau: f64,
    /// Measurements on the held-out batch, every `record_every` steps (and at step 0).
    pub curve: Vec<TimescalePoint>,
    /// Test accuracy at the end: the head's (supervised) or the hard assignment's Hungarian
    /// accuracy (unsupervised).
    pub accuracy: f64,
}

/// The held-out batch at one step.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct TimescalePoint {
    /// Steps taken.
    pub step: usize,
    /// Minimum pairwise prototype distance over the tokens' RMS distance to their mean.
    pub separation_min: f64,
    /// Mean pairwise prototype distance over that scale.
    pub separation_mean: f64,
    /// V / L_SQ.
    pub v_over_l_sq: f64,
    /// Effective rank of the encoder's token states.
    pub effective_rank: f64,
    /// RMS distance of the tokens to their mean (the encoder's output scale).
    pub token_rms: f64,
    /// tau / tau_c of the current token states.
    pub tau_over_critical: f64,
    /// The fast system's step margin `1 - eta_P max_k n_k`.
    pub margin: f64,
    /// ||grad_E lambda L_SQ|| / ||grad_E CE|| (supervised only).
    pub gradient_ratio: Option<f64>,
}

/// A claim of the paper with the paper's figure, ours and a plain verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Claim {
    /// What the paper claims.
    pub claim: String,
    /// The paper's figure, as given.
    pub paper: String,
    /// Ours, with its interval.
    pub ours: String,
    /// `reproduced`, `not reproduced` or `partly`, and under what conditions.
    pub verdict: String,
}
