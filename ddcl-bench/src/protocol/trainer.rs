//! Training a readout with the text encoder on the joint protocol's dataset (protocols 3 and
//! 4), and the automatic temperature of a trained readout (also protocol 5).

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use ddcl_readout::{
    Encode, Init, ModelConfig, ModelKind, ModelSource, Policy, ReadoutConfig, RunConfig, TextBatch,
    TextEncoder, TimescaleConfig, TrainConfig, Trainer, Weights, ENCODER,
};

use super::Context;
use crate::config::JointConfig;
use crate::data::{load, split, Inputs};
use crate::error::{Error, Result};
use crate::methods::auto_tau;
use crate::states::States;

/// Tokenized batches with their labels.
pub type Batches = Vec<(TextBatch, Tensor)>;

/// The joint protocol's text dataset, split with the first seed.
pub struct JointData {
    texts: Vec<String>,
    labels: Vec<usize>,
    /// Number of classes.
    pub classes: usize,
    train: Vec<usize>,
    test: Vec<usize>,
    max_len: usize,
}

/// The dataset of `j`, a seeded sample of at most `limit` examples, of which `train` train
/// (`None`: the dataset's train share of them).
pub fn joint_data(
    ctx: &Context,
    j: &JointConfig,
    limit: usize,
    train: Option<usize>,
) -> Result<JointData> {
    let cfg = ctx.cfg;
    let d = cfg
        .datasets
        .iter()
        .find(|d| d.name == j.dataset)
        .ok_or_else(|| Error::Config(format!("joint.dataset `{}` not found", j.dataset)))?;
    let data = load(&d.name, &d.source()?, limit, ctx.seed)?;
    let Inputs::Text(texts) = data.inputs else {
        return Err(Error::Config(format!(
            "joint.dataset `{}` is not text",
            j.dataset
        )));
    };
    let share = match train {
        Some(n) if n >= texts.len() => {
            return Err(Error::Config(format!(
                "joint.train ({n}) leaves no test examples: `{}` has {} examples",
                j.dataset,
                texts.len()
            )))
        }
        Some(n) => n as f64 / texts.len() as f64,
        None => cfg.train_share_of(&d.name),
    };
    let (train, test) = split(texts.len(), share, ctx.seed);
    Ok(JointData {
        texts,
        labels: data.labels,
        classes: data.classes.len(),
        train,
        test,
        max_len: d.max_len,
    })
}

/// Tokenized batches of `batch` examples `idx` with their labels.
pub fn text_batches(
    enc: &TextEncoder,
    texts: &[String],
    labels: &[usize],
    idx: &[usize],
    batch: usize,
) -> Result<Batches> {
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

/// A run of the text model `model` with `readout` and `train` on `classes` classes.
pub fn run_config(
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

/// The training settings of `j` with the prototypes' learning rate and L_SQ weight given; the
/// timescale condition is checked and warned about.
pub fn train_config(j: &JointConfig, lr_prototypes: f64, lambda: f64, seed: u64) -> TrainConfig {
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

/// The automatic temperature (see [`auto_tau`]) for the readout of `rc` on the encoder's
/// token states of one batch.
pub fn encoder_tau<E: Encode>(enc: &E, batch: &E::Batch, rc: &RunConfig) -> Result<f64> {
    let (h, mask) = enc.encode(batch)?;
    let states = States {
        hidden: h.detach(),
        mask: mask.to_dtype(DType::U8)?,
    };
    auto_tau(&states, rc.readout.prototypes, rc.train.seed)
}

/// A trainer on the joint dataset with the given readout and training settings, and its
/// training and test batches (the test examples in order of length); for a k-means++ readout
/// the temperature is set from the encoder's scale (see [`auto_tau`]).
pub fn trainer(
    ctx: &Context,
    jd: &JointData,
    mut rc: RunConfig,
) -> Result<(Trainer<TextEncoder>, Batches, Batches)> {
    let varmap = VarMap::new();
    let m = ModelSource::new(&ctx.cfg.text_model);
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
    // test examples batched by length (fewer padded tokens), the same order for every method
    let mut by_length = jd.test.clone();
    by_length.sort_by_key(|&i| jd.texts[i].len());
    let test = text_batches(&enc, &jd.texts, &jd.labels, &by_length, bs)?;
    if rc.readout.init == Init::KMeansPlusPlus {
        rc.readout.tau = encoder_tau(&enc, &train[0].0, &rc)?;
    }
    let mut t = Trainer::new(enc, rc, varmap, DType::F32)?;
    t.init_prototypes(&train[0].0)?;
    Ok((t, train, test))
}
