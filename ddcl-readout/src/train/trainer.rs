//! The trainer: steps, epochs, evaluation, checkpoints.

use std::path::Path;

use candle_core::{DType, Tensor};
use candle_nn::VarMap;
use ddcl_core::{Separation, Usage};

use super::classifier::Classifier;
use super::encode::Encode;
use super::groups::groups;
use super::identity::IdentityTally;
use super::labels::{check_labels, hits};
use super::record::{EpochRecord, StepRecord};
use super::steplog::StepLog;
use super::{state, timescale};
use crate::{AdamW, Error, FrozenOutputs, ReadoutOutput, Result, RunConfig};

/// Trains a [`Classifier`] with separate AdamW groups for encoder (`lr_encoder`), prototypes
/// and temperature (`lr_prototypes`) and head (`lr_head`), on `cross_entropy + lambda * L_SQ`.
///
/// Every step is logged through `tracing` and, if configured, to a JSONL file; every epoch
/// checks the timescale condition under the configured policy and writes the checkpoint.
///
/// A run on given hidden states (`Given` is the encoder of [`crate::Encode`]'s example):
///
/// ```
/// # use candle_core::{DType, Device, Tensor};
/// # use ddcl_readout::{Encode, Trainable};
/// # struct Given;
/// # impl Encode for Given {
/// #     type Batch = Tensor;
/// #     fn encode(&self, h: &Tensor) -> ddcl_readout::Result<(Tensor, Tensor)> {
/// #         let (b, t, _) = h.dims3()?;
/// #         Ok((h.clone(), Tensor::ones((b, t), h.dtype(), h.device())?))
/// #     }
/// #     fn hidden_size(&self) -> usize { 4 }
/// #     fn set_trainable(&mut self, _: Trainable) {}
/// #     fn is_trainable(&self, _: &str) -> bool { false }
/// # }
/// use candle_nn::VarMap;
/// use ddcl_readout::{RunConfig, Trainer};
///
/// let cfg = RunConfig::from_yaml(
///     "model: {kind: text, id: none}
/// readout: {prototypes: 2, tau: 1.0, init: kmeans++, pooling: [mixture]}
/// classes: 2
/// train: {epochs: 1, batch_size: 2, lr_encoder: 0.0, lr_prototypes: 0.01, lr_head: 0.1, lambda: 0.1}
/// ",
/// )?;
/// let h = Tensor::randn(0f32, 1., (2, 3, 4), &Device::Cpu)?;
/// let labels = Tensor::new(&[0u32, 1], &Device::Cpu)?;
/// let mut t = Trainer::new(Given, cfg, VarMap::new(), DType::F32)?;
/// t.init_prototypes(&h)?;
/// let step = t.step(&h, &labels)?;
/// assert!(step.loss.is_finite());
/// let epoch = t.train_epoch(&[(h.clone(), labels.clone())])?;
/// assert_eq!(epoch.epoch, 1);
/// assert_eq!(t.progress(), (2, 1));
/// let accuracy = t.evaluate(&[(h, labels)])?;
/// assert!((0.0..=1.0).contains(&accuracy));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Trainer<E> {
    model: Classifier<E>,
    varmap: VarMap,
    opt: AdamW,
    cfg: RunConfig,
    step: usize,
    epoch: usize,
    log: Option<StepLog>,
    frozen_outputs: FrozenOutputs,
    identity: IdentityTally,
}

/// What a step minimises: the head's cross-entropy on the labels plus `lambda * L_SQ`, or
/// `lambda * L_SQ` alone (deep clustering: no labels, the head does not train).
#[derive(Clone, Copy)]
enum Objective<'a> {
    Supervised(&'a Tensor),
    Unsupervised,
}

