//! Protocol 1: a linear probe on each method's pooled features of a frozen encoder, one test
//! accuracy per seed's split (mean ± std over the seeds), every seed's test predictions pooled
//! into a 95% interval, and each method compared with mean pooling on the same splits.

use rayon::prelude::*;

use super::{Context, Encoded};
use crate::data::split;
use crate::error::Result;
use crate::metrics::{accuracy, mean_std};
use crate::probe::{probe, ProbeRecord};
use crate::progress::progress;
use crate::results::ProbeRow;
use crate::stats::{vs_baseline, Interval, Split};

/// A row per method of the configuration on the encoded dataset `set`.
pub fn run(ctx: &Context, set: &Encoded) -> Result<Vec<ProbeRow>> {
    let (cfg, data, states) = (ctx.cfg, &set.data, &set.states);
    let pb = progress(
        cfg.methods.len() * cfg.seeds.len(),
        &format!("probe {}", data.name),
    );
    let splits: Vec<SeedSplit> = cfg
        .seeds
        .iter()
        .map(|&seed| {
            let (train, test) = split(data.len(), cfg.train_share_of(&data.name), seed);
            let labels = |idx: &[usize]| idx.iter().map(|&i| data.labels[i]).collect();
            SeedSplit {
                seed,
                y_train: labels(&train),
                y_test: labels(&test),
                train,
                test,
            }
        })
        .collect();
    let mut rows = Vec::new();
    for m in &cfg.methods {
        // the seeds' splits are independent: fitted and probed in parallel (each seeded by
        // its own split, so the numbers do not depend on the thread count), kept in seed order
        let per_seed = splits
            .par_iter()
            .map(|split| -> Result<(f64, Vec<usize>, ProbeRecord)> {
                let (s_tr, s_te) = (states.rows(&split.train)?, states.rows(&split.test)?);
                let classes = data.classes.len();
                let fitted = m.fit(&s_tr, &split.y_train, classes, &cfg.fit, split.seed)?;
                let (f_tr, f_te) = (fitted.features(&s_tr, 64)?, fitted.features(&s_te, 64)?);
                let fit = probe(&f_tr, &split.y_train, &f_te, classes, &cfg.probe)?;
                pb.inc(1);
                Ok((accuracy(&fit.pred, &split.y_test), fit.pred, fit.record))
            })
            .collect::<Result<Vec<_>>>()?;
        let (mut accs, mut preds, mut fits) = (Vec::new(), Vec::new(), Vec::new());
        for (acc, pred, record) in per_seed {
            accs.push(acc);
            preds.push(pred);
            fits.push(record);
        }
        let (mean, std) = mean_std(&accs);
        let pooled = Interval::pooled(&scored(&preds, &splits)?)?;
        tracing::info!(dataset = data.name, method = %m, mean, std, se = pooled.se, "probe");
        rows.push(ProbeRow {
            dataset: data.name.clone(),
            method: m.to_string(),
            accuracy: accs,
            mean,
            std,
            pooled,
            vs_mean: None,
            predictions: preds,
            probe: fits,
        });
    }
    pb.finish_and_clear();
    let compared = {
        let names: Vec<&str> = rows.iter().map(|r| r.method.as_str()).collect();
        let scores = rows
            .iter()
            .map(|r| scored(&r.predictions, &splits))
            .collect::<Result<Vec<_>>>()?;
        vs_baseline(&names, &scores, ctx.seed)?
    };
    for (row, c) in rows.iter_mut().zip(compared) {
        row.vs_mean = c;
    }
    Ok(rows)
}

/// One seed's split: its examples and their labels.
struct SeedSplit {
    seed: u64,
    train: Vec<usize>,
    test: Vec<usize>,
    y_train: Vec<usize>,
    y_test: Vec<usize>,
}

/// Each split's predictions paired with its test labels.
fn scored<'a>(preds: &'a [Vec<usize>], splits: &'a [SeedSplit]) -> Result<Vec<Split<'a>>> {
    preds
        .iter()
        .zip(splits)
        .map(|(p, s)| Split::new(p, &s.y_test))
        .collect()
}
