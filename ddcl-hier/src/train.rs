//! Joint training of encoder, every level and a task head, with the timescale condition
//! checked per level: each level's inputs must move slower than its prototypes; checkpoints
//! from which a run resumes bit for bit.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::{Linear, Module, VarMap};
use ddcl_core::{Timescale, Usage, DEFAULT_EPS_MAX};
use ddcl_readout::check::{at_least, config_error, non_negative_finite, positive_finite};
use ddcl_readout::{yaml, AdamW, Group, Policy, TrainingState, ENCODER};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{level_prefix, DocumentEncoder, HierCompressor, HierConfig, Result};

/// Settings of a [`HierTrainer`].
///
/// The timescale condition of level `l` compares the fastest learning rate of what feeds it
/// (the encoder if it trains, and the levels below) with the level's own: for all of them to
/// hold, rates grow from the encoder up (`lr_encoder < lr_levels[0] < lr_levels[1] ...`).
///
/// ```
/// let cfg: ddcl_hier::HierTrainConfig =
///     serde_json::from_str(r#"{"classes": 3, "lr_levels": [0.001, 0.01], "lr_head": 0.01}"#)?;
/// assert_eq!(cfg.lambda, 0.1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HierTrainConfig {
    /// Number of classes of the task head.
    pub classes: usize,
    /// Learning rate of the encoder's trainable variables (under `encoder.` in the VarMap); 0
    /// (the default) leaves the encoder frozen.
    #[serde(default)]
    pub lr_encoder: f64,
    /// Learning rate of each level's prototypes (and temperature), bottom first.
    pub lr_levels: Vec<f64>,
    /// Learning rate of the head.
    pub lr_head: f64,
    /// Weight of each level's L_SQ in the loss `cross_entropy + lambda * sum_l L_SQ_l`.
    #[serde(default = "default_lambda")]
    pub lambda: f64,
    /// AdamW's decoupled weight decay.
    #[serde(default)]
    pub weight_decay: f64,
    /// Bound on each level's `eps` (rate below / the level's rate).
    #[serde(default = "default_eps_max")]
    pub eps_max: f64,
    /// What a failed condition does: `warn` (the epoch's record says it does not hold),
    /// `refuse` (an error, and rates that break the bound refused before the first step),
    /// `off` (not checked).
    #[serde(default)]
    pub policy: Policy,
    /// Seed of the head's and the prototypes' initialisation.
    #[serde(default)]
    pub seed: u64,
}

fn default_lambda() -> f64 {
    0.1
}

fn default_eps_max() -> f64 {
    DEFAULT_EPS_MAX
}

impl HierTrainConfig {
    /// Checks the ranges (keys under `train.`) and one rate per level of `hier`.
    ///
    /// ```
    /// # use ddcl_hier::{ChunkConfig, HierConfig, HierTrainConfig};
    /// # use ddcl_readout::ReadoutConfig;
    /// let hier = HierConfig::two_level(ChunkConfig::new(8, 0)?, ReadoutConfig::new(4, 1.0)?, ReadoutConfig::new(2, 1.0)?)?;
    /// let cfg: HierTrainConfig = serde_json::from_str(r#"{"classes": 2, "lr_levels": [0.01], "lr_head": 0.01}"#)?;
    /// assert!(cfg.validate(&hier).unwrap_err().to_string().starts_with("config: train.lr_levels"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn validate(&self, hier: &HierConfig) -> Result<()> {
        at_least("train.classes", self.classes, 1)?;
        non_negative_finite("train.lr_encoder", self.lr_encoder)?;
        if self.lr_levels.len() != hier.levels.len() {
            return Err(config_error(
                "train.lr_levels",
                format!(
                    "{} rates for {} levels",
                    self.lr_levels.len(),
                    hier.levels.len()
                ),
            )
            .into());
        }
        for (i, &lr) in self.lr_levels.iter().enumerate() {
            positive_finite(&format!("train.lr_levels[{i}]"), lr)?;
        }
        positive_finite("train.lr_head", self.lr_head)?;
        non_negative_finite("train.lambda", self.lambda)?;
        non_negative_finite("train.weight_decay", self.weight_decay)?;
        positive_finite("train.eps_max", self.eps_max)?;
        Ok(())
    }

    /// The fastest rate feeding level `l` (1-based): the encoder's if it trains, the levels
    /// below; `None` when nothing below trains.
    fn rate_below(&self, l: usize, encoder_trains: bool) -> Option<f64> {
        let encoder = encoder_trains.then_some(self.lr_encoder);
        encoder
            .into_iter()
            .chain(self.lr_levels[..l - 1].iter().copied())
            .reduce(f64::max)
    }
}

