//! The two-timescale experiment, redesigned: every ratio `eps = eta_E / eta_P` reached both
//! ways (eta_P fixed with eta_E across the bound, eta_E fixed with eta_P across it), from a
//! k-means++ start and from a collapsed one (every prototype at the token mean plus noise),
//! unsupervised (`lambda * L_SQ`) and supervised (`CE + lambda * L_SQ`), on the tabular
//! features-as-tokens encoder trained whole. Measured on a held-out batch: separation over the
//! token scale, V / L_SQ, the token states' effective rank, tau / tau_c, the fast system's
//! step margin and, supervised, the ratio of the two gradients' norms on the encoder.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, D};
use candle_nn::VarMap;
use ddcl_core::{Timescale, Usage, DEFAULT_EPS_MAX};
use ddcl_readout::{
    Encode, Init, ModelConfig, ModelKind, Policy, Pooling, ReadoutConfig, RunConfig,
    TimescaleConfig, TrainConfig, Trainable, Trainer,
};
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, Normal};

use super::config::{ClaimsConfig, TimescaleSettings};
use super::geometry::{real_tokens, relative_separation, TokenGeometry};
use super::results::{TimescalePoint, TimescaleRun};
use crate::data::{load, split, Inputs};
use crate::error::{Error, Result};
use crate::metrics::hungarian_accuracy;
use crate::probe::standardise;
use crate::progress::progress;
use crate::protocol::predict;
use crate::results::IdentityRow;
use crate::tabular::TabularEncoder;

/// The settings, starts and axes of the experiment.
pub const SETTINGS: [&str; 2] = ["unsupervised", "supervised"];
/// The prototypes' starts.
pub const STARTS: [&str; 2] = ["k-means++", "collapsed"];
/// How eps is reached.
pub const AXES: [&str; 2] = ["eta_P fixed", "eta_E fixed"];

/// Every run's row, its identity tally, and the seconds per training step measured.
pub fn run(cfg: &ClaimsConfig) -> Result<(Vec<TimescaleRun>, Vec<IdentityRow>, f64)> {
    let t = &cfg.timescale;
    let d = cfg
        .dataset(&t.dataset)
        .ok_or_else(|| Error::Config(format!("timescale.dataset `{}` not found", t.dataset)))?;
    let (mut runs, mut identity) = (Vec::new(), Vec::new());
    let total = cfg.seeds.len() * SETTINGS.len() * STARTS.len() * AXES.len() * t.eps.len();
    let pb = progress(total, "timescale runs");
    let (started, mut steps) = (Instant::now(), 0usize);
    for &seed in &cfg.seeds {
        let data = Split::of(&load(&d.name, &d.source()?, d.limit, seed)?, t, seed)?;
        for setting in SETTINGS {
            for start in STARTS {
                for axis in AXES {
                    for &eps in &t.eps {
                        let (eta_e, eta_p) = match axis {
                            "eta_P fixed" => (eps * t.eta_p, t.eta_p),
                            _ => (t.eta_e, t.eta_e / eps),
                        };
                        let one = Run {
                            setting,
                            start,
                            axis,
                            eps,
                            eta_e,
                            eta_p,
                            seed,
                        };
                        let (row, tally) = one.train(t, &data)?;
                        steps += t.steps;
                        identity.push(IdentityRow::f32(
                            "timescale",
                            &format!("{setting} {start} {axis} eps={eps} seed {seed}"),
                            tally,
                        ));
                        runs.push(row);
                        pb.inc(1);
                    }
                }
            }
        }
    }
    pb.finish_and_clear();
    Ok((
        runs,
        identity,
        started.elapsed().as_secs_f64() / steps.max(1) as f64,
    ))
}

/// A seed's standardised rows: training batches, the held-out batch, test batches.
struct Split {
    features: usize,
    classes: usize,
    train: Vec<(Tensor, Tensor)>,
    eval: (Tensor, Tensor),
    test: Vec<(Tensor, Tensor)>,
}

