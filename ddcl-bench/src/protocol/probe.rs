//! Protocol 1: a linear probe on each method's pooled features of a frozen encoder, one test
//! accuracy per seed's split (mean ± std over the seeds).

use super::{Context, Encoded};
use crate::data::split;
use crate::error::Result;
use crate::metrics::{accuracy, mean_std};
use crate::probe::probe;
use crate::progress::progress;
use crate::results::ProbeRow;

/// A row per method of the configuration on the encoded dataset `set`.
pub fn run(ctx: &Context, set: &Encoded) -> Result<Vec<ProbeRow>> {
    let (cfg, data, states) = (ctx.cfg, &set.data, &set.states);
    let pb = progress(
        cfg.methods.len() * cfg.seeds.len(),
        &format!("probe {}", data.name),
    );
    let mut rows = Vec::new();
    for m in &cfg.methods {
        let (mut accs, mut fits) = (Vec::new(), Vec::new());
        for &seed in &cfg.seeds {
            let (tr, te) = split(data.len(), cfg.train_share, seed);
            let (s_tr, s_te) = (states.rows(&tr)?, states.rows(&te)?);
            let y_tr: Vec<usize> = tr.iter().map(|&i| data.labels[i]).collect();
            let y_te: Vec<usize> = te.iter().map(|&i| data.labels[i]).collect();
            let fitted = m.fit(&s_tr, &y_tr, data.classes.len(), &cfg.fit, seed)?;
            let (f_tr, f_te) = (fitted.features(&s_tr, 64)?, fitted.features(&s_te, 64)?);
            let fit = probe(&f_tr, &y_tr, &f_te, data.classes.len(), &cfg.probe)?;
            accs.push(accuracy(&fit.pred, &y_te));
            fits.push(fit.record);
            pb.inc(1);
        }
        let (mean, std) = mean_std(&accs);
        tracing::info!(dataset = data.name, method = %m, mean, std, "probe");
        rows.push(ProbeRow {
            dataset: data.name.clone(),
            method: m.to_string(),
            accuracy: accs,
            mean,
            std,
            probe: fits,
        });
    }
    pb.finish_and_clear();
    Ok(rows)
}