/// One level's timescale check at the end of an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LevelTimescale {
    /// 1-based level.
    pub level: usize,
    /// eps (0 when nothing below the level trains), its bound, the largest occupancy, the
    /// step margin.
    pub check: Timescale,
    /// Both conditions hold.
    pub holds: bool,
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HierStep {
    /// The loss minimised.
    pub loss: f64,
    /// Its cross-entropy part.
    pub task: f64,
    /// Each level's L_SQ, bottom first.
    pub l_sq: Vec<f64>,
}

/// What one epoch did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HierEpoch {
    /// Mean loss over the steps.
    pub loss: f64,
    /// Training accuracy over the epoch.
    pub accuracy: f64,
    /// Each level's timescale check (none with policy `off`).
    pub timescale: Vec<LevelTimescale>,
}

/// Trains a [`HierCompressor`] and a linear head on the document vector end to end on
/// `cross_entropy + lambda * sum_l L_SQ_l`, AdamW with one group per level (and the encoder's
/// trainable variables, and the head), the timescale condition checked per level every epoch
/// and, under `refuse`, on the rates before the first step.
///
/// ```no_run
/// # fn f(enc: ddcl_hier::DocumentEncoder, hier: &ddcl_hier::HierConfig, cfg: ddcl_hier::HierTrainConfig,
/// #      batches: Vec<(Vec<Vec<u32>>, candle_core::Tensor)>) -> ddcl_hier::Result<()> {
/// let mut t = ddcl_hier::HierTrainer::new(enc, hier, cfg, candle_nn::VarMap::new())?;
/// let epoch = t.train_epoch(&batches)?;
/// assert!(epoch.timescale.iter().all(|l| l.holds));
/// # Ok(())
/// # }
/// ```
///
/// [`HierTrainer::save`] writes a checkpoint from which [`HierTrainer::resume`] continues the
/// run bit for bit: every variable, the optimiser's moments and step count, the step and epoch
/// reached, and the settings, which must match the resuming trainer's.
pub struct HierTrainer {
    encoder: DocumentEncoder,
    hier: HierCompressor,
    head: Linear,
    varmap: VarMap,
    opt: AdamW,
    cfg: HierTrainConfig,
    encoder_trains: bool,
    step: usize,
    epoch: usize,
}

/// The metadata key of a [`HierTrainer`] checkpoint holding the settings it was trained with
/// ([`Recorded`], YAML).
const TRAINER_KEY: &str = "hier_trainer";

/// The settings a checkpoint records and a resuming trainer must share.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Recorded {
    /// The encoder's hidden size D.
    hidden_size: usize,
    /// The compressor's settings.
    hier: HierConfig,
    /// The training settings.
    train: HierTrainConfig,
}

impl yaml::Validated for Recorded {
    fn check(&self) -> ddcl_readout::Result<()> {
        let checked = self
            .hier
            .validate()
            .and_then(|()| self.train.validate(&self.hier));
        match checked {
            Err(crate::Error::Readout(e)) => Err(e),
            Err(other) => Err(config_error(TRAINER_KEY, other)),
            Ok(()) => Ok(()),
        }
    }
}

