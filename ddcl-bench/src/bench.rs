//! The protocols of the comparison and their results.

use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use ddcl_core::Timescale;
use ddcl_readout::{
    Encode, ImageEncoder, ModelConfig, ModelKind, ModelSource, Policy, Pooling, ReadoutConfig,
    RunConfig, TextBatch, TextEncoder, TimescaleConfig, TrainConfig, Trainer, Weights, ENCODER,
};
use serde::Serialize;

use crate::features::{encode, progress, Encoder};
use crate::{
    accuracy, ari, auto_tau, hungarian_accuracy, kmeans, load, mean_std, nmi, probe, speed, split,
    BenchConfig, Dataset, Error, Inputs, JointConfig, Method, Result, SpeedRow, States,
    TabularConfig, TabularEncoder,
};

/// Version of the results' JSON layout.
pub const SCHEMA: &str = "ddcl-bench/1";

/// Everything a run measured, with what it ran on.
#[derive(Debug, Serialize)]
pub struct Results {
    /// [`SCHEMA`].
    pub schema: &'static str,
    /// The configuration, as run (after `--quick`).
    pub config: BenchConfig,
    /// `git rev-parse HEAD` of the working tree, if any.
    pub git_revision: Option<String>,
    /// The machine.
    pub machine: Machine,
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

/// A dataset as sampled for the run.
#[derive(Debug, Serialize)]
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
#[derive(Debug, Serialize)]
pub struct SplitInfo {
    /// The seed.
    pub seed: u64,
    /// Training examples (positions in the source's full list).
    pub train: Vec<usize>,
    /// Test examples.
    pub test: Vec<usize>,
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
}

/// Protocol 2 result.
#[derive(Debug, Serialize)]
pub struct ClusterRow {
    /// Dataset.
    pub dataset: String,
    /// `k-means(<method>)`, or `ddcl-hard(K=classes)` for DDCL's own hard assignment.
    pub method: String,
    /// Accuracy under the best cluster-to-class matching.
    pub accuracy: f64,
    /// Normalised mutual information.
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
}

/// Protocol 3 result.
#[derive(Debug, Serialize)]
pub struct JointRow {
    /// `ddcl:K:summary` or `mean`.
    pub method: String,
    /// Test accuracy after the last epoch.
    pub accuracy: f64,
    /// Training loss per epoch.
    pub loss: Vec<f64>,
    /// Prototype separation (min) per epoch.
    pub separation: Vec<f64>,
    /// Whether the timescale condition held at every epoch.
    pub timescale_held: bool,
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
    /// Minimum prototype separation after each step.
    pub separation: Vec<f64>,
    /// V after each step.
    pub v: Vec<f64>,
}

/// Protocol 5 result.
#[derive(Debug, Serialize)]
pub struct TabularRow {
    /// `ddcl:K:SUMMARY` or `mean`.
    pub method: String,
    /// Test accuracy.
    pub accuracy: f64,
    /// Accuracy of always answering the most common training class.
    pub majority: f64,
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

fn counts(d: &Dataset) -> Vec<usize> {
    let mut c = vec![0; d.classes.len()];
    for &l in &d.labels {
        c[l] += 1;
    }
    c
}

/// Runs every configured protocol.
pub fn run(cfg: BenchConfig) -> Result<Results> {
    let started = Instant::now();
    let seed0 = cfg.seeds[0];
    let mut results = Results {
        schema: SCHEMA,
        config: cfg.clone(),
        git_revision: git_revision(),
        machine: Machine::here(),
        seconds: 0.0,
        peak_rss_mib: None,
        datasets: Vec::new(),
        probe: Vec::new(),
        clustering: Vec::new(),
        joint: Vec::new(),
        sweep: Vec::new(),
        tabular: Vec::new(),
        speed: Vec::new(),
    };
    let dev = Device::Cpu;
    let mut text: Option<TextEncoder> = None;
    let mut image: Option<ImageEncoder> = None;
    for d in &cfg.datasets {
        let data = load(&d.name, &d.source()?, d.limit, seed0)?;
        let (train_n, _) = split(data.len(), cfg.train_share, seed0);
        let mut info = DatasetInfo {
            name: d.name.clone(),
            examples: data.len(),
            classes: data.classes.clone(),
            class_counts: counts(&data),
            train: train_n.len(),
            test: data.len() - train_n.len(),
            tokens_per_example: None,
            splits: cfg
                .seeds
                .iter()
                .map(|&seed| {
                    let (tr, te) = split(data.len(), cfg.train_share, seed);
                    let at = |idx: Vec<usize>| idx.into_iter().map(|i| data.origin[i]).collect();
                    SplitInfo {
                        seed,
                        train: at(tr),
                        test: at(te),
                    }
                })
                .collect(),
        };
        let key = format!(
            "{}|{}|{:?}|{}|{}",
            d.name, d.limit, d.source, d.max_len, seed0
        );
        let states = match &data.inputs {
            Inputs::Text(_) => {
                if text.is_none() {
                    let m = ModelSource::new(&cfg.text_model);
                    text = Some(TextEncoder::load(&m, Weights::Frozen, DType::F32, &dev)?);
                }
                let enc = text
                    .as_mut()
                    .ok_or_else(|| Error::Config("no text encoder".into()))?;
                enc.set_max_len(d.max_len.min(enc.bert().config().max_position_embeddings))?;
                let key = format!("{}|{key}", cfg.text_model);
                encode(Encoder::Text(enc), &data, cfg.batch_size, &cfg.cache, &key)?
            }
            Inputs::Images(_) => {
                if image.is_none() {
                    let m = ModelSource::new(&cfg.image_model);
                    image = Some(ImageEncoder::load(&m, Weights::Frozen, DType::F32, &dev)?);
                }
                let enc = image
                    .as_ref()
                    .ok_or_else(|| Error::Config("no image encoder".into()))?;
                let key = format!("{}|{key}", cfg.image_model);
                encode(Encoder::Image(enc), &data, cfg.batch_size, &cfg.cache, &key)?
            }
            Inputs::Tabular(_) => {
                results.datasets.push(info);
                continue;
            }
        };
        info.tokens_per_example = Some(states.tokens()? as f64 / data.len().max(1) as f64);
        results.datasets.push(info);
        probe_protocol(&cfg, &data, &states, &mut results)?;
        cluster_protocol(&cfg, &data, &states, &mut results)?;
    }
    if let Some(j) = &cfg.joint {
        joint_protocol(&cfg, j, &mut results)?;
    }
    if let Some(t) = &cfg.tabular {
        results.tabular = tabular_protocol(&cfg, t)?;
    }
    for (s, name) in cfg
        .speed
        .iter()
        .flat_map(|s| s.datasets.iter().map(move |d| (s, d)))
    {
        let d = cfg.datasets.iter().find(|d| &d.name == name);
        let Some(d) = d else { continue };
        let data = load(&d.name, &d.source()?, d.limit, seed0)?;
        let n = s.batch_size.min(data.len());
        let rows = match (&data.inputs, &text, &image) {
            (Inputs::Text(texts), Some(enc), _) => {
                let batch = enc.tokenize(&texts[..n])?;
                let mask = batch.mask.to_dtype(DType::U8)?;
                let mut encode = || {
                    Ok(States {
                        hidden: enc.forward(&batch)?,
                        mask: mask.clone(),
                    })
                };
                speed(&d.name, n, &mut encode, s, &cfg.methods, &cfg.fit, seed0)?
            }
            (Inputs::Images(images), _, Some(enc)) => {
                let pixels = enc.pixels(&images[..n])?;
                let mut encode = || {
                    let hidden = enc.forward(&pixels)?;
                    let (b, t, _) = hidden.dims3()?;
                    let mask = Tensor::ones((b, t), DType::U8, &dev)?;
                    Ok(States { hidden, mask })
                };
                speed(&d.name, n, &mut encode, s, &cfg.methods, &cfg.fit, seed0)?
            }
            _ => {
                return Err(Error::Config(format!(
                    "speed: `{name}` is not an encoder dataset of this run"
                )))
            }
        };
        results.speed.extend(rows);
    }
    results.seconds = started.elapsed().as_secs_f64();
    results.peak_rss_mib = crate::speed::peak_rss_mib();
    Ok(results)
}

fn probe_protocol(
    cfg: &BenchConfig,
    data: &Dataset,
    states: &States,
    out: &mut Results,
) -> Result<()> {
    let pb = progress(
        cfg.methods.len() * cfg.seeds.len(),
        &format!("probe {}", data.name),
    );
    for m in &cfg.methods {
        let mut accs = Vec::new();
        for &seed in &cfg.seeds {
            let (tr, te) = split(data.len(), cfg.train_share, seed);
            let (s_tr, s_te) = (states.rows(&tr)?, states.rows(&te)?);
            let y_tr: Vec<usize> = tr.iter().map(|&i| data.labels[i]).collect();
            let y_te: Vec<usize> = te.iter().map(|&i| data.labels[i]).collect();
            let fitted = m.fit(&s_tr, &y_tr, data.classes.len(), &cfg.fit, seed)?;
            let (f_tr, f_te) = (fitted.features(&s_tr, 64)?, fitted.features(&s_te, 64)?);
            let pred = probe(&f_tr, &y_tr, &f_te, data.classes.len(), &cfg.probe)?;
            accs.push(accuracy(&pred, &y_te));
            pb.inc(1);
        }
        let (mean, std) = mean_std(&accs);
        tracing::info!(dataset = data.name, method = %m, mean, std, "probe");
        out.probe.push(ProbeRow {
            dataset: data.name.clone(),
            method: m.to_string(),
            accuracy: accs,
            mean,
            std,
        });
    }
    pb.finish_and_clear();
    Ok(())
}

fn cluster_protocol(
    cfg: &BenchConfig,
    data: &Dataset,
    states: &States,
    out: &mut Results,
) -> Result<()> {
    let seed = cfg.seeds[0];
    let classes = data.classes.len();
    let mut row = |method: String, clusters: &[usize]| {
        out.clustering.push(ClusterRow {
            dataset: data.name.clone(),
            method,
            accuracy: hungarian_accuracy(clusters, &data.labels),
            nmi: nmi(clusters, &data.labels),
            ari: ari(clusters, &data.labels),
        });
    };
    let pb = progress(cfg.methods.len() + 1, &format!("cluster {}", data.name));
    for m in cfg
        .methods
        .iter()
        .filter(|m| !matches!(m, Method::Pma { .. }))
    {
        let fitted = m.fit(states, &data.labels, classes, &cfg.fit, seed)?;
        let f = fitted.features(states, 64)?;
        let (f, _) = crate::standardise(&f, &f)?;
        let c = kmeans(&f, classes, cfg.kmeans_restarts, seed)?;
        row(format!("k-means({m})"), &c);
        pb.inc(1);
    }
    let own = Method::Ddcl {
        k: classes,
        summary: Pooling::Occupancy,
    }
    .fit(states, &data.labels, classes, &cfg.fit, seed)?;
    if let Some(c) = own.clusters(states)? {
        row(format!("ddcl-hard(K={classes})"), &c);
    }
    pb.finish_and_clear();
    Ok(())
}

/// Tokenized batches with labels.
fn text_batches(
    enc: &TextEncoder,
    texts: &[String],
    labels: &[usize],
    idx: &[usize],
    batch: usize,
) -> Result<Vec<(TextBatch, Tensor)>> {
    idx.chunks(batch.max(1))
        .map(|c| {
            let t: Vec<&str> = c.iter().map(|&i| texts[i].as_str()).collect();
            let y = Tensor::new(
                c.iter().map(|&i| labels[i] as u32).collect::<Vec<_>>(),
                &Device::Cpu,
            )?;
            Ok((enc.tokenize(&t)?, y))
        })
        .collect()
}

fn run_config(
    model: &str,
    readout: ReadoutConfig,
    classes: usize,
    train: TrainConfig,
) -> RunConfig {
    RunConfig {
        model: ModelConfig {
            kind: ModelKind::Text,
            id: model.to_string(),
            max_len: None,
        },
        readout,
        classes,
        train,
    }
}

fn train_config(j: &JointConfig, lr_prototypes: f64, lambda: f64, seed: u64) -> TrainConfig {
    TrainConfig {
        epochs: j.epochs,
        batch_size: j.batch_size,
        lr_encoder: j.lr_encoder,
        lr_prototypes,
        lr_head: j.lr_head,
        lambda,
        encoder: j.encoder,
        weight_decay: 0.0,
        timescale: TimescaleConfig {
            policy: Policy::Warn,
            eps_max: ddcl_core::DEFAULT_EPS_MAX,
        },
        utilisation_threshold: 0.01,
        seed,
        log: None,
        checkpoint: None,
        save_encoder: false,
    }
}

struct JointData {
    texts: Vec<String>,
    labels: Vec<usize>,
    classes: usize,
    train: Vec<usize>,
    test: Vec<usize>,
    max_len: usize,
}

fn joint_data(cfg: &BenchConfig, j: &JointConfig, limit: usize) -> Result<JointData> {
    let d = cfg
        .datasets
        .iter()
        .find(|d| d.name == j.dataset)
        .ok_or_else(|| Error::Config(format!("joint.dataset `{}` not found", j.dataset)))?;
    let data = load(&d.name, &d.source()?, limit, cfg.seeds[0])?;
    let Inputs::Text(texts) = data.inputs else {
        return Err(Error::Config(format!(
            "joint.dataset `{}` is not text",
            j.dataset
        )));
    };
    let (train, test) = split(texts.len(), cfg.train_share, cfg.seeds[0]);
    Ok(JointData {
        texts,
        labels: data.labels,
        classes: data.classes.len(),
        train,
        test,
        max_len: d.max_len,
    })
}

type Batches = Vec<(TextBatch, Tensor)>;

/// The automatic temperature (see [`auto_tau`]) for the readout of `rc` on the encoder's
/// token states of one batch.
fn encoder_tau<E: Encode>(enc: &E, batch: &E::Batch, rc: &RunConfig) -> Result<f64> {
    let (h, mask) = enc.encode(batch)?;
    let states = States {
        hidden: h.detach(),
        mask: mask.to_dtype(DType::U8)?,
    };
    auto_tau(&states, rc.readout.prototypes, rc.train.seed)
}

/// A trainer on the joint dataset with the given readout and training settings; for a
/// k-means++ readout the temperature is set from the encoder's scale (see [`auto_tau`]).
fn trainer(
    cfg: &BenchConfig,
    jd: &JointData,
    mut rc: RunConfig,
) -> Result<(Trainer<TextEncoder>, Batches, Batches)> {
    let varmap = VarMap::new();
    let m = ModelSource::new(&cfg.text_model);
    let mut enc = TextEncoder::load(
        &m,
        Weights::Trainable {
            varmap: &varmap,
            prefix: ENCODER,
        },
        DType::F32,
        &Device::Cpu,
    )?;
    enc.set_max_len(jd.max_len.min(enc.bert().config().max_position_embeddings))?;
    let bs = rc.train.batch_size;
    let train = text_batches(&enc, &jd.texts, &jd.labels, &jd.train, bs)?;
    let test = text_batches(&enc, &jd.texts, &jd.labels, &jd.test, bs)?;
    if rc.readout.init == ddcl_readout::Init::KMeansPlusPlus {
        rc.readout.tau = encoder_tau(&enc, &train[0].0, &rc)?;
    }
    let mut t = Trainer::new(enc, rc, varmap, DType::F32)?;
    t.init_prototypes(&train[0].0)?;
    Ok((t, train, test))
}

fn joint_protocol(cfg: &BenchConfig, j: &JointConfig, out: &mut Results) -> Result<()> {
    let jd = joint_data(cfg, j, j.limit)?;
    let seed = cfg.seeds[0];
    let tau = 1.0; // replaced by the automatic temperature for DDCL
    let mut ddcl = ReadoutConfig::new(j.prototypes, tau)?;
    ddcl.pooling = vec![j.summary];
    let mut mean = ReadoutConfig::new(1, tau)?;
    mean.pooling = vec![Pooling::Mean];
    mean.init = ddcl_readout::Init::Random;
    let runs = [
        (
            format!("ddcl:{}:{}", j.prototypes, j.summary),
            ddcl,
            j.lambda,
        ),
        ("mean".to_string(), mean, 0.0),
    ];
    for (name, rcfg, lambda) in runs {
        let tc = train_config(j, j.lr_prototypes, lambda, seed);
        let (mut t, train, test) =
            trainer(cfg, &jd, run_config(&cfg.text_model, rcfg, jd.classes, tc))?;
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
        let accuracy = t.evaluate(&test)?;
        tracing::info!(method = name, accuracy, "joint");
        out.joint.push(JointRow {
            method: name,
            accuracy,
            loss,
            separation: sep,
            timescale_held: held,
        });
    }
    if let Some(s) = &cfg.sweep {
        let jd = joint_data(cfg, j, s.limit)?;
        for &eps in &s.eps {
            let lr_p = j.lr_encoder / eps;
            let mut rcfg = ReadoutConfig::new(j.prototypes, 1.0)?;
            rcfg.pooling = vec![j.summary];
            let mut tc = train_config(j, lr_p, j.lambda, seed);
            tc.epochs = s.epochs;
            let (mut t, train, test) =
                trainer(cfg, &jd, run_config(&cfg.text_model, rcfg, jd.classes, tc))?;
            let pb = progress(s.epochs * train.len(), &format!("sweep eps={eps}"));
            let (mut sep, mut v) = (Vec::new(), Vec::new());
            for _ in 0..s.epochs {
                for (b, y) in &train {
                    let r = t.step(b, y)?;
                    sep.push(r.separation_min);
                    v.push(r.v);
                    pb.inc(1);
                }
            }
            pb.finish_and_clear();
            let check = Timescale::check(j.lr_encoder, lr_p, &[0.0], ddcl_core::DEFAULT_EPS_MAX)?;
            out.sweep.push(SweepRow {
                eps,
                separated: check.separated(),
                accuracy: t.evaluate(&test)?,
                separation: sep,
                v,
            });
        }
    }
    Ok(())
}

fn tabular_protocol(cfg: &BenchConfig, t: &TabularConfig) -> Result<Vec<TabularRow>> {
    let d = cfg
        .datasets
        .iter()
        .find(|d| d.name == t.dataset)
        .ok_or_else(|| Error::Config(format!("tabular.dataset `{}` not found", t.dataset)))?;
    let data = load(&d.name, &d.source()?, d.limit, cfg.seeds[0])?;
    let Inputs::Tabular(rows) = &data.inputs else {
        return Err(Error::Config(format!(
            "tabular.dataset `{}` is not tabular",
            t.dataset
        )));
    };
    let (tr, te) = split(rows.len(), cfg.train_share, cfg.seeds[0]);
    let f = rows[0].len();
    let x = Tensor::new(rows.concat(), &Device::Cpu)?.reshape((rows.len(), f))?;
    let pick = |idx: &[usize]| -> Result<Tensor> {
        Ok(x.index_select(
            &Tensor::new(
                idx.iter().map(|&i| i as u32).collect::<Vec<_>>(),
                &Device::Cpu,
            )?,
            0,
        )?)
    };
    let (x_tr, x_te) = crate::standardise(&pick(&tr)?, &pick(&te)?)?;
    let batches = |x: &Tensor, idx: &[usize]| -> Result<Vec<(Tensor, Tensor)>> {
        (0..idx.len())
            .step_by(t.batch_size.max(1))
            .map(|s| {
                let e = (s + t.batch_size).min(idx.len());
                let y: Vec<u32> = idx[s..e].iter().map(|&i| data.labels[i] as u32).collect();
                Ok((x.narrow(0, s, e - s)?, Tensor::new(y, &Device::Cpu)?))
            })
            .collect()
    };
    let (train, test) = (batches(&x_tr, &tr)?, batches(&x_te, &te)?);
    let mut counts = vec![0usize; data.classes.len()];
    for &i in &tr {
        counts[data.labels[i]] += 1;
    }
    let top = counts
        .iter()
        .enumerate()
        .max_by_key(|(_, c)| **c)
        .map_or(0, |(i, _)| i);
    let majority =
        te.iter().filter(|&&i| data.labels[i] == top).count() as f64 / te.len().max(1) as f64;
    let mut rows_out = Vec::new();
    for (name, pooling, k, lambda) in [
        (
            format!("ddcl:{}:{}", t.prototypes, t.summary),
            t.summary,
            t.prototypes,
            t.lambda,
        ),
        ("mean".to_string(), Pooling::Mean, 1, 0.0),
    ] {
        let varmap = VarMap::new();
        // The encoder's own stream; the trainer seeds the readout and head with `seed`.
        let vb = ddcl_readout::seeded_builder(
            &varmap,
            cfg.seeds[0].wrapping_add(1),
            DType::F32,
            &Device::Cpu,
        );
        let enc = TabularEncoder::new(f, t.hidden, vb.pp("encoder"))?;
        let mut rc = ReadoutConfig::new(k, 1.0)?;
        rc.pooling = vec![pooling];
        let tc = TrainConfig {
            epochs: t.epochs,
            batch_size: t.batch_size,
            lr_encoder: t.lr,
            lr_prototypes: t.lr_prototypes,
            lr_head: t.lr,
            lambda,
            encoder: ddcl_readout::Trainable::All,
            weight_decay: 0.0,
            timescale: TimescaleConfig {
                policy: Policy::Off,
                eps_max: ddcl_core::DEFAULT_EPS_MAX,
            },
            utilisation_threshold: 0.01,
            seed: cfg.seeds[0],
            log: None,
            checkpoint: None,
            save_encoder: false,
        };
        let mut rcfg = RunConfig {
            model: ModelConfig {
                kind: ModelKind::Text,
                id: "tabular".into(),
                max_len: None,
            },
            readout: rc,
            classes: data.classes.len(),
            train: tc,
        };
        if k > 1 {
            rcfg.readout.tau = encoder_tau(&enc, &train[0].0, &rcfg)?;
        }
        let mut trainer = Trainer::new(enc, rcfg, varmap, DType::F32)?;
        trainer.init_prototypes(&train[0].0)?;
        let pb = progress(t.epochs, &format!("tabular {name}"));
        for _ in 0..t.epochs {
            trainer.train_epoch(&train)?;
            pb.inc(1);
        }
        pb.finish_and_clear();
        rows_out.push(TabularRow {
            method: name,
            accuracy: trainer.evaluate(&test)?,
            majority,
        });
    }
    Ok(rows_out)
}

/// Writes `results.json` and `report.md` and the SVG plots into `dir`.
pub fn write(results: &Results, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_string_pretty(results).map_err(|e| Error::Config(e.to_string()))?;
    let p = dir.join("results.json");
    std::fs::write(&p, json).map_err(|e| Error::io(&p, e))?;
    let p = dir.join("report.md");
    std::fs::write(&p, crate::report::markdown(results)).map_err(|e| Error::io(&p, e))?;
    crate::report::plots(results, dir)
}
