//! The timescale policy of a run: learning rates that break the bound are refused up front
//! under `refuse`, and every epoch checks the condition on the prototypes' occupancy.

use ddcl_core::Timescale;

use super::record::TimescaleRecord;
use crate::{Error, Policy, Result, TrainConfig, Trainable};

/// Refuses at once when the policy is `refuse`, the encoder trains and
/// `lr_encoder / lr_prototypes` exceeds the bound.
pub(super) fn check_rates(t: &TrainConfig) -> Result<()> {
    if t.timescale.policy == Policy::Refuse && encoder_trains(t.encoder) {
        let eps = t.lr_encoder / t.lr_prototypes;
        if eps > t.timescale.eps_max {
            return Err(Error::Timescale(format!(
                "eps = lr_encoder / lr_prototypes = {eps:.4} > eps_max = {}",
                t.timescale.eps_max
            )));
        }
    }
    Ok(())
}

/// The check at the end of `epoch` on the epoch's `occupancy`, under the policy: `None` when
/// off, a warning or an error when the condition fails.
pub(super) fn check_epoch(
    t: &TrainConfig,
    epoch: usize,
    occupancy: &[f64],
) -> Result<Option<TimescaleRecord>> {
    if t.timescale.policy == Policy::Off {
        return Ok(None);
    }
    let eta_e = if encoder_trains(t.encoder) {
        t.lr_encoder
    } else {
        t.lr_prototypes
    };
    let mut check = Timescale::check(eta_e, t.lr_prototypes, occupancy, t.timescale.eps_max)?;
    if !encoder_trains(t.encoder) {
        check.eps = 0.0;
    }
    let record = TimescaleRecord {
        check,
        holds: check.holds(),
    };
    if !record.holds {
        let msg = format!(
            "epoch {}: eps = {:.4} (bound {}), step margin 1 - eta_P max_k n_k = {:.4}",
            epoch, check.eps, check.eps_max, check.step_margin
        );
        match t.timescale.policy {
            Policy::Refuse => return Err(Error::Timescale(msg)),
            Policy::Warn => tracing::warn!("timescale condition violated: {msg}"),
            Policy::Off => {}
        }
    }
    Ok(Some(record))
}

fn encoder_trains(t: Trainable) -> bool {
    !matches!(t, Trainable::Frozen | Trainable::Top(0))
}
