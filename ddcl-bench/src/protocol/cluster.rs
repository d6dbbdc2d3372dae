//! Protocol 2: clustering with K = classes, by k-means on each method's pooled features and by
//! DDCL's own hard assignment (first seed's fit): Hungarian accuracy (with its 95% interval),
//! NMI, ARI.

use ddcl_readout::Pooling;

use super::{Context, Encoded};
use crate::error::Result;
use crate::kmeans::kmeans;
use crate::methods::Method;
use crate::metrics::{ari, hungarian_accuracy, hungarian_matched, nmi};
use crate::probe::standardise;
use crate::progress::progress;
use crate::results::ClusterRow;
use crate::stats::Interval;

/// A row per method of the configuration except PMA, then one for DDCL's hard assignment, on
/// the encoded dataset `set`.
pub fn run(ctx: &Context, set: &Encoded) -> Result<Vec<ClusterRow>> {
    let (cfg, data, states, seed) = (ctx.cfg, &set.data, &set.states, ctx.seed);
    let classes = data.classes.len();
    let mut rows = Vec::new();
    let mut row = |method: String, clusters: &[usize]| -> Result<()> {
        rows.push(ClusterRow {
            dataset: data.name.clone(),
            method,
            accuracy: hungarian_accuracy(clusters, &data.labels),
            nmi: nmi(clusters, &data.labels),
            ari: ari(clusters, &data.labels),
            accuracy_interval: Interval::wilson(
                hungarian_matched(clusters, &data.labels),
                data.labels.len(),
            )?,
        });
        Ok(())
    };
    let pb = progress(cfg.methods.len() + 1, &format!("cluster {}", data.name));
    for m in cfg
        .methods
        .iter()
        .filter(|m| !matches!(m, Method::Pma { .. }))
    {
        let fitted = m.fit(states, &data.labels, classes, &cfg.fit, seed)?;
        let f = fitted.features(states, 64)?;
        let (f, _) = standardise(&f, &f)?;
        let c = kmeans(&f, classes, cfg.kmeans_restarts, seed)?.labels;
        row(format!("k-means({m})"), &c)?;
        pb.inc(1);
    }
    let own = Method::Ddcl {
        k: classes,
        summary: Pooling::Occupancy,
    }
    .fit(states, &data.labels, classes, &cfg.fit, seed)?;
    if let Some(c) = own.clusters(states)? {
        row(format!("ddcl-hard(K={classes})"), &c)?;
    }
    pb.finish_and_clear();
    Ok(rows)
}
