//! Protocol 4: a sweep of the ratio `eps = eta_E / eta_P` across the bound, on the joint
//! protocol's dataset and settings, recording separation and V per step.

use ddcl_core::Timescale;
use ddcl_readout::ReadoutConfig;

use super::predict::predict;
use super::trainer::{joint_data, run_config, train_config, trainer};
use super::Context;
use crate::config::SweepConfig;
use crate::error::{Error, Result};
use crate::progress::progress;
use crate::results::SweepRow;
use crate::stats::{Interval, Split};

/// A row per ratio of `s`, each a DDCL readout trained as the joint section says with
/// `lr_prototypes = lr_encoder / eps`.
pub fn run(ctx: &Context, s: &SweepConfig) -> Result<Vec<SweepRow>> {
    let j = ctx.cfg.joint.as_ref().ok_or_else(|| {
        Error::Config("sweep needs the joint section (its dataset and settings)".into())
    })?;
    let jd = joint_data(ctx, j, s.limit, None)?;
    let mut rows = Vec::new();
    for &eps in &s.eps {
        let lr_p = j.lr_encoder / eps;
        let mut rcfg = ReadoutConfig::new(j.prototypes, 1.0)?;
        rcfg.pooling = vec![j.summary];
        let mut tc = train_config(j, lr_p, j.lambda, ctx.seed);
        tc.epochs = s.epochs;
        let rc = run_config(&ctx.cfg.text_model, rcfg, jd.classes, tc);
        let (mut t, train, test) = trainer(ctx, &jd, rc)?;
        let pb = progress(s.epochs * train.len(), &format!("sweep eps={eps}"));
        let (mut sep, mut v) = (Vec::new(), Vec::new());
        for _ in 0..s.epochs {
            for (b, y) in &train {
                let r = t.step(b, y)?;
                sep.push(r.separation_min);
                v.push(r.v);
                pb.inc(1);
            }
        }
        pb.finish_and_clear();
        let check = Timescale::check(j.lr_encoder, lr_p, &[0.0], ddcl_core::DEFAULT_EPS_MAX)?;
        let (predicted, labels) = predict(&mut t, &test)?;
        let interval = Interval::pooled(&[Split::new(&predicted, &labels)?])?;
        rows.push(SweepRow {
            eps,
            separated: check.separated(),
            accuracy: interval.value,
            interval,
            separation: sep,
            v,
            identity: t.identity(),
        });
    }
    Ok(rows)
}
