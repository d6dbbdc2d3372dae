//! Deep clustering, the paper's setting: the encoder's top layers (the whole tabular
//! encoder) and a DDCL readout of K = classes trained together on `lambda * L_SQ` alone, under
//! the timescale condition; then DDCL's own hard assignment and k-means on the trained
//! features, against k-means on the features before training.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarMap;
use ddcl_readout::{
    Encode, IdentityTally, Init, ModelConfig, ModelKind, ModelSource, Policy, Pooling,
    ReadoutConfig, RunConfig, TextEncoder, TimescaleConfig, TrainConfig, Trainable, Trainer,
    Weights, ENCODER,
};

use super::config::{ClaimsConfig, ClusterSettings};
use super::geometry::{real_tokens, TokenGeometry};
use super::results::{ClusterRun, ClusterSummary};
use crate::data::{load, Dataset, Inputs};
use crate::error::{Error, Result};
use crate::kmeans::kmeans;
use crate::metrics::{ari, hungarian_accuracy, hungarian_matched, mean_std, nmi};
use crate::probe::standardise;
use crate::progress::progress;
use crate::protocol::text_batches;
use crate::results::IdentityRow;
use crate::stats::Interval;
use crate::tabular::TabularEncoder;

/// What the section returns: every run's rows, the summaries, each training run's identity
/// tally and the measured seconds per training step of text and tabular runs.
pub struct Clustered {
    /// One row per dataset, seed and method.
    pub runs: Vec<ClusterRun>,
    /// Per dataset and method over the seeds.
    pub summary: Vec<ClusterSummary>,
    /// The identity over each training run.
    pub identity: Vec<IdentityRow>,
    /// (section, seconds per step).
    pub seconds_per_step: Vec<(String, f64)>,
}

/// Clusters every dataset of `cfg.cluster` with every seed.
pub fn run(cfg: &ClaimsConfig) -> Result<Clustered> {
    let c = &cfg.cluster;
    let mut out = Clustered {
        runs: Vec::new(),
        summary: Vec::new(),
        identity: Vec::new(),
        seconds_per_step: Vec::new(),
    };
    let mut timing: Vec<(String, f64, usize)> = Vec::new();
    for name in &c.datasets {
        let d = cfg
            .dataset(name)
            .ok_or_else(|| Error::Config(format!("cluster.datasets: `{name}` not found")))?;
        let mut majority = 0.0;
        for &seed in &cfg.seeds {
            let data = load(&d.name, &d.source()?, d.limit, seed)?;
            majority = majority_share(&data);
            let started = Instant::now();
            let (outcome, kind) = match &data.inputs {
                Inputs::Text(texts) => (text(cfg, &data, texts, d.max_len, seed)?, "text"),
                Inputs::Tabular(rows) => (tabular(c, &data, rows, seed)?, "tabular"),
                Inputs::Images(_) => {
                    return Err(Error::Config(format!(
                        "cluster.datasets: `{name}` is images"
                    )))
                }
            };
            let secs = started.elapsed().as_secs_f64();
            match timing.iter_mut().find(|t| t.0 == kind) {
                Some(t) => (t.1, t.2) = (t.1 + secs, t.2 + c.steps),
                None => timing.push((kind.to_string(), secs, c.steps)),
            }
            out.identity.push(IdentityRow::f32(
                "deep clustering",
                &format!("{name} seed {seed}"),
                outcome.identity,
            ));
            for (method, clusters, trained) in [
                (outcome.baseline_name, &outcome.baseline, false),
                ("ddcl-hard(trained)", &outcome.ddcl, true),
                ("k-means(trained)", &outcome.trained, true),
            ] {
                out.runs.push(ClusterRun {
                    dataset: name.clone(),
                    seed,
                    method: method.to_string(),
                    n: data.labels.len(),
                    accuracy: hungarian_accuracy(clusters, &data.labels),
                    accuracy_interval: Interval::wilson(
                        hungarian_matched(clusters, &data.labels),
                        data.labels.len(),
                    )?,
                    nmi: nmi(clusters, &data.labels),
                    ari: ari(clusters, &data.labels),
                    tau_over_critical: trained.then_some(outcome.tau_over_critical),
                    v_over_l_sq: trained.then_some(outcome.v_over_l_sq),
                });
            }
        }
        out.summary.extend(summarise(&out.runs, name, majority)?);
    }
    out.seconds_per_step = timing
        .into_iter()
        .map(|(k, s, n)| {
            (
                format!("deep clustering ({k}, incl. encoding)"),
                s / n.max(1) as f64,
            )
        })
        .collect();
    Ok(out)
}

