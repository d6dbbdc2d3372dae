//! Joint training of encoder, prototypes and task head under the timescale condition.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::Path;

use candle_core::{DType, Tensor, Var, D};
use candle_nn::{Linear, Module, VarBuilder, VarMap};
use ddcl_core::{Separation, Timescale, Usage, UsageReport};
use serde::Serialize;

use crate::{
    load_checkpoint, save_checkpoint, AdamW, DdclReadout, Error, Group, Policy, ReadoutOutput,
    Result, RunConfig, Trainable,
};

/// An encoder the trainer can drive: it turns a batch into hidden states and a mask, and says
/// which of its variables train.
pub trait Encode {
    /// What one batch of input is (token ids, pixels, ...).
    type Batch;
    /// Hidden states (B, T, D) and mask (B, T, 1 = real token) of a batch.
    fn encode(&self, batch: &Self::Batch) -> Result<(Tensor, Tensor)>;
    /// D.
    fn hidden_size(&self) -> usize;
    /// Chooses which layers train (and pass gradients).
    fn set_trainable(&mut self, trainable: Trainable);
    /// Whether the variable `name` (relative to the encoder's root) trains.
    fn is_trainable(&self, name: &str) -> bool;
}

/// Variables of the encoder live under this prefix in the run's `VarMap`.
pub const ENCODER: &str = "encoder.";
const READOUT: &str = "readout";
const HEAD: &str = "head";

/// Encoder, DDCL readout and a linear task head on the readout's summary.
pub struct Classifier<E> {
    /// The encoder.
    pub encoder: E,
    /// The readout.
    pub readout: DdclReadout,
    /// The task head, summary → class logits.
    pub head: Linear,
}

impl<E: Encode> Classifier<E> {
    /// Builds the readout (under `readout.`) and the head (under `head.`) from `vb`.
    pub fn new(encoder: E, cfg: &RunConfig, vb: VarBuilder) -> Result<Self> {
        let readout = DdclReadout::new(encoder.hidden_size(), &cfg.readout, vb.pp(READOUT))?;
        let head = candle_nn::linear(readout.width(), cfg.classes, vb.pp(HEAD))?;
        Ok(Self {
            encoder,
            readout,
            head,
        })
    }

    /// Class logits (B, classes) and the readout's output for a batch.
    pub fn forward(&self, batch: &E::Batch) -> Result<(Tensor, ReadoutOutput)> {
        let (h, mask) = self.encoder.encode(batch)?;
        let out = self.readout.forward_masked(&h, Some(&mask))?;
        Ok((self.head.forward(&out.summary)?, out))
    }
}

/// What one step logs (also a line of the JSONL log, with `"kind": "step"`).
#[derive(Debug, Clone, Serialize)]
pub struct StepRecord {
    /// Steps taken so far in the run.
    pub step: usize,
    /// Current epoch (from 1).
    pub epoch: usize,
    /// `task + lambda * l_sq`.
    pub loss: f64,
    /// Cross-entropy of the head.
    pub task: f64,
    /// `L_SQ`.
    pub l_sq: f64,
    /// `L_OLS`.
    pub l_ols: f64,
    /// `V`, the diversity term.
    pub v: f64,
    /// `|L_SQ - L_OLS - V| / L_SQ`.
    pub identity_violation: f64,
    /// Minimum pairwise distance of the prototypes.
    pub separation_min: f64,
    /// Mean pairwise distance of the prototypes.
    pub separation_mean: f64,
    /// Share of prototypes with batch occupancy above the threshold.
    pub soft_utilisation: f64,
    /// Share of prototypes that win at least one token of the batch.
    pub hard_utilisation: f64,
    /// Temperature.
    pub tau: f64,
}

/// What one epoch logs (a JSONL line with `"kind": "epoch"`).
#[derive(Debug, Clone, Serialize)]
pub struct EpochRecord {
    /// The epoch (from 1).
    pub epoch: usize,
    /// Mean loss over the epoch's steps.
    pub loss: f64,
    /// Training accuracy of the head over the epoch.
    pub accuracy: f64,
    /// Prototype usage over the epoch: utilisation, perplexity, entropy, identity violation,
    /// occupancy.
    #[serde(flatten)]
    pub usage: UsageReport,
    /// Prototype separation at the end of the epoch.
    pub separation_min: f64,
    /// Mean pairwise prototype distance at the end of the epoch.
    pub separation_mean: f64,
    /// The timescale check (`None` when the policy is off).
    pub timescale: Option<TimescaleRecord>,
}

