//! The hierarchical experiment (`ddcl-bench hier`): BBC News classified from whole documents
//! (no truncation) by a linear probe on each method's document vectors, over seeded splits;
//! hierarchical DDCL (levels fitted without labels) against truncation and the mean-pooling
//! hierarchies; documents per second; the streaming path's time and peak heap against
//! document length.

use std::time::Instant;

use candle_core::{DType, Device, Tensor};
use ddcl_hier::DocumentEncoder;
use ddcl_readout::{ModelSource, TextEncoder, Weights};

use crate::data::{load, split, DataSource, Dataset, Inputs};
use crate::encoders::TEXT_MODEL_FILES;
use crate::error::{Error, Result};
use crate::features::ModelFiles;
use crate::hier::baselines::{Baseline, ChunkMeans};
use crate::hier::chunks::{chunk_states, encode, ChunkStates};
use crate::hier::config::HierConfig;
use crate::hier::results::{DocumentStats, HierResults, HierRow};
use crate::hier::scaling::scaling;
use crate::hier::variant::Fitted;
use crate::metrics::accuracy;
use crate::probe::probe;
use crate::progress::progress;
use crate::results::{DatasetInfo, SplitInfo};
use crate::stats::{paired, Interval, Split};

/// The method every other is compared with.
const BASELINE: Baseline = Baseline::ChunkMean;

/// Runs the experiment; returns its section of the results and the documents as sampled.
pub fn run(cfg: &HierConfig) -> Result<(HierResults, DatasetInfo)> {
    let first = *cfg
        .seeds
        .first()
        .ok_or_else(|| Error::Config("seeds: at least one".into()))?;
    let source = DataSource::Bbc;
    source.check_exists()?;
    let model = ModelSource::new(&cfg.text_model);
    let files = ModelFiles::hash(&model, &TEXT_MODEL_FILES)?;
    let data = load("bbc", &source, cfg.limit, first)?;
    let Inputs::Text(texts) = &data.inputs else {
        return Err(Error::Config("bbc: not text".into()));
    };
    let text = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
    let encoder = DocumentEncoder::new(text)?;
    if cfg.chunk.window > encoder.max_window() {
        return Err(ddcl_readout::check::config_error(
            "chunk.window",
            format!(
                "{} content tokens plus {} special tokens exceed the encoder's max_len {}",
                cfg.chunk.window,
                encoder.specials(),
                encoder.encoder().max_len()
            ),
        )
        .into());
    }
    let started = Instant::now();
    let (states, cached) = chunk_states(&encoder, &files, &cfg.chunk, texts, &cfg.cache)?;
    let encode_seconds = if cached {
        0.0
    } else {
        started.elapsed().as_secs_f64()
    };
    let splits: Vec<SeedSplit> = cfg
        .seeds
        .iter()
        .map(|&seed| SeedSplit::new(&data, cfg.train_share, seed))
        .collect();
    let docs = documents(&states, cfg.chunk.window);
    let speed: Vec<String> = splits[0]
        .test
        .iter()
        .take(cfg.speed_docs)
        .map(|&i| texts[i].clone())
        .collect();
    let classes = data.classes.len();
    let pb = progress(
        (Baseline::ALL.len() + cfg.variants.len()) * cfg.seeds.len(),
        "hier probes",
    );
    let mut rows = Vec::new();
    // every baseline pools the chunks first: that time counts in each one's readout
    let clock = Instant::now();
    let means = ChunkMeans::new(&states, 64)?;
    let pooling = clock.elapsed().as_secs_f64();
    for b in Baseline::ALL {
        let clock = Instant::now();
        let features = b.features(&states, &means)?;
        let readout = pooling + clock.elapsed().as_secs_f64();
        let mut row = Row::new(b.name(), b.description(), &features)?;
        for s in &splits {
            row.probe(&features, s, classes, cfg)?;
            row.fit_seconds.push(0.0);
            pb.inc(1);
        }
        let e2e = baseline_seconds(&encoder, cfg, &speed, b)?;
        rows.push(row.finish(
            &splits,
            data.len() as f64 / readout,
            speed.len() as f64 / e2e,
        )?);
    }
    let mut scaled: Option<(String, Fitted)> = None;
    for v in &cfg.variants {
        let (mut row, mut first_fit, mut readout) = (None::<Row>, None::<Fitted>, 0.0);
        for s in &splits {
            let clock = Instant::now();
            let fitted = Fitted::fit(v, &cfg.chunk, &cfg.fit, &states, &s.train, s.seed)?;
            let fit_seconds = clock.elapsed().as_secs_f64();
            let clock = Instant::now();
            let features = fitted.features(&states)?;
            readout += clock.elapsed().as_secs_f64();
            let r = match &mut row {
                Some(r) => r,
                None => row.insert(Row::new(&v.name, &fitted.description(), &features)?),
            };
            r.probe(&features, s, classes, cfg)?;
            r.fit_seconds.push(fit_seconds);
            first_fit.get_or_insert(fitted);
            pb.inc(1);
        }
        let (Some(row), Some(fitted)) = (row, first_fit) else {
            continue;
        };
        let e2e = fitted.stream_seconds(&encoder, &speed)?;
        let readout_docs_per_s = (splits.len() * data.len()) as f64 / readout;
        rows.push(row.finish(&splits, readout_docs_per_s, speed.len() as f64 / e2e)?);
        scaled.get_or_insert((v.name.clone(), fitted));
    }
    pb.finish_and_clear();
    compare(&mut rows, &splits, first)?;
    let (scaling_method, fitted) =
        scaled.ok_or_else(|| Error::Config("variants: at least one".into()))?;
    let (points, fit) = scaling(&fitted, &encoder, texts, &cfg.scaling.lengths)?;
    let info = describe(&data, &splits, docs.mean_tokens);
    Ok((
        HierResults {
            config: cfg.clone(),
            documents: docs,
            encode_seconds,
            cached,
            baseline: BASELINE.name().into(),
            rows,
            scaling_method,
            scaling: points,
            scaling_fit: fit,
        },
        info,
    ))
}