impl<E: Encode> Trainer<E> {
    /// A trainer for `encoder` (whose trainable variables, if any, are in `varmap` under
    /// [`crate::ENCODER`]). Builds readout and head in `varmap`. Refuses at once when the
    /// policy is `refuse` and `lr_encoder / lr_prototypes` exceeds the bound. The encoder's
    /// frozen part is computed once per example and kept ([`FrozenOutputs::Cached`]).
    ///
    /// See [`Trainer`] for a whole run.
    /// ```no_run
    /// # fn f() -> ddcl_readout::Result<()> {
    /// # let (enc, cfg): (ddcl_readout::TextEncoder, ddcl_readout::RunConfig) = todo!();
    /// let t = ddcl_readout::Trainer::new(enc, cfg, candle_nn::VarMap::new(), candle_core::DType::F32)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn new(mut encoder: E, cfg: RunConfig, varmap: VarMap, dtype: DType) -> Result<Self> {
        cfg.validate()?;
        let device = match varmap.all_vars().first() {
            Some(v) => v.device().clone(),
            None => candle_core::Device::Cpu,
        };
        encoder.set_trainable(cfg.train.encoder);
        encoder.set_frozen_outputs(FrozenOutputs::Cached);
        let t = &cfg.train;
        timescale::check_rates(t)?;
        let vb = crate::seeded_builder(&varmap, t.seed, dtype, &device);
        let model = Classifier::new(encoder, &cfg, vb)?;
        let opt = AdamW::new(groups(&varmap, &model, &cfg), t.weight_decay)?;
        let log = t.log.as_deref().map(StepLog::open).transpose()?;
        Ok(Self {
            model,
            varmap,
            opt,
            cfg,
            step: 0,
            epoch: 0,
            log,
            frozen_outputs: FrozenOutputs::Cached,
            identity: IdentityTally::default(),
        })
    }

    /// Chooses how the encoder's frozen part is computed (default [`FrozenOutputs::Cached`];
    /// [`FrozenOutputs::PerExample`] gives the same numbers without keeping them).
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>) {
    /// t.set_frozen_outputs(ddcl_readout::FrozenOutputs::PerExample);
    /// # }
    /// ```
    pub fn set_frozen_outputs(&mut self, mode: FrozenOutputs) {
        self.frozen_outputs = mode;
        self.model.encoder.set_frozen_outputs(mode);
    }

    /// The model.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let width = t.model().readout.width();
    /// # Ok(())
    /// # }
    /// ```
    pub fn model(&self) -> &Classifier<E> {
        &self.model
    }

    /// The run's variables.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let n = t.varmap().all_vars().len();
    /// # Ok(())
    /// # }
    /// ```
    pub fn varmap(&self) -> &VarMap {
        &self.varmap
    }

    /// The optimiser (its groups say what trains).
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let opt = t.optimizer();
    /// # Ok(())
    /// # }
    /// ```
    pub fn optimizer(&self) -> &AdamW {
        &self.opt
    }

    /// Steps and epochs done.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let (steps, epochs) = t.progress();
    /// # Ok(())
    /// # }
    /// ```
    pub fn progress(&self) -> (usize, usize) {
        (self.step, self.epoch)
    }

    /// Seeds the prototypes by k-means++ on the encoder's output for `sample` (with the run's
    /// seed), when the readout's `init` asks for it; a no-op for random init.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// t.init_prototypes(b)?;
    /// # Ok(())
    /// # }
    /// ```
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
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let record = t.step(b, y)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn step(&mut self, batch: &E::Batch, labels: &Tensor) -> Result<StepRecord> {
        let (record, _, _) = self.step_inner(batch, Objective::Supervised(labels))?;
        Ok(record)
    }

    /// One unsupervised step on `lambda * L_SQ` alone (the deep-clustering objective): the
    /// encoder and the prototypes train, the head gets no gradient; `task` is recorded as 0.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch) -> ddcl_readout::Result<()> {
    /// let record = t.step_unsupervised(b)?;
    /// assert_eq!(record.task, 0.0);
    /// # Ok(())
    /// # }
    /// ```
    pub fn step_unsupervised(&mut self, batch: &E::Batch) -> Result<StepRecord> {
        let (record, _, _) = self.step_inner(batch, Objective::Unsupervised)?;
        Ok(record)
    }

    /// The identity's residuals over every step this trainer has taken (see
    /// [`IdentityTally`]).
    ///
    /// ```no_run
    /// # fn f(t: &ddcl_readout::Trainer<ddcl_readout::TextEncoder>) {
    /// let tally = t.identity();
    /// println!("{} steps, largest residual {:.2e}", tally.steps, tally.max_residual);
    /// # }
    /// ```
    pub fn identity(&self) -> IdentityTally {
        self.identity
    }

    /// The norms of the two loss terms' gradients on the encoder's trainable variables for one
    /// batch, without a step: `(||grad cross_entropy||, ||grad lambda * L_SQ||)`, each the
    /// Euclidean norm over all those variables together (both 0 with a frozen encoder).
    ///
    /// ```no_run
    /// # fn f(t: &ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let (task, sq) = t.encoder_gradient_norms(b, y)?;
    /// println!("the encoder feels L_SQ at {:.3} of the task's pull", sq / task);
    /// # Ok(())
    /// # }
    /// ```
    pub fn encoder_gradient_norms(&self, batch: &E::Batch, labels: &Tensor) -> Result<(f64, f64)> {
        let (logits, out) = self.model.forward(batch)?;
        let labels = check_labels(labels, logits.dim(0)?, self.cfg.classes)?;
        let task = candle_nn::loss::cross_entropy(&logits, &labels)?;
        let sq = (&out.losses().sq * self.cfg.train.lambda)?;
        let encoder = self.opt.groups().iter().filter(|g| g.name == "encoder");
        let vars: Vec<&candle_core::Var> = encoder
            .flat_map(|g| g.vars.iter().map(|(_, v)| v))
            .collect();
        let norm = |loss: &Tensor| -> Result<f64> {
            let grads = loss.backward()?;
            let mut total = 0.0;
            for v in &vars {
                if let Some(g) = grads.get(v.as_tensor()) {
                    total += g
                        .sqr()?
                        .sum_all()?
                        .to_dtype(DType::F64)?
                        .to_scalar::<f64>()?;
                }
            }
            Ok(total.sqrt())
        };
        Ok((norm(&task)?, norm(&sq)?))
    }

    /// Replaces the prototypes (K, D) by `p` (e.g. a collapsed start: every prototype at the
    /// tokens' mean plus a little noise).
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, p: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// t.set_prototypes(p)?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_prototypes(&mut self, p: &Tensor) -> Result<()> {
        let current = self.model.readout.prototypes();
        if p.dims() != current.dims() {
            return Err(Error::ShapeMismatch {
                name: "set_prototypes: p".into(),
                expected: current.dims().to_vec(),
                got: p.dims().to_vec(),
            });
        }
        let name = self.model.readout.prototypes_name().to_string();
        self.varmap.set_one(name, p.to_dtype(current.dtype())?)?;
        Ok(())
    }

    fn step_inner(
        &mut self,
        batch: &E::Batch,
        objective: Objective,
    ) -> Result<(StepRecord, ReadoutOutput, Tensor)> {
        let (logits, out) = self.model.forward(batch)?;
        let sq = (&out.losses().sq * self.cfg.train.lambda)?;
        let (task, loss) = match objective {
            Objective::Supervised(labels) => {
                let labels = check_labels(labels, logits.dim(0)?, self.cfg.classes)?;
                let task = candle_nn::loss::cross_entropy(&logits, &labels)?;
                let loss = (&task + &sq)?;
                (task, loss)
            }
            Objective::Unsupervised => (sq.zeros_like()?, sq),
        };
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
        self.identity.add(record.identity_violation);
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
        if let Some(log) = &mut self.log {
            log.write("step", &record)?;
        }
        Ok((record, out, logits))
    }

    /// One pass over `batches` (input, labels), then the timescale check and the checkpoint.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let record = t.train_epoch(&[(b.clone(), y.clone())])?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn train_epoch(&mut self, batches: &[(E::Batch, Tensor)]) -> Result<EpochRecord> {
        if batches.is_empty() {
            return Err(Error::empty("train_epoch: the batches"));
        }
        let k = self.cfg.readout.prototypes;
        let mut usage = Usage::new(k, self.cfg.train.utilisation_threshold)?;
        let (mut loss, mut correct, mut seen) = (0.0, 0usize, 0usize);
        for (batch, labels) in batches {
            let (record, out, logits) = self.step_inner(batch, Objective::Supervised(labels))?;
            usage.add(&out.assignment)?;
            loss += record.loss;
            correct += hits(&logits, labels)?;
            seen += labels.dim(0)?;
        }
        self.epoch += 1;
        let sep = Separation::of(self.model.readout.prototypes())?;
        let u = usage.report();
        let timescale = timescale::check_epoch(&self.cfg.train, self.epoch, &u.occupancy)?;
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
        if let Some(log) = &mut self.log {
            log.write("epoch", &record)?;
        }
        if let Some(path) = self.cfg.train.checkpoint.clone() {
            self.save(&path)?;
        }
        Ok(record)
    }

    /// Accuracy of the head on `batches`, without training.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// let accuracy = t.evaluate(&[(b.clone(), y.clone())])?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn evaluate(&self, batches: &[(E::Batch, Tensor)]) -> Result<f64> {
        let (mut correct, mut seen) = (0usize, 0usize);
        for (batch, labels) in batches {
            let (logits, _) = self.model.forward(batch)?;
            correct += hits(&logits, labels)?;
            seen += labels.dim(0)?;
        }
        Ok(correct as f64 / seen.max(1) as f64)
    }

    /// Writes readout, head, the optimiser state and (if `save_encoder`) the encoder's
    /// trainable weights to `path`, atomically, with the config, step and epoch in the
    /// metadata.
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// t.save(std::path::Path::new("run/ckpt.safetensors"))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn save(&self, path: &Path) -> Result<()> {
        state::save(path, &self.varmap, &self.opt, &self.cfg, self.progress())
    }

    /// Restores a checkpoint written by [`Trainer::save`]: every readout and head variable
    /// must be present with the model's shape; encoder weights are restored when stored (and
    /// the kept frozen outputs forgotten).
    ///
    /// ```no_run
    /// # fn f(t: &mut ddcl_readout::Trainer<ddcl_readout::TextEncoder>, b: &ddcl_readout::TextBatch, y: &candle_core::Tensor) -> ddcl_readout::Result<()> {
    /// t.resume(std::path::Path::new("run/ckpt.safetensors"))?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn resume(&mut self, path: &Path) -> Result<()> {
        let device = self.model.readout.prototypes().device().clone();
        (self.step, self.epoch) = state::restore(path, &self.varmap, &mut self.opt, &device)?;
        self.model.encoder.set_frozen_outputs(self.frozen_outputs);
        Ok(())
    }
}
