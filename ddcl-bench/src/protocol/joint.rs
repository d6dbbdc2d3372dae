//! Protocol 3: joint training with the top encoder layers trainable, DDCL vs mean pooling,
//! under the timescale condition; each accuracy with its 95% interval, DDCL compared with
//! mean pooling on the same test examples.

use ddcl_readout::{Init, Pooling, ReadoutConfig};

use super::predict::{predict, vs_mean};
use super::trainer::{joint_data, run_config, train_config, trainer};
use super::Context;
use crate::config::JointConfig;
use crate::error::Result;
use crate::progress::progress;
use crate::results::JointRow;
use crate::stats::{Interval, Split};

/// A row for DDCL, then one for mean pooling, each trained as `j` says.
pub fn run(ctx: &Context, j: &JointConfig) -> Result<Vec<JointRow>> {
    let jd = joint_data(ctx, j, j.limit, j.train)?;
    let tau = 1.0; // replaced by the automatic temperature for DDCL
    let mut ddcl = ReadoutConfig::new(j.prototypes, tau)?;
    ddcl.pooling = vec![j.summary];
    let mut mean = ReadoutConfig::new(1, tau)?;
    mean.pooling = vec![Pooling::Mean];
    mean.init = Init::Random;
    let runs = [
        (
            format!("ddcl:{}:{}", j.prototypes, j.summary),
            ddcl,
            j.lambda,
        ),
        ("mean".to_string(), mean, 0.0),
    ];
    let mut rows = Vec::new();
    for (name, rcfg, lambda) in runs {
        let tc = train_config(j, j.lr_prototypes, lambda, ctx.seed);
        let rc = run_config(&ctx.cfg.text_model, rcfg, jd.classes, tc);
        let (mut t, train, test) = trainer(ctx, &jd, rc)?;
        let pb = progress(j.epochs, &format!("joint {name}"));
        let (mut loss, mut sep, mut held) = (Vec::new(), Vec::new(), true);
        for _ in 0..j.epochs {
            let e = t.train_epoch(&train)?;
            loss.push(e.loss);
            sep.push(e.separation_min);
            held &= e.timescale.as_ref().is_none_or(|ts| ts.holds);
            pb.inc(1);
        }
        pb.finish_and_clear();
        let (predictions, labels) = predict(&mut t, &test)?;
        let interval = Interval::pooled(&[Split::new(&predictions, &labels)?])?;
        tracing::info!(method = name, accuracy = interval.value, "joint");
        rows.push(JointRow {
            method: name,
            accuracy: interval.value,
            interval,
            vs_mean: None,
            predictions,
            labels,
            loss,
            separation: sep,
            timescale_held: held,
            identity: t.identity(),
        });
    }
    let scored = rows
        .iter()
        .map(|r| (r.method.as_str(), &r.predictions[..], &r.labels[..]));
    let compared = vs_mean(scored, ctx.seed)?;
    for (row, c) in rows.iter_mut().zip(compared) {
        row.vs_mean = c;
    }
    Ok(rows)
}