impl HierTrainer {
    /// Builds the compressor (under `level1.`, ...) and the head (under `head.`) in `varmap`,
    /// which also holds the encoder's trainable variables, if any, under `encoder.`.
    pub fn new(
        encoder: DocumentEncoder,
        hier: &HierConfig,
        cfg: HierTrainConfig,
        varmap: VarMap,
    ) -> Result<Self> {
        cfg.validate(hier)?;
        let vb = ddcl_readout::seeded_builder(&varmap, cfg.seed, DType::F32, &Device::Cpu);
        let compressor = HierCompressor::new(encoder.hidden_size(), hier, vb.clone())?;
        let head = candle_nn::linear(compressor.width(), cfg.classes, vb.pp("head"))?;
        let trains = |name: &str| {
            name.strip_prefix(ENCODER)
                .is_some_and(|rest| encoder.encoder().bert().is_trainable(rest))
        };
        let mut groups = vec![group(&varmap, "encoder", cfg.lr_encoder, &trains)?];
        for (i, &lr) in cfg.lr_levels.iter().enumerate() {
            let prefix = format!("{}.", level_prefix(i + 1));
            groups.push(group(&varmap, &level_prefix(i + 1), lr, &|n| {
                n.starts_with(&prefix)
            })?);
        }
        groups.push(group(&varmap, "head", cfg.lr_head, &|n| {
            n.starts_with("head.")
        })?);
        let encoder_trains = cfg.lr_encoder > 0.0 && !groups[0].vars.is_empty();
        if cfg.policy == Policy::Refuse {
            for l in 1..=cfg.lr_levels.len() {
                if let Some(below) = cfg.rate_below(l, encoder_trains) {
                    let eps = below / cfg.lr_levels[l - 1];
                    if eps > cfg.eps_max {
                        return Err(ddcl_readout::Error::Timescale(format!(
                            "level {l}: eps = {eps:.4} > eps_max = {}",
                            cfg.eps_max
                        ))
                        .into());
                    }
                }
            }
        }
        let opt = AdamW::new(groups, cfg.weight_decay)?;
        Ok(Self {
            encoder,
            hier: compressor,
            head,
            varmap,
            opt,
            cfg,
            encoder_trains,
            step: 0,
            epoch: 0,
        })
    }

    /// Steps and epochs done (counting those before a [`HierTrainer::resume`]).
    ///
    /// ```no_run
    /// # fn f(t: &ddcl_hier::HierTrainer) {
    /// let (steps, epochs) = t.progress();
    /// # }
    /// ```
    pub fn progress(&self) -> (usize, usize) {
        (self.step, self.epoch)
    }

