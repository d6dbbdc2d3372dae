//! The results' schema: everything a run measured, with what it ran on, as written to
//! `results.json`.

use serde::Serialize;

use ddcl_readout::IdentityTally;

use crate::claims::results::ClaimsResults;
use crate::codebook::results::CodebookResults;
use crate::config::BenchConfig;
use crate::hier::results::HierResults;
use crate::probe::ProbeRecord;
use crate::stats::{Interval, Paired, ALPHA, BASELINE, LEVEL, RESAMPLES};

/// Version of the results' JSON layout.
///
/// `ddcl-bench/2` adds the statistics: each accuracy's pooled
/// [`Interval`] (n, standard error, Wilson 95% interval), each method's [`Paired`]
/// comparison with mean pooling (`vs_mean`), the per-example test predictions with the test
/// labels (`SplitInfo::labels`, `predictions`), the clustering accuracy's interval, and
/// [`StatsInfo`], which says how all of them were computed; and the optional `codebook`
/// section of a `ddcl-bench codebook` run ([`CodebookResults`]), whose results have no
/// `config` of the comparison (the experiment's own is in the section) and no protocol rows;
/// likewise the optional `hier` section of a `ddcl-bench hier` run ([`HierResults`]).
pub const SCHEMA: &str = "ddcl-bench/2";

/// Everything a run measured, with what it ran on.
#[derive(Debug, Serialize)]
pub struct Results {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The configuration, as run (after `--quick`); absent in a `ddcl-bench codebook` run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub config: Option<BenchConfig>,
    /// `git rev-parse HEAD` of the working tree, if any.
    pub git_revision: Option<String>,
    /// The machine.
    pub machine: Machine,
    /// How the intervals and tests were computed.
    pub stats: StatsInfo,
    /// Wall-clock seconds of the run.
    pub seconds: f64,
    /// Peak resident memory of the process over the run, MiB (Linux).
    pub peak_rss_mib: Option<f64>,
    /// The datasets as sampled.
    pub datasets: Vec<DatasetInfo>,
    /// Protocol 1: linear-probe accuracy per dataset and method, over the seeds.
    pub probe: Vec<ProbeRow>,
    /// Protocol 2: clustering quality per dataset and method (first seed's fit).
    pub clustering: Vec<ClusterRow>,
    /// Protocol 3: joint training, DDCL vs mean pooling.
    pub joint: Vec<JointRow>,
    /// Protocol 4: the learning-rate-ratio sweep.
    pub sweep: Vec<SweepRow>,
    /// Protocol 5: tabular data.
    pub tabular: Vec<TabularRow>,
    /// Speed per pooling method on the real encoder.
    pub speed: Vec<SpeedRow>,
    /// The page of what the prototypes learned (`interpret.html`), for the first DDCL
    /// method on the first text dataset; absent without either.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpret: Option<InterpretPage>,
    /// The pages of what the prototypes learned on images (`interpret-images/index.html` and
    /// its PNGs), for the first DDCL method on the first image dataset; absent without either.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpret_images: Option<ImagePages>,
    /// The codebook experiment (`ddcl-bench codebook`; absent in the comparison's runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub codebook: Option<CodebookResults>,
    /// The hierarchical experiment (`ddcl-bench hier`; absent in the other runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hier: Option<HierResults>,
    /// The paper's claims (`ddcl-bench claims`; absent in the other runs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claims: Option<ClaimsResults>,
    /// The identity `L_SQ = L_OLS + V` over every step of every training run this run made
    /// (one row per run, f32 arithmetic).
    pub identity: Vec<IdentityRow>,
}

/// The identity over the steps of one training run.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityRow {
    /// The protocol (`joint`, `sweep`, `tabular`, `timescale`, `deep clustering`).
    pub protocol: String,
    /// The run within it.
    pub run: String,
    /// The arithmetic of the losses (`f32`).
    pub dtype: &'static str,
    /// Steps, largest relative residual, steps above 1e-5 and above 1e-12.
    #[serde(flatten)]
    pub tally: IdentityTally,
}

