//! What a run logs: one record per step, one per epoch, the timescale check of an epoch.

use ddcl_core::{Timescale, UsageReport};
use serde::Serialize;

/// What one step logs (also a line of the JSONL log, with `"kind": "step"`).
///
/// ```no_run
/// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
/// let r = t.step(b, y)?;
/// println!("step {} loss {:.4} L_SQ {:.4}", r.step, r.loss, r.l_sq);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// Steps taken so far in the run.
    pub step: usize,
    /// Current epoch (from 1).
    pub epoch: usize,
    /// `task + lambda * l_sq`.
    pub loss: f64,
    /// Cross-entropy of the head.
    pub task: f64,
    /// `L_SQ`.
    pub l_sq: f64,
    /// `L_OLS`.
    pub l_ols: f64,
    /// `V`, the diversity term.
    pub v: f64,
    /// `|L_SQ - L_OLS - V| / L_SQ`.
    pub identity_violation: f64,
    /// Minimum pairwise distance of the prototypes.
    pub separation_min: f64,
    /// Mean pairwise distance of the prototypes.
    pub separation_mean: f64,
    /// Share of prototypes with batch occupancy above the threshold.
    pub soft_utilisation: f64,
    /// Share of prototypes that win at least one token of the batch.
    pub hard_utilisation: f64,
    /// Temperature.
    pub tau: f64,
}

/// What one epoch logs (a JSONL line with `"kind": "epoch"`).
///
/// ```no_run
/// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
/// let r = t.train_epoch(&[(b.clone(), y.clone())])?;
/// println!("epoch {} accuracy {:.3}", r.epoch, r.accuracy);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    /// The epoch (from 1).
    pub epoch: usize,
    /// Mean loss over the epoch's steps.
    pub loss: f64,
    /// Training accuracy of the head over the epoch.
    pub accuracy: f64,
    /// Prototype usage over the epoch: utilisation, perplexity, entropy, identity violation,
    /// occupancy.
    #[serde(flatten)]
    pub usage: UsageReport,
    /// Prototype separation at the end of the epoch.
    pub separation_min: f64,
    /// Mean pairwise prototype distance at the end of the epoch.
    pub separation_mean: f64,
    /// The timescale check (`None` when the policy is off).
    pub timescale: Option<TimescaleRecord>,
}

/// The timescale condition as checked at the end of an epoch.
///
/// ```no_run
/// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
/// let r = t.train_epoch(&[(b.clone(), y.clone())])?;
/// let holds = r.timescale.map(|ts| ts.holds); // None when the policy is off
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct TimescaleRecord {
    /// eps (0 with a frozen encoder), its bound, the largest occupancy and the step margin.
    #[serde(flatten)]
    pub check: Timescale,
    /// Both conditions hold.
    pub holds: bool,
}