/// One seed's clusterings of one dataset.
struct Outcome {
    baseline_name: &'static str,
    baseline: Vec<usize>,
    ddcl: Vec<usize>,
    trained: Vec<usize>,
    tau_over_critical: f64,
    v_over_l_sq: f64,
    identity: IdentityTally,
}

fn text(
    cfg: &ClaimsConfig,
    data: &Dataset,
    texts: &[String],
    max_len: usize,
    seed: u64,
) -> Result<Outcome> {
    let c = &cfg.cluster;
    let varmap = VarMap::new();
    let mut enc = TextEncoder::load(
        &ModelSource::new(&cfg.text_model),
        Weights::Trainable {
            varmap: &varmap,
            prefix: ENCODER,
        },
        DType::F32,
        &Device::Cpu,
    )?;
    enc.set_max_len(max_len.min(enc.bert().config().max_position_embeddings))?;
    let idx: Vec<usize> = (0..texts.len()).collect();
    let batches: Vec<_> = text_batches(&enc, texts, &data.labels, &idx, c.batch_size)?
        .into_iter()
        .map(|(b, _)| b)
        .collect();
    let tc = train_config(
        c,
        c.lr_encoder,
        c.lr_prototypes,
        Trainable::Top(c.top_layers),
        seed,
    );
    train_and_cluster(enc, varmap, &cfg.text_model, data, &batches, tc, c, None)
}

fn tabular(c: &ClusterSettings, data: &Dataset, rows: &[Vec<f32>], seed: u64) -> Result<Outcome> {
    let f = rows.first().map_or(0, Vec::len);
    let x = Tensor::new(rows.concat(), &Device::Cpu)?.reshape((rows.len(), f))?;
    let (x, _) = standardise(&x, &x)?;
    let batches: Vec<Tensor> = (0..rows.len())
        .step_by(c.batch_size)
        .map(|s| x.narrow(0, s, c.batch_size.min(rows.len() - s)))
        .collect::<candle_core::Result<_>>()?;
    let varmap = VarMap::new();
    let vb = ddcl_readout::seeded_builder(&varmap, seed.wrapping_add(1), DType::F32, &Device::Cpu);
    let enc = TabularEncoder::new(f, c.tabular_hidden, vb.pp("encoder"))?;
    let tc = train_config(
        c,
        c.tabular_lr_encoder,
        c.tabular_lr_prototypes,
        Trainable::All,
        seed,
    );
    let raw = kmeans(&x, data.classes.len(), c.kmeans_restarts, seed)?.labels;
    train_and_cluster(enc, varmap, "tabular", data, &batches, tc, c, Some(raw))
}

fn train_config(
    c: &ClusterSettings,
    lr_encoder: f64,
    lr_prototypes: f64,
    encoder: Trainable,
    seed: u64,
) -> TrainConfig {
    TrainConfig {
        epochs: 1,
        batch_size: c.batch_size,
        lr_encoder,
        lr_prototypes,
        lr_head: 0.0,
        lambda: c.lambda,
        encoder,
        weight_decay: 0.0,
        timescale: TimescaleConfig {
            policy: Policy::Refuse,
            eps_max: ddcl_core::DEFAULT_EPS_MAX,
        },
        utilisation_threshold: 0.01,
        seed,
        log: None,
        checkpoint: None,
        save_encoder: false,
    }
}

