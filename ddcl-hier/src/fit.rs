//! Frozen use: every level's prototypes fitted without labels, bottom up, by
//! [`ddcl_readout::fit_prototypes`] (as ddcl-bench fits its `ddcl:K:SUMMARY` methods):
//! k-means++ seeds on the level's inputs, the automatic temperature (the mean squared distance
//! of an input to its nearest seed), then AdamW steps on L_SQ alone in minibatches.

use candle_core::{DType, Tensor};
use candle_nn::{VarBuilder, VarMap};
use ddcl_readout::check::{at_least, positive_finite};
use ddcl_readout::{fit_prototypes, Batching, PrototypeFit, ReadoutConfig};
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
    cfg.levels[0].readout.tau = fit_level(
        hier.levels()[0].config(),
        varmap,
        vb.pp(level_prefix(1)),
        &h,
        &mask,
        fit,
        seed,
    )?;
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
        cfg.levels[level - 1].readout.tau = fit_level(
            hier.levels()[level - 1].config(),
            varmap,
            vb.pp(level_prefix(level)),
            &input,
            &unit_mask,
            fit,
            seed,
        )?;
        hier = HierCompressor::new(encoder.hidden_size(), &cfg, vb.clone())?;
    }
    Ok(hier)
}

/// Fits one level (settings `readout`, variables those of `varmap` under `vb`'s prefix) on its
/// inputs `h` (B, T, W) under `mask` with [`fit_prototypes`] in minibatches. Returns the
/// temperature.
fn fit_level(
    readout: &ReadoutConfig,
    varmap: &VarMap,
    vb: VarBuilder,
    h: &Tensor,
    mask: &Tensor,
    fit: &FitConfig,
    seed: u64,
) -> Result<f64> {
    let settings = PrototypeFit {
        steps: fit.steps,
        lr: fit.lr,
        batching: Batching::Rows(fit.batch),
        tau: fit.tau,
        tau_share: 1.0,
        seeding_rows: None,
        seed,
    };
    let fitted = fit_prototypes(h, Some(mask), readout, varmap, vb, &settings)?;
    Ok(fitted.config().tau)
}