impl IdentityRow {
    /// A row for `run` of `protocol` in f32.
    ///
    /// ```
    /// let row = ddcl_bench::IdentityRow::f32("joint", "mean", ddcl_readout::IdentityTally::default());
    /// assert_eq!(row.dtype, "f32");
    /// ```
    pub fn f32(protocol: &str, run: &str, tally: IdentityTally) -> Self {
        Self {
            protocol: protocol.into(),
            run: run.into(),
            dtype: "f32",
            tally,
        }
    }
}

impl Results {
    /// No rows yet, for `config` (none for the codebook experiment) run on this machine at the
    /// working tree's git revision.
    pub(crate) fn new(config: Option<BenchConfig>) -> Self {
        Self {
            schema: SCHEMA,
            config,
            git_revision: git_revision(),
            machine: Machine::here(),
            stats: StatsInfo::default(),
            seconds: 0.0,
            peak_rss_mib: None,
            datasets: Vec::new(),
            probe: Vec::new(),
            clustering: Vec::new(),
            joint: Vec::new(),
            sweep: Vec::new(),
            tabular: Vec::new(),
            speed: Vec::new(),
            interpret: None,
            interpret_images: None,
            codebook: None,
            hier: None,
            claims: None,
            identity: Vec::new(),
        }
    }
}

/// The page of what the prototypes learned that a run wrote: whose prototypes, on which
/// sentences (see `protocol::interpret`).
///
/// ```
/// let page = ddcl_bench::InterpretPage {
///     dataset: "rotten_tomatoes".into(), method: "ddcl:8:mixture".into(), seed: 0,
///     sentences: 30, file: "interpret.html".into(), seconds: 1.5, html: String::new(),
/// };
/// assert!(!serde_json::to_string(&page)?.contains("\"html\":")); // not in results.json
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct InterpretPage {
    /// The dataset.
    pub dataset: String,
    /// The DDCL method whose prototypes it shows.
    pub method: String,
    /// The seed whose training split fitted them and whose test sentences it shows.
    pub seed: u64,
    /// Sentences shown.
    pub sentences: usize,
    /// The page's file in the output folder.
    pub file: String,
    /// Seconds to fit the prototypes and draw the page.
    pub seconds: f64,
    /// The page itself (written beside results.json, not into it).
    #[serde(skip)]
    pub html: String,
}

/// The image pages of what the prototypes learned that a run wrote: whose prototypes, on
/// which test images (see `protocol::interpret`), drawn into `folder` by
/// [`ddcl_readout::interpret::write_image_pages`].
///
/// ```
/// let pages = ddcl_bench::ImagePages {
///     dataset: "fashion_mnist".into(), method: "ddcl:8:mixture".into(), seed: 0, images: 12,
///     folder: "interpret-images".into(), seconds: 2.0, prototypes: 8,
///     assigned: Vec::new(), info: Default::default(),
/// };
/// assert!(!serde_json::to_string(&pages)?.contains("\"assigned\":")); // not in results.json
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct ImagePages {
    /// The dataset.
    pub dataset: String,
    /// The DDCL method whose prototypes it shows.
    pub method: String,
    /// The seed whose training split fitted them and whose test images it shows.
    pub seed: u64,
    /// Images shown.
    pub images: usize,
    /// The pages' folder in the output folder (`index.html` there).
    pub folder: String,
    /// Seconds to fit the prototypes and assign the images' patches.
    pub seconds: f64,
    /// K, the prototypes shown.
    pub prototypes: usize,
    /// Each image's patch assignments (drawn beside results.json, not into it).
    #[serde(skip)]
    pub assigned: Vec<ddcl_readout::interpret::AssignedImage>,
    /// The index page's title and notes.
    #[serde(skip)]
    pub info: ddcl_readout::interpret::PageInfo,
}

fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// What the run ran on.
#[derive(Debug, Serialize)]
pub struct Machine {
    /// Operating system.
    pub os: &'static str,
    /// CPU architecture.
    pub arch: &'static str,
    /// Threads available.
    pub cpus: usize,
    /// CPU model, from /proc/cpuinfo where present.
    pub cpu: Option<String>,
}

impl Machine {
    fn here() -> Self {
        let cpu = std::fs::read_to_string("/proc/cpuinfo").ok().and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        });
        Self {
            os: std::env::consts::OS,
            arch: std::env::consts::ARCH,
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu,
        }
    }
}