/// The timescale condition as checked at the end of an epoch.
#[derive(Debug, Clone, Serialize)]
pub struct TimescaleRecord {
    /// eps (0 with a frozen encoder), its bound, the largest occupancy and the step margin.
    #[serde(flatten)]
    pub check: Timescale,
    /// Both conditions hold.
    pub holds: bool,
}

/// Trains a [`Classifier`] with separate AdamW groups for encoder (`lr_encoder`), prototypes
/// and temperature (`lr_prototypes`) and head (`lr_head`), on `cross_entropy + lambda * L_SQ`.
///
/// Every step is logged through `tracing` and, if configured, to a JSONL file; every epoch
/// checks the timescale condition under the configured policy and writes the checkpoint.
pub struct Trainer<E> {
    model: Classifier<E>,
    varmap: VarMap,
    opt: AdamW,
    cfg: RunConfig,
    step: usize,
    epoch: usize,
    log: Option<File>,
}

impl<E: Encode> Trainer<E> {
    /// A trainer for `encoder` (whose trainable variables, if any, are in `varmap` under
    /// [`ENCODER`]). Builds readout and head in `varmap`. Refuses at once when the policy is
    /// `refuse` and `lr_encoder / lr_prototypes` exceeds the bound.
    pub fn new(mut encoder: E, cfg: RunConfig, varmap: VarMap, dtype: DType) -> Result<Self> {
        cfg.validate()?;
        let device = match varmap.all_vars().first() {
            Some(v) => v.device().clone(),
            None => candle_core::Device::Cpu,
        };
        encoder.set_trainable(cfg.train.encoder);
        let t = &cfg.train;
        if t.timescale.policy == Policy::Refuse && encoder_trains(t.encoder) {
            let eps = t.lr_encoder / t.lr_prototypes;
            if eps > t.timescale.eps_max {
                return Err(Error::Timescale(format!(
                    "eps = lr_encoder / lr_prototypes = {eps:.4} > eps_max = {}",
                    t.timescale.eps_max
                )));
            }
        }
        let vb = crate::seeded_builder(&varmap, t.seed, dtype, &device);
        let model = Classifier::new(encoder, &cfg, vb)?;
        let opt = AdamW::new(groups(&varmap, &model, &cfg), t.weight_decay)?;
        let log = match &t.log {
            Some(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
                }
                let f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| Error::io(path, e))?;
                Some(f)
            }
            None => None,
        };
        Ok(Self {
            model,
            varmap,
            opt,
            cfg,
            step: 0,
            epoch: 0,
            log,
        })
    }

    /// The model.
    pub fn model(&self) -> &Classifier<E> {
        &self.model
    }

    /// The run's variables.
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The optimiser (its groups say what trains).
    pub fn optimizer(&self) -> &AdamW {
        &self.opt
    }

    /// Steps and epochs done.
    pub fn progress(&self) -> (usize, usize) {
        (self.step, self.epoch)
    }

    /// Seeds the prototypes by k-means++ on the encoder's output for `sample` (with the run's
    /// seed), when the readout's `init` asks for it; a no-op for random init.
    pub fn init_prototypes(&mut self, sample: &E::Batch) -> Result<()> {
        if self.model.readout.config().init != crate::Init::KMeansPlusPlus {
            return Ok(());
        }
        let (h, mask) = self.model.encoder.encode(sample)?;
        let seed = self.cfg.train.seed;
        self.model
            .readout
            .init_kmeans_pp(&mut self.varmap, &h.detach(), Some(&mask), seed)
    }

    /// One optimisation step on a batch with integer labels (B).
    pub fn step(&mut self, batch: &E::Batch, labels: &Tensor) -> Result<StepRecord> {
        let (record, _, _) = self.step_inner(batch, labels)?;
        Ok(record)
    }

    fn step_inner(
        &mut self,
        batch: &E::Batch,
        labels: &Tensor,
    ) -> Result<(StepRecord, ReadoutOutput, Tensor)> {
        let (logits, out) = self.model.forward(batch)?;
        let labels = check_labels(labels, logits.dim(0)?, self.cfg.classes)?;
        let task = candle_nn::loss::cross_entropy(&logits, &labels)?;
        let loss = (&task + (&out.losses().sq * self.cfg.train.lambda)?)?;
        let grads = loss.backward()?;
        self.opt.step(&grads)?;
        self.step += 1;
        let mut usage = Usage::new(
            self.cfg.readout.prototypes,
            self.cfg.train.utilisation_threshold,
        )?;
        usage.add(&out.assignment)?;
        let u = usage.report();
        let sep = Separation::of(&out.prototypes)?;
        let scalar = |t: &Tensor| -> Result<f64> { Ok(t.to_dtype(DType::F64)?.to_scalar()?) };
        let record = StepRecord {
            step: self.step,
            epoch: self.epoch + 1,
            loss: scalar(&loss)?,
            task: scalar(&task)?,
            l_sq: scalar(&out.losses().sq)?,
            l_ols: scalar(&out.losses().ols)?,
            v: scalar(&out.losses().var)?,
            identity_violation: out.losses().relative_violation()?,
            separation_min: sep.min,
            separation_mean: sep.mean,
            soft_utilisation: u.soft_utilisation,
            hard_utilisation: u.hard_utilisation,
            tau: out.tau,
        };
        tracing::info!(
            step = record.step,
            loss = record.loss,
            task = record.task,
            l_sq = record.l_sq,
            l_ols = record.l_ols,
            v = record.v,
            identity = record.identity_violation,
            separation = record.separation_min,
            utilisation = record.soft_utilisation,
            "step"
        );
        self.write_log("step", &record)?;
        Ok((record, out, logits))
    }

    /// One pass over `batches` (input, labels), then the timescale check and the checkpoint.
    pub fn train_epoch(&mut self, batches: &[(E::Batch, Tensor)]) -> Result<EpochRecord> {
        if batches.is_empty() {
            return Err(Error::Input("train_epoch: no batches".into()));
        }
        let k = self.cfg.readout.prototypes;
        let mut usage = Usage::new(k, self.cfg.train.utilisation_threshold)?;
        let (mut loss, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for (batch, labels) in batches {
            let (record, out, logits) = self.step_inner(batch, labels)?;
            usage.add(&out.assignment)?;
            loss += record.loss;
            correct += hits(&logits, labels)?;
            seen += labels.dim(0)?;
        }
        self.epoch += 1;
        let sep = Separation::of(self.model.readout.prototypes())?;
        let u = usage.report();
        let timescale = self.check_timescale(&u.occupancy)?;
        let record = EpochRecord {
            epoch: self.epoch,
            loss: loss / batches.len() as f64,
            accuracy: correct as f64 / seen.max(1) as f64,
            usage: u,
            separation_min: sep.min,
            separation_mean: sep.mean,
            timescale,
        };
        tracing::info!(
            epoch = record.epoch,
            loss = record.loss,
            accuracy = record.accuracy,
            separation = record.separation_min,
            "epoch"
        );
        self.write_log("epoch", &record)?;
        if let Some(path) = self.cfg.train.checkpoint.clone() {
            self.save(&path)?;
        }
        Ok(record)
    }

    /// Accuracy of the head on `batches`, without training.
    pub fn evaluate(&self, batches: &[(E::Batch, Tensor)]) -> Result<f64> {
        let (mut correct, mut seen) = (0usize, 0usize);
        for (batch, labels) in batches {
            let (logits, _) = self.model.forward(batch)?;
            correct += hits(&logits, labels)?;
            seen += labels.dim(0)?;
        }
        Ok(correct as f64 / seen.max(1) as f64)
    }

    fn check_timescale(&self, occupancy: &[f64]) -> Result<Option<TimescaleRecord>> {
        let t = &self.cfg.train;
        if t.timescale.policy == Policy::Off {
            return Ok(None);
        }
        let eta_e = if encoder_trains(t.encoder) {
            t.lr_encoder
        } else {
            t.lr_prototypes
        };
        let mut check = Timescale::check(eta_e, t.lr_prototypes, occupancy, t.timescale.eps_max)?;
        if !encoder_trains(t.encoder) {
            check.eps = 0.0;
        }
        let record = TimescaleRecord {
            check,
            holds: check.holds(),
        };
        if !record.holds {
            let msg = format!(
                "epoch {}: eps = {:.4} (bound {}), step margin 1 - eta_P max_k n_k = {:.4}",
                self.epoch, check.eps, check.eps_max, check.step_margin
            );
            match t.timescale.policy {
                Policy::Refuse => return Err(Error::Timescale(msg)),
                Policy::Warn => tracing::warn!("timescale condition violated: {msg}"),
                Policy::Off => {}
            }
        }
        Ok(Some(record))
    }

    fn write_log<T: Serialize>(&mut self, kind: &str, record: &T) -> Result<()> {
        let Some(f) = self.log.as_mut() else {
            return Ok(());
        };
        let mut value = serde_json::to_value(record).map_err(|e| Error::Input(e.to_string()))?;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("kind".into(), kind.into());
        }
        let path = self.cfg.train.log.clone().unwrap_or_default();
        writeln!(f, "{value}").map_err(|e| Error::io(path, e))
    }

    /// Writes readout, head, the optimiser state and (if `save_encoder`) the encoder's
    /// trainable weights to `path`, atomically, with the config, step and epoch in the
    /// metadata.
    pub fn save(&self, path: &Path) -> Result<()> {
        let vars = self.varmap.data().lock().map_err(|_| poisoned())?;
        let mut tensors: Vec<(String, Tensor)> = vars
            .iter()
            .filter(|(name, _)| self.cfg.train.save_encoder || !name.starts_with(ENCODER))
            .map(|(name, var)| (name.clone(), var.as_tensor().clone()))
            .collect();
        tensors.sort_by(|a, b| a.0.cmp(&b.0));
        tensors.extend(self.opt.state()?);
        let metadata = HashMap::from([
            ("config".to_string(), self.cfg.to_yaml()?),
            ("step".to_string(), self.step.to_string()),
            ("epoch".to_string(), self.epoch.to_string()),
        ]);
        save_checkpoint(path, &tensors, metadata)
    }

    /// Restores a checkpoint written by [`Trainer::save`]: every readout and head variable
    /// must be present with the model's shape; encoder weights are restored when stored.
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let device = self.model.readout.prototypes().device().clone();
        let (tensors, metadata) = load_checkpoint(path, &device)?;
        {
            let vars = self.varmap.data().lock().map_err(|_| poisoned())?;
            for (name, var) in vars.iter() {
                let Some(t) = tensors.get(name) else {
                    if name.starts_with(ENCODER) {
                        continue;
                    }
                    return Err(Error::checkpoint(path, format!("no tensor `{name}`")));
                };
                if t.shape() != var.shape() {
                    return Err(Error::checkpoint(
                        path,
                        format!(
                            "tensor `{name}` has shape {:?}, the model expects {:?} \
                             (a checkpoint of another configuration?)",
                            t.dims(),
                            var.dims()
                        ),
                    ));
                }
            }
            for (name, var) in vars.iter() {
                if let Some(t) = tensors.get(name) {
                    var.set(&t.to_dtype(var.dtype())?)?;
                }
            }
        }
        self.opt
            .load_state(|name| tensors.get(name).cloned())
            .map_err(|e| Error::checkpoint(path, e))?;
        let number = |key: &str| -> Result<usize> {
            metadata
                .get(key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| Error::checkpoint(path, format!("metadata has no valid `{key}`")))
        };
        self.step = number("step")?;
        self.epoch = number("epoch")?;
        Ok(())
    }
}

