//! The run: load each dataset, encode it (cached), run the per-dataset protocols on its token
//! states, then the protocols that run once, each pushing its rows into the results.

use std::time::Instant;

use ddcl_readout::yaml::Validated;

use crate::alloc::peak_rss_mib;
use crate::codebook::config::CodebookConfig;
use crate::codebook::results::CodebookResults;
use crate::config::BenchConfig;
use crate::data::{load, split, Dataset};
use crate::encoders::Encoders;
use crate::error::{Error, Result};
use crate::hier::config::HierConfig;
use crate::progress::run_clock;
use crate::protocol::{
    cluster, codebook, hier, joint, probe, speed, sweep, tabular, Context, Encoded,
};
use crate::results::{DatasetInfo, IdentityRow, Results, SplitInfo};

/// Runs every configured protocol. Before any work, the configuration is checked (as when it
/// is read), every dataset's file or folder must be there, and the models are resolved and
/// hashed for the feature cache's key.
pub fn run(cfg: BenchConfig) -> Result<Results> {
    run_clock();
    let started = Instant::now();
    Validated::check(&cfg)?;
    let seed = *cfg
        .seeds
        .first()
        .ok_or_else(|| Error::Config("seeds: at least one".into()))?;
    for d in &cfg.datasets {
        d.source()?.check_exists()?;
    }
    let mut encoders = Encoders::resolve(&cfg)?;
    let mut results = Results::new(Some(cfg.clone()));
    for d in &cfg.datasets {
        let data = load(&d.name, &d.source()?, d.limit, seed)?;
        let mut info = describe(&cfg, &data);
        let Some(states) = encoders.states(&cfg, d, &data)? else {
            results.datasets.push(info);
            continue;
        };
        info.tokens_per_example = Some(states.tokens()? as f64 / data.len().max(1) as f64);
        results.datasets.push(info);
        let ctx = Context {
            cfg: &cfg,
            seed,
            encoders: &encoders,
        };
        let set = Encoded { data, states };
        results.probe.extend(probe::run(&ctx, &set)?);
        results.clustering.extend(cluster::run(&ctx, &set)?);
        if results.interpret.is_none() {
            results.interpret = crate::protocol::interpret::run(&ctx, &set)?;
        }
        if results.interpret_images.is_none() {
            results.interpret_images = crate::protocol::interpret::run_images(&ctx, &set)?;
        }
    }
    let ctx = Context {
        cfg: &cfg,
        seed,
        encoders: &encoders,
    };
    if let Some(j) = &cfg.joint {
        results.joint = joint::run(&ctx, j)?;
    }
    if let Some(s) = &cfg.sweep {
        results.sweep = sweep::run(&ctx, s)?;
    }
    if let Some(t) = &cfg.tabular {
        results.tabular = tabular::run(&ctx, t)?;
    }
    if let Some(s) = &cfg.speed {
        results.speed = speed::run(&ctx, s)?;
    }
    results.identity = identity_rows(&results);
    results.seconds = started.elapsed().as_secs_f64();
    results.peak_rss_mib = peak_rss_mib();
    Ok(results)
}

/// Runs the codebook experiment (`ddcl-bench codebook`): its rows in [`Results::codebook`],
/// the images used in [`Results::datasets`]. The configuration is checked first (as when it
/// is read).
///
/// ```no_run
/// let cfg = ddcl_bench::CodebookConfig::from_yaml_file("configs/codebook.yaml".as_ref())?;
/// let results = ddcl_bench::run_codebook(cfg)?;
/// assert!(results.codebook.is_some_and(|c| !c.rows.is_empty()));
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn run_codebook(cfg: CodebookConfig) -> Result<Results> {
    run_codebook_with(cfg, |_| Ok(()))
}

/// [`run_codebook`], showing `partial` the results of the runs finished so far after each
/// run (one method, K and seed), e.g. to write them where a killed experiment leaves them;
/// an error from `partial` ends the experiment.
///
/// ```no_run
/// let cfg = ddcl_bench::CodebookConfig::from_yaml_file("configs/codebook.yaml".as_ref())?;
/// let partial = std::path::Path::new("runs/codebook.partial");
/// let results = ddcl_bench::run_codebook_with(cfg, |so_far| ddcl_bench::write(so_far, partial))?;
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn run_codebook_with(
    cfg: CodebookConfig,
    mut partial: impl FnMut(&Results) -> Result<()>,
) -> Result<Results> {
    run_clock();
    let started = Instant::now();
    Validated::check(&cfg)?;
    let assemble = |section: &CodebookResults, info: &DatasetInfo| {
        let mut results = Results::new(None);
        results.datasets.push(info.clone());
        results.codebook = Some(section.clone());
        results.seconds = started.elapsed().as_secs_f64();
        results.peak_rss_mib = peak_rss_mib();
        results
    };
    let (section, info) =
        codebook::run(&cfg, &mut |section, info| partial(&assemble(section, info)))?;
    Ok(assemble(&section, &info))
}

/// The identity over every training run of the comparison: protocols 3, 4 and 5.
fn identity_rows(r: &Results) -> Vec<IdentityRow> {
    let joint = r
        .joint
        .iter()
        .map(|j| IdentityRow::f32("joint", &j.method, j.identity));
    let sweep = r
        .sweep
        .iter()
        .map(|s| IdentityRow::f32("sweep", &format!("eps={}", s.eps), s.identity));
    let tabular = r
        .tabular
        .iter()
        .map(|t| IdentityRow::f32("tabular", &t.method, t.identity));
    joint.chain(sweep).chain(tabular).collect()
}

/// Runs the hierarchical experiment (`ddcl-bench hier`): its rows in [`Results::hier`], the
/// documents used in [`Results::datasets`]. The configuration is checked first (as when it
/// is read).
///
/// ```no_run
/// let cfg = ddcl_bench::HierConfig::from_yaml_file("configs/hier.yaml".as_ref())?;
/// let results = ddcl_bench::run_hier(cfg)?;
/// assert!(results.hier.is_some_and(|h| !h.rows.is_empty()));
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn run_hier(cfg: HierConfig) -> Result<Results> {
    run_clock();
    let started = Instant::now();
    Validated::check(&cfg)?;
    let mut results = Results::new(None);
    let (section, info) = hier::run(&cfg)?;
    results.datasets.push(info);
    results.hier = Some(section);
    results.seconds = started.elapsed().as_secs_f64();
    results.peak_rss_mib = peak_rss_mib();
    Ok(results)
}

/// The dataset as sampled: its size, classes, and each seed's split.
fn describe(cfg: &BenchConfig, data: &Dataset) -> DatasetInfo {
    let mut class_counts = vec![0; data.classes.len()];
    for &l in &data.labels {
        class_counts[l] += 1;
    }
    let splits: Vec<SplitInfo> = cfg
        .seeds
        .iter()
        .map(|&seed| {
            let (tr, te) = split(data.len(), cfg.train_share_of(&data.name), seed);
            let at = |idx: Vec<usize>| idx.into_iter().map(|i| data.origin[i]).collect();
            SplitInfo {
                seed,
                labels: te.iter().map(|&i| data.labels[i]).collect(),
                train: at(tr),
                test: at(te),
            }
        })
        .collect();
    let train = splits.first().map_or(0, |s| s.train.len());
    DatasetInfo {
        name: data.name.clone(),
        examples: data.len(),
        classes: data.classes.clone(),
        class_counts,
        train,
        test: data.len() - train,
        tokens_per_example: None,
        splits,
    }
}
