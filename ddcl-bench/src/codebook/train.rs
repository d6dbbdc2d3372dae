//! One run of the codebook experiment: an autoencoder with one quantiser trained by AdamW on
//! seeded batches, its curves on a held-out batch, its metrics on the test images.

use std::time::{Duration, Instant};

use candle_core::{DType, Device};
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarMap};
use ddcl_codebook::{AutoencoderConfig, CodebookStats, ConvAutoencoder, ReconError};
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

use crate::codebook::config::{CodebookConfig, CodebookMethod};
use crate::codebook::images::Images;
use crate::codebook::quantiser::Built;
use crate::codebook::results::{CodebookRow, Curve};
use crate::error::Result;
use crate::progress::progress;

/// The data of every run: training images, the test images measured, the held-out batch of
/// the curves.
pub(crate) struct Data<'a> {
    /// Training images, drawn in seeded batches.
    pub train: &'a Images,
    /// Test images (the first `test_count` are measured, the first `curve_count` make the
    /// held-out batch).
    pub test: &'a Images,
    /// Test images measured at the end.
    pub test_count: usize,
    /// Images of the held-out batch (the first test images).
    pub curve_count: usize,
}

/// The network, its quantiser and what the steps need.
struct Model {
    ae: ConvAutoencoder,
    quantiser: Built,
    /// The latent grid (H / 4, W / 4).
    grid: (usize, usize),
}

/// Trains `method` with `codes` codes under `seed` for `cfg.iterations` steps and measures it.
pub(crate) fn run(
    cfg: &CodebookConfig,
    data: &Data,
    method: &CodebookMethod,
    codes: usize,
    seed: u64,
) -> Result<CodebookRow> {
    let varmap = VarMap::new();
    let vb = ddcl_readout::seeded_builder(&varmap, seed, DType::F32, &Device::Cpu);
    let net = AutoencoderConfig {
        channels: 1,
        hidden: cfg.autoencoder.hidden,
        latent: cfg.autoencoder.latent,
    };
    let ae = ConvAutoencoder::new(&net, vb.pp("autoencoder"))?;
    let quantiser = Built::new(
        method,
        codes,
        cfg.iterations,
        seed,
        net.latent,
        vb.pp("quantiser"),
    )?;
    let mut model = Model {
        ae,
        quantiser,
        grid: (data.train.height / 4, data.train.width / 4),
    };
    let params = ParamsAdamW {
        lr: cfg.lr,
        weight_decay: cfg.weight_decay,
        ..ParamsAdamW::default()
    };
    let mut opt = AdamW::new(varmap.all_vars(), params)?;
    let mut batches = Batches::new(data.train.len(), cfg.batch_size, seed);
    let curve_idx: Vec<usize> = (0..data.curve_count).collect();
    let (mut train_time, mut eval_time) = (Duration::ZERO, Duration::ZERO);
    let mut curve = Curve::default();
    let mut final_loss = f64::NAN;
    let pb = progress(
        cfg.iterations,
        &format!("codebook {} K={codes} seed {seed}", method.name),
    );
    for step in 1..=cfg.iterations {
        let started = Instant::now();
        let x = data.train.batch(&batches.draw())?;
        let z = model.ae.encode(&x)?;
        let out = model.quantiser.get_mut().quantize(&z, true)?;
        let recon = model.ae.decode(&out.z_q, model.grid.0, model.grid.1)?;
        let loss = ((recon - &x)?.sqr()?.mean_all()? + out.loss)?;
        opt.backward_step(&loss)?;
        final_loss = f64::from(loss.to_scalar::<f32>()?);
        train_time += started.elapsed();
        if step % cfg.eval_every == 0 || step == cfg.iterations {
            let started = Instant::now();
            let m = model.measure(data.test, &curve_idx, cfg.batch_size)?;
            curve.step.push(step);
            curve.utilisation.push(m.stats.report().utilisation);
            curve.mse.push(m.hard.mse());
            eval_time += started.elapsed();
        }
        pb.inc(1);
    }
    pb.finish_and_clear();
    let started = Instant::now();
    let test_idx: Vec<usize> = (0..data.test_count).collect();
    let m = model.measure(data.test, &test_idx, cfg.batch_size)?;
    eval_time += started.elapsed();
    let report = m.stats.report();
    Ok(CodebookRow {
        method: method.name.clone(),
        kind: method.kind(),
        group: codes,
        codes: model.quantiser.get().codebook_size(),
        seed,
        utilisation: report.utilisation,
        perplexity: report.perplexity,
        dead: report.dead,
        used_bits: report.used_bits,
        entropy_bits: report.entropy_bits,
        mse: m.hard.mse(),
        l1: m.hard.l1(),
        mse_soft: m.soft.map(|s| s.mse()),
        l1_soft: m.soft.map(|s| s.l1()),
        train_seconds: train_time.as_secs_f64(),
        eval_seconds: eval_time.as_secs_f64(),
        final_loss,
        curve,
    })
}

/// What an evaluation pass saw.
struct Measured {
    stats: CodebookStats,
    hard: ReconError,
    soft: Option<ReconError>,
}

impl Model {
    /// Code usage and reconstruction errors (hard codes; DDCL also soft) of the images `idx`,
    /// in batches of `batch`; no state changes.
    fn measure(&self, images: &Images, idx: &[usize], batch: usize) -> Result<Measured> {
        let q = self.quantiser.get();
        let mut stats = CodebookStats::new(q.codebook_size())?;
        let mut hard = ReconError::default();
        let mut soft: Option<ReconError> = None;
        let (h, w) = self.grid;
        for chunk in idx.chunks(batch.max(1)) {
            let x = images.batch(chunk)?;
            let z = self.ae.encode(&x)?.detach();
            let codes = q.encode(&z)?;
            stats.add(&codes)?;
            hard.add(&x, &self.ae.decode(&q.decode(&codes)?, h, w)?)?;
            if let Some(zs) = self.quantiser.soft(&z)? {
                soft.get_or_insert_with(ReconError::default)
                    .add(&x, &self.ae.decode(&zs, h, w)?)?;
            }
        }
        Ok(Measured { stats, hard, soft })
    }
}

/// Seeded batches of training positions: a fresh shuffle of every position per epoch.
struct Batches {
    order: Vec<usize>,
    at: usize,
    size: usize,
    rng: StdRng,
}

impl Batches {
    fn new(n: usize, size: usize, seed: u64) -> Self {
        Self {
            order: (0..n).collect(),
            at: n,
            size: size.clamp(1, n.max(1)),
            rng: StdRng::seed_from_u64(seed),
        }
    }

    /// The next batch; a new epoch's shuffle when the current one has too few left.
    fn draw(&mut self) -> Vec<usize> {
        if self.at + self.size > self.order.len() {
            self.order.shuffle(&mut self.rng);
            self.at = 0;
        }
        let b = self.order[self.at..self.at + self.size].to_vec();
        self.at += self.size;
        b
    }
}