fn encoder_trains(t: Trainable) -> bool {
    !matches!(t, Trainable::Frozen | Trainable::Top(0))
}

fn poisoned() -> Error {
    Error::Input("VarMap lock poisoned".into())
}

/// The optimiser groups: trainable encoder variables, readout variables, head variables.
fn groups<E: Encode>(varmap: &VarMap, model: &Classifier<E>, cfg: &RunConfig) -> Vec<Group> {
    let t = &cfg.train;
    let mut vars: Vec<(String, Var)> = varmap
        .data()
        .lock()
        .map(|d| d.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    vars.sort_by(|a, b| a.0.cmp(&b.0));
    let pick = |keep: &dyn Fn(&str) -> bool| -> Vec<(String, Var)> {
        vars.iter().filter(|(n, _)| keep(n)).cloned().collect()
    };
    let encoder = pick(&|n| {
        n.strip_prefix(ENCODER)
            .is_some_and(|rest| model.encoder.is_trainable(rest))
    });
    let readout = pick(&|n| n.starts_with(&format!("{READOUT}.")));
    let head = pick(&|n| n.starts_with(&format!("{HEAD}.")));
    vec![
        Group {
            name: "encoder".into(),
            lr: t.lr_encoder,
            vars: encoder,
        },
        Group {
            name: "prototypes".into(),
            lr: t.lr_prototypes,
            vars: readout,
        },
        Group {
            name: "head".into(),
            lr: t.lr_head,
            vars: head,
        },
    ]
}

fn check_labels(labels: &Tensor, batch: usize, classes: usize) -> Result<Tensor> {
    let labels = labels.to_dtype(DType::U32)?;
    if labels.dims() != [batch] {
        return Err(Error::Input(format!(
            "labels: expected shape ({batch}), got {:?}",
            labels.dims()
        )));
    }
    let max = labels.max(0)?.to_scalar::<u32>()? as usize;
    if max >= classes {
        return Err(Error::Input(format!(
            "labels: class {max} out of range for {classes} classes"
        )));
    }
    Ok(labels)
}

fn hits(logits: &Tensor, labels: &Tensor) -> Result<usize> {
    let pred = logits.argmax(D::Minus1)?;
    Ok(pred
        .eq(&labels.to_dtype(DType::U32)?)?
        .to_dtype(DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()? as usize)
}