/// One seed's split of the documents, with the labels.
struct SeedSplit {
    seed: u64,
    train: Vec<usize>,
    test: Vec<usize>,
    y_train: Vec<usize>,
    y_test: Vec<usize>,
}

impl SeedSplit {
    fn new(data: &Dataset, train_share: f64, seed: u64) -> Self {
        let (train, test) = split(data.len(), train_share, seed);
        let labels = |idx: &[usize]| idx.iter().map(|&i| data.labels[i]).collect();
        Self {
            seed,
            y_train: labels(&train),
            y_test: labels(&test),
            train,
            test,
        }
    }
}

/// A row being filled seed by seed.
struct Row {
    method: String,
    description: String,
    width: usize,
    accuracy: Vec<f64>,
    predictions: Vec<Vec<usize>>,
    probe: Vec<crate::probe::ProbeRecord>,
    fit_seconds: Vec<f64>,
}

impl Row {
    fn new(method: &str, description: &str, features: &Tensor) -> Result<Self> {
        Ok(Self {
            method: method.into(),
            description: description.into(),
            width: features.dim(1)?,
            accuracy: Vec::new(),
            predictions: Vec::new(),
            probe: Vec::new(),
            fit_seconds: Vec::new(),
        })
    }

    /// Probes the document vectors `features` on split `s`.
    fn probe(
        &mut self,
        features: &Tensor,
        s: &SeedSplit,
        classes: usize,
        cfg: &HierConfig,
    ) -> Result<()> {
        let rows = |idx: &[usize]| -> Result<Tensor> {
            let i = Tensor::new(
                idx.iter().map(|&x| x as u32).collect::<Vec<_>>(),
                &Device::Cpu,
            )?;
            Ok(features.index_select(&i, 0)?)
        };
        let fit = probe(
            &rows(&s.train)?,
            &s.y_train,
            &rows(&s.test)?,
            classes,
            &cfg.probe,
        )?;
        self.accuracy.push(accuracy(&fit.pred, &s.y_test));
        self.predictions.push(fit.pred);
        self.probe.push(fit.record);
        Ok(())
    }

