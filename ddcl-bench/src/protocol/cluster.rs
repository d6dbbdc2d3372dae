//! Protocol 2: clustering with K = classes, by k-means on each method's pooled features and by
//! DDCL's own hard assignment, once per seed: Hungarian accuracy (pooled over the seeds, with
//! its 95% interval), NMI, ARI.

use ddcl_readout::Pooling;

use super::{Context, Encoded};
use crate::error::Result;
use crate::kmeans::kmeans;
use crate::methods::Method;
use crate::metrics::{ari, hungarian_matched, nmi};
use crate::probe::standardise;
use crate::progress::progress;
use crate::results::ClusterRow;
use crate::stats::Interval;

/// A row per method of the configuration except PMA, then one for DDCL's hard assignment, on
/// the encoded dataset `set`: each clustered once per seed of the run (fit and k-means seeded
/// by it), the accuracy pooled over the seeds' clusterings (n = seeds x examples), NMI and ARI
/// their means.
pub fn run(ctx: &Context, set: &Encoded) -> Result<Vec<ClusterRow>> {
    let (cfg, data, states) = (ctx.cfg, &set.data, &set.states);
    let classes = data.classes.len();
    let mut rows = Vec::new();
    let mut row = |method: String, clusterings: &[Vec<usize>]| -> Result<()> {
        let runs = clusterings.len() as f64;
        let mean = |f: fn(&[usize], &[usize]) -> f64| {
            clusterings.iter().map(|c| f(c, &data.labels)).sum::<f64>() / runs
        };
        let matched = clusterings
            .iter()
            .map(|c| hungarian_matched(c, &data.labels))
            .sum();
        let interval = Interval::wilson(matched, clusterings.len() * data.labels.len())?;
        rows.push(ClusterRow {
            dataset: data.name.clone(),
            method,
            accuracy: interval.value,
            nmi: mean(nmi),
            ari: mean(ari),
            accuracy_interval: interval,
        });
        Ok(())
    };
    let pb = progress(cfg.methods.len() + 1, &format!("cluster {}", data.name));
    for m in cfg
        .methods
        .iter()
        .filter(|m| !matches!(m, Method::Pma { .. }))
    {
        let mut clusterings = Vec::new();
        for &seed in &cfg.seeds {
            let fitted = m.fit(states, &data.labels, classes, &cfg.fit, seed)?;
            let f = fitted.features(states, 64)?;
            let (f, _) = standardise(&f, &f)?;
            clusterings.push(kmeans(&f, classes, cfg.kmeans_restarts, seed)?.labels);
        }
        row(format!("k-means({m})"), &clusterings)?;
        pb.inc(1);
    }
    let own = Method::Ddcl {
        k: classes,
        summary: Pooling::Occupancy,
    };
    let mut clusterings = Vec::new();
    for &seed in &cfg.seeds {
        let fitted = own.fit(states, &data.labels, classes, &cfg.fit, seed)?;
        clusterings.extend(fitted.clusters(states)?);
    }
    if !clusterings.is_empty() {
        row(format!("ddcl-hard(K={classes})"), &clusterings)?;
    }
    pb.finish_and_clear();
    Ok(rows)
}
