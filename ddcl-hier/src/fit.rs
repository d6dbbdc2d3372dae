//! Frozen use: every level's prototypes fitted without labels, bottom up, as ddcl-bench fits
//! its `ddcl:K:SUMMARY` methods: k-means++ seeds on the level's inputs, the automatic
//! temperature (the mean squared distance of an input to its nearest seed), then AdamW steps
//! on L_SQ alone.

use candle_core::{DType, Tensor};
use candle_nn::{VarBuilder, VarMap};
use ddcl_readout::check::{at_least, positive_finite};
use ddcl_readout::{AdamW, DdclReadout, Group};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};

use crate::gather::gather;
use crate::{level_prefix, DocumentEncoder, Error, HierCompressor, HierConfig, Result};

/// How [`fit_frozen`] fits each level.
///
/// ```
/// let fit = ddcl_hier::FitConfig::default();
/// assert_eq!((fit.sample, fit.steps, fit.batch), (256, 100, 32));
/// assert_eq!(fit.tau, None); // automatic
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FitConfig {
    /// Chunks (drawn by the seed) whose token states fit level 1.
    #[serde(default = "default_sample")]
    pub sample: usize,
    /// AdamW steps on L_SQ per level after the k-means++ seeding (0: the seeds as they are).
    #[serde(default = "default_steps")]
    pub steps: usize,
    /// Learning rate of those steps.
    #[serde(default = "default_lr")]
    pub lr: f64,
    /// Sequences (chunks, or units of summaries) per step.
    #[serde(default = "default_batch")]
    pub batch: usize,
    /// Every level's temperature; `None` (absent or `null`): automatic per level, the mean
    /// squared distance of an input to its nearest k-means++ seed.
    #[serde(default)]
    pub tau: Option<f64>,
}

fn default_sample() -> usize {
    256
}

fn default_steps() -> usize {
    100
}

fn default_lr() -> f64 {
    0.01
}

fn default_batch() -> usize {
    32
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            sample: default_sample(),
            steps: default_steps(),
            lr: default_lr(),
            batch: default_batch(),
            tau: None,
        }
    }
}

impl FitConfig {
    /// Checks the ranges; keys are named under `fit.`.
    ///
    /// ```
    /// let fit = ddcl_hier::FitConfig { sample: 0, ..Default::default() };
    /// assert_eq!(fit.validate().unwrap_err().to_string(), "fit.sample must be >= 1, got 0");
    /// ```
    pub fn validate(&self) -> Result<()> {
        at_least("fit.sample", self.sample, 1)?;
        positive_finite("fit.lr", self.lr)?;
        at_least("fit.batch", self.batch, 1)?;
        if let Some(tau) = self.tau {
            positive_finite("fit.tau", tau)?;
        }
        Ok(())
    }
}