    fn finish(
        self,
        splits: &[SeedSplit],
        readout_docs_per_s: f64,
        docs_per_s: f64,
    ) -> Result<HierRow> {
        let pooled = Interval::pooled(&scored(&self.predictions, splits)?)?;
        tracing::info!(
            method = self.method,
            accuracy = pooled.value,
            se = pooled.se,
            "hier probe"
        );
        Ok(HierRow {
            method: self.method,
            description: self.description,
            width: self.width,
            accuracy: self.accuracy,
            pooled,
            vs_baseline: None,
            predictions: self.predictions,
            probe: self.probe,
            fit_seconds: self.fit_seconds,
            readout_docs_per_s,
            docs_per_s,
        })
    }
}

/// Each split's predictions paired with its test labels.
fn scored<'a>(preds: &'a [Vec<usize>], splits: &'a [SeedSplit]) -> Result<Vec<Split<'a>>> {
    preds
        .iter()
        .zip(splits)
        .map(|(p, s)| Split::new(p, &s.y_test))
        .collect()
}

/// Every row but the baseline's compared with it on the same splits.
fn compare(rows: &mut [HierRow], splits: &[SeedSplit], seed: u64) -> Result<()> {
    let base = rows
        .iter()
        .position(|r| r.method == BASELINE.name())
        .ok_or_else(|| Error::Config("no baseline row".into()))?;
    let base_preds = rows[base].predictions.clone();
    let baseline = scored(&base_preds, splits)?;
    for (i, row) in rows.iter_mut().enumerate() {
        if i != base {
            let method = scored(&row.predictions, splits)?;
            row.vs_baseline = Some(paired(&method, &baseline, BASELINE.name(), seed)?);
        }
    }
    Ok(())
}

/// Seconds to encode `texts` and pool them by `b` (truncation encodes each first chunk only).
fn baseline_seconds(
    encoder: &DocumentEncoder,
    cfg: &HierConfig,
    texts: &[String],
    b: Baseline,
) -> Result<f64> {
    let clock = Instant::now();
    let states = encode(encoder, &cfg.chunk, texts, b == Baseline::Truncate)?;
    let means = ChunkMeans::new(&states, cfg.chunk.batch)?;
    b.features(&states, &means)?;
    Ok(clock.elapsed().as_secs_f64())
}

/// The documents' lengths and chunks.
fn documents(states: &ChunkStates, window: usize) -> DocumentStats {
    let mut tokens = states.doc_tokens.clone();
    tokens.sort_unstable();
    let n = tokens.len().max(1);
    let per_doc = states.per_document();
    DocumentStats {
        documents: tokens.len(),
        chunks: states.len(),
        mean_tokens: tokens.iter().sum::<usize>() as f64 / n as f64,
        median_tokens: tokens.get(tokens.len() / 2).copied().unwrap_or(0),
        max_tokens: tokens.last().copied().unwrap_or(0),
        longer_than_window: tokens.iter().filter(|&&t| t > window).count() as f64 / n as f64,
        max_chunks: per_doc.iter().map(|r| r.len()).max().unwrap_or(0),
    }
}

/// The documents as sampled, with every seed's split.
fn describe(data: &Dataset, splits: &[SeedSplit], mean_tokens: f64) -> DatasetInfo {
    let mut class_counts = vec![0; data.classes.len()];
    for &l in &data.labels {
        class_counts[l] += 1;
    }
    let at = |idx: &[usize]| idx.iter().map(|&i| data.origin[i]).collect();
    DatasetInfo {
        name: data.name.clone(),
        examples: data.len(),
        classes: data.classes.clone(),
        class_counts,
        train: splits.first().map_or(0, |s| s.train.len()),
        test: splits.first().map_or(0, |s| s.test.len()),
        tokens_per_example: Some(mean_tokens),
        splits: splits
            .iter()
            .map(|s| SplitInfo {
                seed: s.seed,
                train: at(&s.train),
                test: at(&s.test),
                labels: s.y_test.clone(),
            })
            .collect(),
    }
}