/// Trains encoder and readout on `batches` (every example of `data`, in order) for
/// `c.steps` steps on `lambda * L_SQ`, and clusters: k-means on the mean-pooled features
/// before training (or `baseline`, k-means on the raw rows), DDCL's hard assignment (argmax
/// of the occupancy) and k-means on the mean-pooled trained features.
#[allow(clippy::too_many_arguments)]
fn train_and_cluster<E: Encode>(
    enc: E,
    varmap: VarMap,
    model: &str,
    data: &Dataset,
    batches: &[E::Batch],
    train: TrainConfig,
    c: &ClusterSettings,
    baseline: Option<Vec<usize>>,
) -> Result<Outcome> {
    let k = data.classes.len();
    let seed = train.seed;
    let first = batches
        .first()
        .ok_or_else(|| Error::Config(format!("cluster: `{}` has no examples", data.name)))?;
    let (h, mask) = enc.encode(first)?;
    let geometry = TokenGeometry::of(&real_tokens(&h.detach(), &mask)?)?;
    let mut readout = ReadoutConfig::new(k, 1.0)?;
    readout.pooling = vec![Pooling::Occupancy];
    readout.init = Init::KMeansPlusPlus;
    let mut rc = RunConfig {
        model: ModelConfig {
            kind: ModelKind::Text,
            id: model.to_string(),
            max_len: None,
        },
        readout,
        classes: k,
        train,
    };
    rc.readout.tau = crate::protocol::encoder_tau(&enc, first, &rc)?;
    let tau_over_critical = rc.readout.tau / geometry.critical_tau();
    let mut t = Trainer::new(enc, rc, varmap, DType::F32)?;
    let (baseline_name, baseline) = match baseline {
        Some(b) => ("k-means(raw features)", b),
        None => ("k-means(frozen)", kmeans_on_mean(&t, batches, k, c, seed)?),
    };
    t.init_prototypes(first)?;
    let pb = progress(c.steps, &format!("deep clustering {}", data.name));
    let mut v_over_l_sq = f64::NAN;
    for s in 0..c.steps {
        let r = t.step_unsupervised(&batches[s % batches.len()])?;
        v_over_l_sq = r.v / r.l_sq;
        pb.inc(1);
    }
    pb.finish_and_clear();
    let mut ddcl = Vec::new();
    for b in batches {
        let (_, out) = t.model().forward(b)?;
        let winner = out.assignment.occupancy()?.argmax(D::Minus1)?;
        ddcl.extend(winner.to_vec1::<u32>()?.into_iter().map(|x| x as usize));
    }
    let trained = kmeans_on_mean(&t, batches, k, c, seed)?;
    Ok(Outcome {
        baseline_name,
        baseline,
        ddcl,
        trained,
        tau_over_critical,
        v_over_l_sq,
        identity: t.identity(),
    })
}

/// k-means (K = `k`) on the standardised mean-pooled encoder outputs of `batches`.
fn kmeans_on_mean<E: Encode>(
    t: &Trainer<E>,
    batches: &[E::Batch],
    k: usize,
    c: &ClusterSettings,
    seed: u64,
) -> Result<Vec<usize>> {
    let mut parts = Vec::new();
    for b in batches {
        let (h, mask) = t.model().encoder.encode(b)?;
        parts.push(Pooling::Mean.pool(&h.detach(), &mask.to_dtype(h.dtype())?)?);
    }
    let f = Tensor::cat(&parts, 0)?;
    let (f, _) = standardise(&f, &f)?;
    Ok(kmeans(&f, k, c.kmeans_restarts, seed)?.labels)
}

fn majority_share(data: &Dataset) -> f64 {
    let mut counts = vec![0usize; data.classes.len()];
    for &l in &data.labels {
        counts[l] += 1;
    }
    counts.iter().copied().max().unwrap_or(0) as f64 / data.labels.len().max(1) as f64
}

/// Per method of `dataset` in `runs`: pooled Wilson interval, range, NMI and ARI mean and SD.
fn summarise(runs: &[ClusterRun], dataset: &str, majority: f64) -> Result<Vec<ClusterSummary>> {
    let mut methods: Vec<&str> = Vec::new();
    for r in runs.iter().filter(|r| r.dataset == dataset) {
        if !methods.contains(&r.method.as_str()) {
            methods.push(&r.method);
        }
    }
    methods
        .into_iter()
        .map(|m| {
            let rs: Vec<&ClusterRun> = runs
                .iter()
                .filter(|r| r.dataset == dataset && r.method == m)
                .collect();
            let correct = rs.iter().map(|r| r.accuracy_interval.correct).sum();
            let n = rs.iter().map(|r| r.n).sum();
            let acc: Vec<f64> = rs.iter().map(|r| r.accuracy).collect();
            let range = acc
                .iter()
                .fold((f64::MAX, f64::MIN), |(a, b), &x| (a.min(x), b.max(x)));
            Ok(ClusterSummary {
                dataset: dataset.to_string(),
                method: m.to_string(),
                seeds: rs.len(),
                accuracy: Interval::wilson(correct, n)?,
                accuracy_range: range,
                nmi: mean_std(&rs.iter().map(|r| r.nmi).collect::<Vec<_>>()),
                ari: mean_std(&rs.iter().map(|r| r.ari).collect::<Vec<_>>()),
                majority,
            })
        })
        .collect()
}