/// How the results' intervals and tests were computed (see [`Interval`] and [`Paired`]).
///
/// ```
/// let s = ddcl_bench::StatsInfo::default();
/// assert_eq!((s.level, s.baseline), (0.95, "mean"));
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct StatsInfo {
    /// Confidence level of every interval.
    pub level: f64,
    /// Significance level of the paired verdicts.
    pub alpha: f64,
    /// The method every other is compared with.
    pub baseline: &'static str,
    /// How an accuracy's interval is computed.
    pub accuracy_interval: &'static str,
    /// How a paired difference's interval is computed.
    pub difference_interval: &'static str,
    /// The paired test.
    pub test: &'static str,
    /// How the clustering accuracy's interval is computed.
    pub cluster_interval: &'static str,
    /// Bootstrap resamples per interval.
    pub resamples: usize,
    /// Seed of every bootstrap: the run's first seed.
    pub bootstrap_seed: &'static str,
}

impl Default for StatsInfo {
    fn default() -> Self {
        Self {
            level: LEVEL,
            alpha: ALPHA,
            baseline: BASELINE,
            accuracy_interval:
                "Wilson score interval over the pooled test predictions of all splits",
            difference_interval:
                "paired bootstrap over test examples, stratified by split, percentile",
            test: "exact McNemar (two-sided binomial on the discordant pairs, summed over splits)",
            cluster_interval:
                "Wilson score interval of the accuracy pooled over one clustering per seed, each under the matching found on all the examples",
            resamples: RESAMPLES,
            bootstrap_seed: "the run's first seed",
        }
    }
}

/// A dataset as sampled for the run.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetInfo {
    /// Name.
    pub name: String,
    /// Examples in the sample.
    pub examples: usize,
    /// Class names.
    pub classes: Vec<String>,
    /// Examples per class.
    pub class_counts: Vec<usize>,
    /// Training examples per seed's split.
    pub train: usize,
    /// Test examples per seed's split.
    pub test: usize,
    /// Mean real tokens per example (encoder datasets).
    pub tokens_per_example: Option<f64>,
    /// Each seed's split, as positions in the source's full list.
    pub splits: Vec<SplitInfo>,
}

/// One seed's train/test split of a dataset.
#[derive(Debug, Clone, Serialize)]
pub struct SplitInfo {
    /// The seed.
    pub seed: u64,
    /// Training examples (positions in the source's full list).
    pub train: Vec<usize>,
    /// Test examples.
    pub test: Vec<usize>,
    /// The test examples' labels, in the order of `test` (what the predictions are scored
    /// against).
    pub labels: Vec<usize>,
}

/// Protocol 1 result.
#[derive(Debug, Serialize)]
pub struct ProbeRow {
    /// Dataset.
    pub dataset: String,
    /// Method.
    pub method: String,
    /// Test accuracy per seed.
    pub accuracy: Vec<f64>,
    /// Mean over seeds.
    pub mean: f64,
    /// Sample standard deviation over seeds.
    pub std: f64,
    /// Every seed's test predictions pooled: accuracy (the mean over seeds, the splits being
    /// equally large), n, standard error and 95% interval.
    pub pooled: Interval,
    /// The paired comparison with mean pooling on the same splits (none for mean pooling
    /// itself, or when the run has no mean pooling).
    pub vs_mean: Option<Paired>,
    /// Each seed's test predictions, in the order of that split's test examples
    /// ([`SplitInfo::labels`]).
    pub predictions: Vec<Vec<usize>>,
    /// Each seed's probe: the `C` it used, the cross-validation that chose it, convergence.
    pub probe: Vec<ProbeRecord>,
}