impl Split {
    fn of(data: &crate::data::Dataset, t: &TimescaleSettings, seed: u64) -> Result<Self> {
        let Inputs::Tabular(rows) = &data.inputs else {
            return Err(Error::Config(format!(
                "timescale.dataset `{}` is not tabular",
                data.name
            )));
        };
        let f = rows.first().map_or(0, Vec::len);
        let (tr, te) = split(rows.len(), 0.5, seed);
        let pick = |idx: &[usize]| -> Result<(Tensor, Vec<u32>)> {
            let x: Vec<f32> = idx.iter().flat_map(|&i| rows[i].iter().copied()).collect();
            let y = idx.iter().map(|&i| data.labels[i] as u32).collect();
            Ok((Tensor::from_vec(x, (idx.len(), f), &Device::Cpu)?, y))
        };
        let ((x_tr, y_tr), (x_te, y_te)) = (pick(&tr)?, pick(&te)?);
        let (x_tr, x_te) = standardise(&x_tr, &x_te)?;
        let batches = |x: &Tensor, y: &[u32], size: usize| -> Result<Vec<(Tensor, Tensor)>> {
            (0..y.len())
                .step_by(size)
                .map(|s| {
                    let e = (s + size).min(y.len());
                    Ok((x.narrow(0, s, e - s)?, Tensor::new(&y[s..e], &Device::Cpu)?))
                })
                .collect()
        };
        let test = batches(&x_te, &y_te, 512)?;
        let n = t.eval_rows.min(y_te.len());
        if n < 2 || tr.is_empty() {
            return Err(Error::Config(format!(
                "timescale: `{}` has too few rows ({})",
                data.name,
                rows.len()
            )));
        }
        Ok(Self {
            features: f,
            classes: data.classes.len(),
            train: batches(&x_tr, &y_tr, t.batch_size)?,
            eval: (
                x_te.narrow(0, 0, n)?,
                Tensor::new(&y_te[..n], &Device::Cpu)?,
            ),
            test,
        })
    }
}

/// One run's coordinates.
struct Run {
    setting: &'static str,
    start: &'static str,
    axis: &'static str,
    eps: f64,
    eta_e: f64,
    eta_p: f64,
    seed: u64,
}

impl Run {
    fn supervised(&self) -> bool {
        self.setting == "supervised"
    }

