//! Protocol 5: a small features-as-tokens encoder trained on tabular data, DDCL vs mean
//! pooling, against always answering the majority class; each accuracy with its 95% interval,
//! DDCL compared with mean pooling on the same test examples.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use ddcl_readout::{
    ModelConfig, ModelKind, Policy, Pooling, ReadoutConfig, RunConfig, TimescaleConfig,
    TrainConfig, Trainable, Trainer,
};

use super::predict::{predict, vs_mean};
use super::trainer::encoder_tau;
use super::Context;
use crate::config::TabularConfig;
use crate::data::{load, split, Inputs};
use crate::error::{Error, Result};
use crate::probe::standardise;
use crate::progress::progress;
use crate::results::TabularRow;
use crate::stats::{Interval, Split};
use crate::tabular::TabularEncoder;

/// A row for DDCL, then one for mean pooling, each trained as `t` says.
pub fn run(ctx: &Context, t: &TabularConfig) -> Result<Vec<TabularRow>> {
    let cfg = ctx.cfg;
    let d = cfg
        .datasets
        .iter()
        .find(|d| d.name == t.dataset)
        .ok_or_else(|| Error::Config(format!("tabular.dataset `{}` not found", t.dataset)))?;
    let data = load(&d.name, &d.source()?, d.limit, ctx.seed)?;
    let Inputs::Tabular(rows) = &data.inputs else {
        return Err(Error::Config(format!(
            "tabular.dataset `{}` is not tabular",
            t.dataset
        )));
    };
    let (tr, te) = split(rows.len(), cfg.train_share_of(&d.name), ctx.seed);
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
    let (x_tr, x_te) = standardise(&pick(&tr)?, &pick(&te)?)?;
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
            ctx.seed.wrapping_add(1),
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
            encoder: Trainable::All,
            weight_decay: 0.0,
            timescale: TimescaleConfig {
                policy: Policy::Off,
                eps_max: ddcl_core::DEFAULT_EPS_MAX,
            },
            utilisation_threshold: 0.01,
            seed: ctx.seed,
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
        let (predictions, labels) = predict(&mut trainer, &test)?;
        let interval = Interval::pooled(&[Split::new(&predictions, &labels)?])?;
        rows_out.push(TabularRow {
            method: name,
            accuracy: interval.value,
            interval,
            vs_mean: None,
            predictions,
            labels,
            majority,
            identity: trainer.identity(),
        });
    }
    let scored = rows_out
        .iter()
        .map(|r| (r.method.as_str(), &r.predictions[..], &r.labels[..]));
    let compared = vs_mean(scored, ctx.seed)?;
    for (row, c) in rows_out.iter_mut().zip(compared) {
        row.vs_mean = c;
    }
    Ok(rows_out)
}