    /// Writes every variable of the run (the levels', the head's, the encoder's trainable
    /// ones), each optimiser group's AdamW moments, the step count, the step and epoch reached
    /// and the settings (the encoder's hidden size, the compressor's and the training config)
    /// to `path`, atomically: a temporary file beside it, renamed over it.
    ///
    /// ```no_run
    /// # fn f(t: &ddcl_hier::HierTrainer) -> ddcl_hier::Result<()> {
    /// t.save(std::path::Path::new("run/hier-train.safetensors"))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn save(&self, path: &Path) -> Result<()> {
        let metadata =
            HashMap::from([(TRAINER_KEY.to_string(), yaml::to_string(&self.recorded())?)]);
        TrainingState::save(
            path,
            &self.varmap,
            &|_| true,
            &self.opt,
            metadata,
            self.progress(),
        )?;
        Ok(())
    }

    /// Continues from a checkpoint written by [`HierTrainer::save`] by a trainer of the same
    /// settings: training on from here gives, bit for bit, the variables an uninterrupted run
    /// would have. A checkpoint of another configuration (another hidden size, number of
    /// levels, K, learning rate...) is an [`ddcl_readout::Error::Checkpoint`] naming the file
    /// and the first setting that differs, as is a missing, misshapen or unknown tensor (named),
    /// a truncated or corrupt file, or another kind of checkpoint; each is found before the
    /// trainer is changed.
    ///
    /// ```no_run
    /// # fn f(enc: ddcl_hier::DocumentEncoder, hier: &ddcl_hier::HierConfig, cfg: ddcl_hier::HierTrainConfig,
    /// #      batches: Vec<(Vec<Vec<u32>>, candle_core::Tensor)>) -> ddcl_hier::Result<()> {
    /// let mut t = ddcl_hier::HierTrainer::new(enc, hier, cfg, candle_nn::VarMap::new())?;
    /// t.resume(std::path::Path::new("run/hier-train.safetensors"))?;
    /// let (steps, epochs) = t.progress();
    /// t.train_epoch(&batches)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let device = self.head.weight().device().clone();
        let state = TrainingState::load(path, &device)?;
        let bad = |message: String| ddcl_readout::Error::Checkpoint {
            path: path.to_path_buf(),
            message,
        };
        let text = state.metadata().get(TRAINER_KEY).ok_or_else(|| {
            bad(format!(
                "metadata has no `{TRAINER_KEY}`: not a HierTrainer checkpoint"
            ))
        })?;
        let saved: Recorded =
            yaml::parse(text).map_err(|e| bad(format!("`{TRAINER_KEY}`: {e}")))?;
        let as_value = |r: &Recorded| serde_json::to_value(r).map_err(|e| bad(e.to_string()));
        if let Some(diff) = difference(&as_value(&saved)?, &as_value(&self.recorded())?, "") {
            return Err(bad(format!("a checkpoint of another configuration: {diff}")).into());
        }
        {
            let vars = self
                .varmap
                .data()
                .lock()
                .map_err(|_| ddcl_readout::Error::Poisoned)?;
            let mut names: Vec<&String> = state.tensors().keys().collect();
            names.sort();
            if let Some(name) = names
                .into_iter()
                .find(|n| !n.starts_with("optim.") && !vars.contains_key(n.as_str()))
            {
                return Err(
                    bad(format!("tensor `{name}` is not a variable of this trainer")).into(),
                );
            }
        }
        state.restore(&self.varmap, &mut self.opt, &|_| false)?;
        (self.step, self.epoch) = state.progress();
        Ok(())
    }

    /// The settings a checkpoint records.
    fn recorded(&self) -> Recorded {
        Recorded {
            hidden_size: self.encoder.hidden_size(),
            hier: self.hier.config().clone(),
            train: self.cfg.clone(),
        }
    }

    /// The compressor being trained.
    ///
    /// ```no_run
    /// # fn f(t: &ddcl_hier::HierTrainer) {
    /// let w = t.compressor().width();
    /// # }
    /// ```
    pub fn compressor(&self) -> &HierCompressor {
        &self.hier
    }

    /// The run's variables (save them with [`HierCompressor::save`]).
    ///
    /// ```no_run
    /// # fn f(t: &ddcl_hier::HierTrainer) {
    /// let n = t.varmap().all_vars().len();
    /// # }
    /// ```
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// Class logits (B, classes) of `documents`.
    ///
    /// ```no_run
    /// # fn f(t: &ddcl_hier::HierTrainer, docs: &[&[u32]]) -> ddcl_hier::Result<()> {
    /// let predicted = t.logits(docs)?.argmax(1)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn logits(&self, documents: &[&[u32]]) -> Result<Tensor> {
        let out = self.hier.forward_documents(&self.encoder, documents)?;
        Ok(self.head.forward(&out.vectors)?)
    }

    /// One step on `documents` with labels (B).
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_hier::HierTrainer, docs: &[&[u32]], y: &candle_core::Tensor) -> ddcl_hier::Result<()> {
    /// let step = t.step(docs, y)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn step(&mut self, documents: &[&[u32]], labels: &Tensor) -> Result<HierStep> {
        Ok(self.step_inner(documents, labels, None)?.0)
    }

    fn step_inner(
        &mut self,
        documents: &[&[u32]],
        labels: &Tensor,
        usage: Option<&mut [Usage]>,
    ) -> Result<(HierStep, usize)> {
        let out = self.hier.forward_documents(&self.encoder, documents)?;
        let logits = self.head.forward(&out.vectors)?;
        let labels = labels.to_dtype(DType::U32)?;
        let task = candle_nn::loss::cross_entropy(&logits, &labels)?;
        let mut loss = task.clone();
        for level in &out.levels {
            loss = (loss + (&level.losses.sq * self.cfg.lambda)?)?;
        }
        self.opt.step(&loss.backward()?)?;
        self.step += 1;
        if let Some(usage) = usage {
            for (level, u) in out.levels.iter().zip(usage.iter_mut()) {
                for part in &level.parts {
                    u.add(&part.assignment)?;
                }
            }
        }
        let hits = logits
            .argmax(D::Minus1)?
            .eq(&labels)?
            .to_dtype(DType::F64)?
            .sum_all()?
            .to_scalar::<f64>()? as usize;
        let scalar = |t: &Tensor| -> Result<f64> { Ok(t.to_dtype(DType::F64)?.to_scalar()?) };
        let step = HierStep {
            loss: scalar(&loss)?,
            task: scalar(&task)?,
            l_sq: out
                .levels
                .iter()
                .map(|l| scalar(&l.losses.sq))
                .collect::<Result<_>>()?,
        };
        Ok((step, hits))
    }

    /// One pass over `batches` (documents, labels), then each level's timescale check.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_hier::HierTrainer, batches: &[(Vec<Vec<u32>>, candle_core::Tensor)]) -> ddcl_hier::Result<()> {
    /// let epoch = t.train_epoch(batches)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn train_epoch(&mut self, batches: &[(Vec<Vec<u32>>, Tensor)]) -> Result<HierEpoch> {
        let threshold = self.hier.config().utilisation_threshold;
        let mut usage = self
            .hier
            .levels()
            .iter()
            .map(|r| Usage::new(r.config().prototypes, threshold))
            .collect::<ddcl_core::Result<Vec<_>>>()?;
        let (mut loss, mut hits, mut seen) = (0.0, 0, 0);
        for (docs, labels) in batches {
            let docs: Vec<&[u32]> = docs.iter().map(Vec::as_slice).collect();
            let (step, h) = self.step_inner(&docs, labels, Some(&mut usage))?;
            loss += step.loss;
            hits += h;
            seen += docs.len();
        }
        self.epoch += 1;
        let timescale = match self.cfg.policy {
            Policy::Off => Vec::new(),
            _ => self.timescale(&usage)?,
        };
        Ok(HierEpoch {
            loss: loss / batches.len().max(1) as f64,
            accuracy: hits as f64 / seen.max(1) as f64,
            timescale,
        })
    }

    fn timescale(&self, usage: &[Usage]) -> Result<Vec<LevelTimescale>> {
        let encoder_trains = self.encoder_trains;
        let mut records = Vec::with_capacity(usage.len());
        for (i, u) in usage.iter().enumerate() {
            let level = i + 1;
            let eta_p = self.cfg.lr_levels[i];
            let below = self.cfg.rate_below(level, encoder_trains);
            let occupancy = u.report().occupancy;
            let mut check =
                Timescale::check(below.unwrap_or(eta_p), eta_p, &occupancy, self.cfg.eps_max)?;
            if below.is_none() {
                check.eps = 0.0;
            }
            let holds = check.holds();
            if !holds && self.cfg.policy == Policy::Refuse {
                let msg = format!(
                    "level {level}: eps = {:.4} (bound {}), step margin {:.4}",
                    check.eps, check.eps_max, check.step_margin
                );
                return Err(ddcl_readout::Error::Timescale(msg).into());
            }
            records.push(LevelTimescale {
                level,
                check,
                holds,
            });
        }
        Ok(records)
    }
}