/// Protocol 2 result.
#[derive(Debug, Serialize)]
pub struct ClusterRow {
    /// Dataset.
    pub dataset: String,
    /// `k-means(<method>)`, or `ddcl-hard(K=classes)` for DDCL's own hard assignment.
    pub method: String,
    /// Accuracy under the best cluster-to-class matching, pooled over one clustering per seed.
    pub accuracy: f64,
    /// Normalised mutual information, the mean over the seeds' clusterings.
    pub nmi: f64,
    /// Adjusted Rand index, the mean over the seeds' clusterings.
    pub ari: f64,
    /// The accuracy's n (seeds x the examples clustered), standard error and Wilson 95%
    /// interval, each clustering under the matching found on all its examples. NMI and ARI get no interval: resampling
    /// the examples with replacement duplicates some, and the duplicates agree with each other
    /// in cluster and class, so the bootstrap draws of both are biased upward; at the bench's
    /// sizes their percentile interval can miss the estimate altogether (Fashion-MNIST at 150
    /// examples: NMI 0.348, interval [0.359, 0.469]).
    pub accuracy_interval: Interval,
}

/// Protocol 3 result.
#[derive(Debug, Serialize)]
pub struct JointRow {
    /// `ddcl:K:summary` or `mean`.
    pub method: String,
    /// Test accuracy after the last epoch.
    pub accuracy: f64,
    /// That accuracy's n, standard error and 95% interval.
    pub interval: Interval,
    /// The paired comparison with the mean-pooling row on the same test examples.
    pub vs_mean: Option<Paired>,
    /// Test predictions (the first seed's split).
    pub predictions: Vec<usize>,
    /// Test labels, in the same order.
    pub labels: Vec<usize>,
    /// Training loss per epoch.
    pub loss: Vec<f64>,
    /// Prototype separation (min) per epoch.
    pub separation: Vec<f64>,
    /// Whether the timescale condition held at every epoch.
    pub timescale_held: bool,
    /// The identity `L_SQ = L_OLS + V` over every training step of this run.
    pub identity: IdentityTally,
}

/// Protocol 4 result.
#[derive(Debug, Serialize)]
pub struct SweepRow {
    /// `eta_E / eta_P`.
    pub eps: f64,
    /// Whether `eps <= eps_max`.
    pub separated: bool,
    /// Test accuracy at the end.
    pub accuracy: f64,
    /// That accuracy's n, standard error and 95% interval.
    pub interval: Interval,
    /// Minimum prototype separation after each step.
    pub separation: Vec<f64>,
    /// V after each step.
    pub v: Vec<f64>,
    /// The identity `L_SQ = L_OLS + V` over every training step of this run.
    pub identity: IdentityTally,
}

/// Protocol 5 result.
#[derive(Debug, Serialize)]
pub struct TabularRow {
    /// `ddcl:K:SUMMARY` or `mean`.
    pub method: String,
    /// Test accuracy.
    pub accuracy: f64,
    /// That accuracy's n, standard error and 95% interval.
    pub interval: Interval,
    /// The paired comparison with the mean-pooling row on the same test examples.
    pub vs_mean: Option<Paired>,
    /// Test predictions (the first seed's split).
    pub predictions: Vec<usize>,
    /// Test labels, in the same order.
    pub labels: Vec<usize>,
    /// Accuracy of always answering the most common training class.
    pub majority: f64,
    /// The identity `L_SQ = L_OLS + V` over every training step of this run.
    pub identity: IdentityTally,
}

/// Timing of one method on one dataset's batch (medians over the repeats).
#[derive(Debug, Clone, Serialize)]
pub struct SpeedRow {
    /// The dataset whose examples were timed.
    pub dataset: String,
    /// The method.
    pub method: String,
    /// Examples (sequences or images) per batch.
    pub batch: usize,
    /// Real tokens per batch.
    pub tokens: usize,
    /// Readout alone, ms per batch.
    pub readout_ms: f64,
    /// Readout alone, real tokens per second.
    pub readout_tokens_per_s: f64,
    /// Encoder and readout, ms per batch.
    pub total_ms: f64,
    /// Encoder and readout, real tokens per second.
    pub total_tokens_per_s: f64,
    /// Encoder and readout, examples (sequences or images) per second.
    pub total_examples_per_s: f64,
    /// Readout time relative to mean pooling's.
    pub readout_vs_mean: f64,
    /// Heap the readout needs on top of what was live before it (peak over its runs), MiB;
    /// measured by [`CountingAlloc`](crate::alloc::CountingAlloc) where it is the global allocator.
    pub readout_heap_mib: Option<f64>,
}