/// A compressor for `encoder` with every level fitted without labels on `documents`, bottom
/// up: level 1 on the token states of `fit.sample` chunks drawn by `seed`, each level above on
/// the summaries the fitted levels below give for all of `documents`. Variables are created
/// in `varmap` (under `level1.`, `level2.`, ...); the returned compressor's config carries the
/// temperatures chosen, so that config and `varmap` saved together rebuild it.
///
/// ```
/// use candle_core::{DType, Device};
/// use candle_nn::VarMap;
/// use ddcl_hier::{fit_frozen, ChunkConfig, DocumentEncoder, FitConfig, HierConfig};
/// use ddcl_readout::{tiny, ModelSource, ReadoutConfig, TextEncoder, Weights};
/// let dir = tempfile::tempdir()?;
/// tiny::text_model(dir.path(), 1)?;
/// let model = ModelSource::new(dir.path().to_str().unwrap());
/// let enc = DocumentEncoder::new(TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?)?;
/// let cfg = HierConfig::two_level(ChunkConfig::new(8, 0)?, ReadoutConfig::new(4, 1.0)?, ReadoutConfig::new(2, 1.0)?)?;
/// let docs = [enc.ids(&"the cat sat on the mat ".repeat(6))?, enc.ids(&"a good film with great music ".repeat(4))?];
/// let fit = FitConfig { steps: 5, ..Default::default() };
/// let varmap = VarMap::new();
/// let hier = fit_frozen(&enc, &[&docs[0], &docs[1]], &cfg, &fit, &varmap, 7)?;
/// assert_ne!(hier.config().levels[0].readout.tau, 1.0); // the automatic temperature
/// let out = hier.compress_document(&enc, &docs[0])?;
/// assert_eq!(out.vector.dims(), [16]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fit_frozen(
    encoder: &DocumentEncoder,
    documents: &[&[u32]],
    cfg: &HierConfig,
    fit: &FitConfig,
    varmap: &VarMap,
    seed: u64,
) -> Result<HierCompressor> {
    fit.validate()?;
    let device = encoder.encoder().tokenize(&["a"])?.ids.device().clone();
    let vb = VarBuilder::from_varmap(varmap, DType::F32, &device);
    let mut cfg = cfg.clone();
    let mut hier = HierCompressor::new(encoder.hidden_size(), &cfg, vb.clone())?;
    let chunks = hier.plan(encoder, documents)?;
    let mut order: Vec<usize> = (0..chunks.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    order.truncate(fit.sample);
    order.sort_unstable();
    let sample: Vec<_> = order.iter().map(|&i| chunks[i].clone()).collect();
    let buckets = encoder.buckets(documents, &sample, cfg.chunk.batch)?;
    let longest = buckets
        .iter()
        .map(|b| b.batch.mask.dim(1))
        .collect::<candle_core::Result<Vec<_>>>()?
        .into_iter()
        .max()
        .unwrap_or(0);
    let mut states = Vec::with_capacity(buckets.len());
    let mut masks = Vec::with_capacity(buckets.len());
    for bucket in &buckets {
        let h = encoder.forward(&bucket.batch)?.detach();
        let pad = longest - h.dim(1)?;
        states.push(h.pad_with_zeros(1, 0, pad)?);
        masks.push(
            bucket
                .batch
                .mask
                .to_dtype(DType::F32)?
                .pad_with_zeros(1, 0, pad)?,
        );
    }
    let (h, mask) = (Tensor::cat(&states, 0)?, Tensor::cat(&masks, 0)?);
    drop(states);
    cfg.levels[0].readout.tau = fit_level(&hier.levels()[0], varmap, &vb, 1, &h, &mask, fit, seed)?;
    hier = HierCompressor::new(encoder.hidden_size(), &cfg, vb.clone())?;
    for level in 2..=cfg.levels.len() {
        let own: Vec<Tensor> = hier
            .compress_documents(encoder, documents)?
            .into_iter()
            .map(|c| c.summaries[0].clone())
            .collect();
        let sizes: Vec<usize> = own
            .iter()
            .map(|s| s.dim(0))
            .collect::<candle_core::Result<_>>()?;
        let mut layout = Vec::with_capacity(own.len());
        let mut start = 0;
        for n in sizes {
            layout.push((start..start + n).collect());
            start += n;
        }
        let (s, m) = gather(&Tensor::cat(&own, 0)?, &layout)?;
        let pass = hier
            .forward_summaries(&s, &m)?
            .levels
            .into_iter()
            .find(|p| p.level == level)
            .ok_or(Error::Empty {
                what: "the compressor's levels",
            })?;
        let part = &pass.parts[0];
        let (input, unit_mask) = (part.input.detach(), part.mask.clone());
        let readout = &hier.levels()[level - 1];
        cfg.levels[level - 1].readout.tau =
            fit_level(readout, varmap, &vb, level, &input, &unit_mask, fit, seed)?;
        hier = HierCompressor::new(encoder.hidden_size(), &cfg, vb.clone())?;
    }
    Ok(hier)
}

/// Fits one level on its inputs `h` (B, T, W) under `mask`: k-means++ seeds written into
/// `varmap`, the temperature (fixed or automatic), L_SQ steps. Returns the temperature.
#[allow(clippy::too_many_arguments)]
fn fit_level(
    readout: &DdclReadout,
    varmap: &VarMap,
    vb: &VarBuilder,
    level: usize,
    h: &Tensor,
    mask: &Tensor,
    fit: &FitConfig,
    seed: u64,
) -> Result<f64> {
    let k = readout.config().prototypes;
    let seeds = ddcl_core::kmeans_pp(h, Some(mask), k, seed)?;
    let tau = match fit.tau {
        Some(tau) => tau,
        // the mean squared distance of a real input to its nearest seed: assignments at this
        // temperature start soft but not uniform
        None => ddcl_readout::interpret::nearest_sq_distance(h, Some(mask), &seeds)?.max(1e-6),
    };
    set(
        varmap,
        readout.prototypes_name(),
        &seeds.to_dtype(DType::F32)?,
    )?;
    let mut rcfg = readout.config().clone();
    rcfg.tau = tau;
    if rcfg.learn_tau {
        let name = format!("{}.log_tau", level_prefix(level));
        set(varmap, &name, &Tensor::new(&[tau.ln() as f32], h.device())?)?;
    }
    let fitted = DdclReadout::new(readout.hidden_size(), &rcfg, vb.pp(level_prefix(level)))?;
    let prefix = format!("{}.", level_prefix(level));
    let vars = varmap
        .data()
        .lock()
        .map_err(|_| ddcl_readout::Error::Poisoned)?
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(name, var)| (name.clone(), var.clone()))
        .collect();
    let mut opt = AdamW::new(
        vec![Group {
            name: prefix,
            lr: fit.lr,
            vars,
        }],
        0.0,
    )?;
    let n = h.dim(0)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut order: Vec<u32> = Vec::new();
    for _ in 0..fit.steps {
        if order.len() < fit.batch.min(n) {
            order = (0..n as u32).collect();
            order.shuffle(&mut rng);
        }
        let rows = order.split_off(order.len() - fit.batch.min(n));
        let index = Tensor::new(rows, h.device())?;
        let out = fitted.forward_masked(
            &h.index_select(&index, 0)?,
            Some(&mask.index_select(&index, 0)?),
        )?;
        opt.step(&out.losses().sq.backward()?)?;
    }
    Ok(tau)
}

/// Sets the variable `name` of `varmap` to `value` (same shape and dtype).
fn set(varmap: &VarMap, name: &str, value: &Tensor) -> Result<()> {
    let data = varmap
        .data()
        .lock()
        .map_err(|_| ddcl_readout::Error::Poisoned)?;
    let var = data.get(name).ok_or_else(|| ddcl_readout::Error::Missing {
        what: "fit_frozen: the VarMap",
        name: name.to_string(),
    })?;
    Ok(var.set(value)?)
}