    fn train(
        &self,
        t: &TimescaleSettings,
        data: &Split,
    ) -> Result<(TimescaleRun, ddcl_readout::IdentityTally)> {
        let varmap = VarMap::new();
        let vb = ddcl_readout::seeded_builder(
            &varmap,
            self.seed.wrapping_add(1),
            DType::F32,
            &Device::Cpu,
        );
        let enc = TabularEncoder::new(data.features, t.hidden, vb.pp("encoder"))?;
        let (h, mask) = enc.encode(&data.eval.0)?;
        let tokens = real_tokens(&h, &mask)?;
        let tau = t.tau_over_critical * TokenGeometry::of(&tokens)?.critical_tau();
        let lambda = if self.supervised() {
            t.lambda_supervised
        } else {
            t.lambda_unsupervised
        };
        let mut readout = ReadoutConfig::new(t.prototypes, tau)?;
        readout.pooling = vec![Pooling::Mixture];
        readout.init = Init::KMeansPlusPlus;
        let rc = RunConfig {
            model: ModelConfig {
                kind: ModelKind::Text,
                id: "tabular".into(),
                max_len: None,
            },
            readout,
            classes: data.classes,
            train: TrainConfig {
                epochs: 1,
                batch_size: t.batch_size,
                lr_encoder: self.eta_e,
                lr_prototypes: self.eta_p,
                lr_head: if self.supervised() { self.eta_e } else { 0.0 },
                lambda,
                encoder: Trainable::All,
                weight_decay: 0.0,
                timescale: TimescaleConfig {
                    policy: Policy::Off,
                    eps_max: DEFAULT_EPS_MAX,
                },
                utilisation_threshold: 0.01,
                seed: self.seed,
                log: None,
                checkpoint: None,
                save_encoder: false,
            },
        };
        let mut tr = Trainer::new(enc, rc, varmap, DType::F32)?;
        match self.start {
            "collapsed" => {
                let mean = tokens.mean_keepdim(0)?;
                let mut rng = StdRng::seed_from_u64(self.seed ^ 0x5eed);
                let normal = Normal::new(0.0f32, t.collapse_noise as f32)
                    .map_err(|e| Error::Config(format!("timescale.collapse_noise: {e}")))?;
                let noise: Vec<f32> = (0..t.prototypes * t.hidden)
                    .map(|_| normal.sample(&mut rng))
                    .collect();
                let noise = Tensor::from_vec(noise, (t.prototypes, t.hidden), &Device::Cpu)?;
                tr.set_prototypes(&noise.broadcast_add(&mean)?)?;
            }
            _ => tr.init_prototypes(&data.eval.0)?,
        }
        let mut curve = vec![self.measure(&tr, data, tau)?];
        for s in 0..t.steps {
            let (x, y) = &data.train[s % data.train.len()];
            if self.supervised() {
                tr.step(x, y)?;
            } else {
                tr.step_unsupervised(x)?;
            }
            if (s + 1) % t.record_every == 0 || s + 1 == t.steps {
                curve.push(self.measure(&tr, data, tau)?);
            }
        }
        let accuracy = if self.supervised() {
            let (p, l) = predict(&mut tr, &data.test)?;
            crate::metrics::accuracy(&p, &l)
        } else {
            let (mut clusters, mut labels) = (Vec::new(), Vec::new());
            for (x, y) in &data.test {
                let (_, out) = tr.model().forward(x)?;
                let w = out.assignment.occupancy()?.argmax(D::Minus1)?;
                clusters.extend(w.to_vec1::<u32>()?.into_iter().map(|v| v as usize));
                labels.extend(y.to_vec1::<u32>()?.into_iter().map(|v| v as usize));
            }
            hungarian_accuracy(&clusters, &labels)
        };
        let row = TimescaleRun {
            setting: self.setting,
            axis: self.axis,
            start: self.start,
            eps: self.eps,
            eta_e: self.eta_e,
            eta_p: self.eta_p,
            lambda,
            seed: self.seed,
            tau,
            curve,
            accuracy,
        };
        Ok((row, tr.identity()))
    }

    /// The held-out batch's geometry, loss split and margin now.
    fn measure(
        &self,
        tr: &Trainer<TabularEncoder>,
        data: &Split,
        tau: f64,
    ) -> Result<TimescalePoint> {
        let model = tr.model();
        let (x, y) = &data.eval;
        let (h, mask) = model.encoder.encode(x)?;
        let geometry = TokenGeometry::of(&real_tokens(&h, &mask)?)?;
        let out = model.readout.forward_masked(&h, Some(&mask))?;
        let scalar = |t: &Tensor| -> Result<f64> { Ok(t.to_dtype(DType::F64)?.to_scalar()?) };
        let (sq, var) = (scalar(&out.losses().sq)?, scalar(&out.losses().var)?);
        let (separation_min, separation_mean) =
            relative_separation(model.readout.prototypes(), geometry.rms)?;
        let mut usage = Usage::new(model.readout.config().prototypes, 0.01)?;
        usage.add(&out.assignment)?;
        let occupancy = usage.report().occupancy;
        let margin =
            Timescale::check(self.eta_e, self.eta_p, &occupancy, DEFAULT_EPS_MAX)?.step_margin;
        let gradient_ratio = if self.supervised() {
            let (task, sq) = tr.encoder_gradient_norms(x, y)?;
            Some(sq / task)
        } else {
            None
        };
        Ok(TimescalePoint {
            step: tr.progress().0,
            separation_min,
            separation_mean,
            v_over_l_sq: var / sq,
            effective_rank: geometry.effective_rank,
            token_rms: geometry.rms,
            tau_over_critical: tau / geometry.critical_tau(),
            margin,
            gradient_ratio,
        })
    }
}
