//! The paper's claims, measured (`ddcl-bench claims`): deep clustering in the paper's setting,
//! the two-timescale experiment redesigned so that it can show the effect, and the identity
//! `L_SQ = L_OLS + V` over every training step; each claim with the paper's figure, ours and
//! a verdict.

pub mod config;
pub mod deepcluster;
pub mod geometry;
pub mod plot;
pub mod report;
pub mod results;
pub mod timescale;
pub mod verdict;

use std::time::Instant;

use ddcl_readout::yaml::Validated;

use crate::alloc::peak_rss_mib;
use crate::error::Result;
use crate::progress::run_clock;
use crate::results::Results;
use config::ClaimsConfig;
use results::ClaimsResults;

/// Runs the claims experiment: deep clustering, then the timescale runs; the verdicts from
/// what they measured. The configuration is checked first (as when it is read).
///
/// ```no_run
/// let cfg = ddcl_bench::ClaimsConfig::from_yaml_file("configs/claims.yaml".as_ref())?;
/// let results = ddcl_bench::run_claims(cfg)?;
/// assert!(results.claims.is_some_and(|c| !c.claims.is_empty()));
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn run_claims(cfg: ClaimsConfig) -> Result<Results> {
    run_clock();
    let started = Instant::now();
    Validated::check(&cfg)?;
    let mut results = Results::new(None);
    let clustered = deepcluster::run(&cfg)?;
    let (timescale, timescale_identity, per_step) = timescale::run(&cfg)?;
    results.identity = clustered.identity;
    results.identity.extend(timescale_identity);
    let mut seconds_per_step = clustered.seconds_per_step;
    seconds_per_step.push(("timescale (tabular, incl. measurements)".into(), per_step));
    let mut section = ClaimsResults {
        config: cfg,
        critical_factor: geometry::CRITICAL_FACTOR,
        clustering: clustered.runs,
        clustering_summary: clustered.summary,
        timescale,
        seconds_per_step,
        claims: Vec::new(),
    };
    section.claims = verdict::claims(&section, &results.identity);
    results.claims = Some(section);
    results.seconds = started.elapsed().as_secs_f64();
    results.peak_rss_mib = peak_rss_mib();
    Ok(results)
}