/// The variables of `varmap` whose names `keep` selects, sorted, as an optimiser group.
fn group(varmap: &VarMap, name: &str, lr: f64, keep: &dyn Fn(&str) -> bool) -> Result<Group> {
    let mut vars: Vec<_> = varmap
        .data()
        .lock()
        .map_err(|_| ddcl_readout::Error::Poisoned)?
        .iter()
        .filter(|(n, _)| keep(n))
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(Group {
        name: name.to_string(),
        lr,
        vars,
    })
}

/// The first setting (a dotted key, `[i]` for a list's entry) in which `saved` and `current`
/// differ, with both values; `None` when they are equal.
fn difference(saved: &Value, current: &Value, key: &str) -> Option<String> {
    let sub = |k: &str| match key {
        "" => k.to_string(),
        _ => format!("{key}.{k}"),
    };
    let show = |v: Option<&Value>| v.map_or_else(|| "nothing".to_string(), Value::to_string);
    match (saved, current) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| match (a.get(k), b.get(k)) {
                (Some(x), Some(y)) => difference(x, y, &sub(k)),
                (x, y) => Some(format!(
                    "{}: {} in the checkpoint, {} in this trainer",
                    sub(k),
                    show(x),
                    show(y)
                )),
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() != b.len() => Some(format!(
            "{key}: {} entries in the checkpoint, {} in this trainer",
            a.len(),
            b.len()
        )),
        (Value::Array(a), Value::Array(b)) => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| difference(x, y, &format!("{key}[{i}]"))),
        _ if saved == current => None,
        _ => Some(format!(
            "{key}: {saved} in the checkpoint, {current} in this trainer"
        )),
    }
}
