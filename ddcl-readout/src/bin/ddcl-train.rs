//! Trains a DDCL readout, a linear task head and (as configured) the encoder's top layers on
//! labelled data, and writes a checkpoint that `ddcl-embed --checkpoint` reads.
//!
//! ```text
//! ddcl-train --config configs/text.yaml --data reviews.csv --text-column review --label-column stars
//! ddcl-train --config configs/image.yaml --data photos/ --out runs/photos --seed 1
//! ```
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarMap;
use clap::Parser;
use ddcl_readout::data::{self, ClassIds, Labelled};
use ddcl_readout::{
    Encode, EpochRecord, Error, ImageEncoder, ModelKind, ModelSource, Result, RunConfig,
    TextEncoder, Trainable, Trainer, Weights, ENCODER,
};
use image::DynamicImage;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

/// Trains a DDCL readout with a linear classification head (and, as the config says, the
/// encoder's top layers) on labelled data, logs each epoch to stderr, writes the checkpoint
/// after every epoch and prints its path on stdout.
///
/// The classes are the distinct labels of the data, sorted (class 0 is the first name); their
/// number must equal the config's `classes`.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Run configuration (YAML, see configs/text.yaml and configs/image.yaml): model, readout,
    /// classes and training settings.
    #[arg(long)]
    config: PathBuf,
    /// Labelled data. Text models: a CSV file with a header row, a JSON Lines file (.jsonl or
    /// .json, one object per line), or a folder with one sub-folder of text files per class.
    /// Image models: a folder with one sub-folder of images (PNG, JPEG) per class.
    #[arg(long)]
    data: PathBuf,
    /// CSV column (or JSON Lines field) holding the text.
    #[arg(long, default_value = "text")]
    text_column: String,
    /// CSV column (or JSON Lines field) holding the label.
    #[arg(long, default_value = "label")]
    label_column: String,
    /// Output folder: the checkpoint goes to DIR/checkpoint.safetensors and the JSON Lines step
    /// log to DIR/steps.jsonl, in place of the config's train.checkpoint and train.log.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Seed of the run, in place of the config's train.seed: initialisation, k-means++ and the
    /// order of the examples in each epoch.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run(Args::parse()) {
        Ok(checkpoint) => {
            println!("{}", checkpoint.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ddcl-train: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Trains as `args` say; returns the checkpoint's path.
fn run(args: Args) -> Result<PathBuf> {
    let mut cfg = RunConfig::from_yaml_file(&args.config)?;
    if let Some(dir) = &args.out {
        cfg.train.checkpoint = Some(dir.join("checkpoint.safetensors"));
        cfg.train.log = Some(dir.join("steps.jsonl"));
    }
    if let Some(seed) = args.seed {
        cfg.train.seed = seed;
    }
    let checkpoint = cfg.train.checkpoint.clone().ok_or_else(|| Error::Config {
        key: "train.checkpoint".into(),
        message: "no checkpoint path: set it in the config or give --out DIR".into(),
    })?;
    let model = ModelSource::new(&cfg.model.id);
    let varmap = VarMap::new();
    let weights = if matches!(cfg.train.encoder, Trainable::Frozen | Trainable::Top(0)) {
        Weights::Frozen
    } else {
        Weights::Trainable {
            varmap: &varmap,
            prefix: ENCODER,
        }
    };
    let device = Device::Cpu;
    match cfg.model.kind {
        ModelKind::Text => {
            let set = if args.data.is_dir() {
                data::read_text_folder(&args.data)?
            } else {
                data::read_text_file(&args.data, &args.text_column, &args.label_column)?
            };
            let ids = class_ids(&cfg, &args.data, &set)?;
            let mut encoder = TextEncoder::load(&model, weights, DType::F32, &device)?;
            if let Some(n) = cfg.model.max_len {
                encoder.set_max_len(n)?;
            }
            train(encoder, cfg, varmap, set.inputs, ids)?;
        }
        ModelKind::Image => {
            let set = data::read_image_folder(&args.data)?;
            let ids = class_ids(&cfg, &args.data, &set)?;
            let encoder = ImageEncoder::load(&model, weights, DType::F32, &device)?;
            train(encoder, cfg, varmap, set.inputs, ids)?;
        }
    }
    Ok(checkpoint)
}

/// An encoder that can turn a slice of raw examples into one of its batches.
trait Batcher: Encode {
    /// A raw example.
    type Input: Clone;
    /// The batch of `inputs`.
    fn batch(&self, inputs: &[Self::Input]) -> Result<Self::Batch>;
}

impl Batcher for TextEncoder {
    type Input = String;
    fn batch(&self, inputs: &[String]) -> Result<Self::Batch> {
        self.tokenize(inputs)
    }
}

impl Batcher for ImageEncoder {
    type Input = DynamicImage;
    fn batch(&self, inputs: &[DynamicImage]) -> Result<Self::Batch> {
        self.pixels(inputs)
    }
}

/// The class id of each example of `set` (read from `path`), after logging the classes; their
/// number must be the config's `classes`.
fn class_ids<T>(cfg: &RunConfig, path: &Path, set: &Labelled<T>) -> Result<Vec<usize>> {
    let ClassIds { classes, ids } = data::class_ids(path, &set.labels)?;
    if classes.len() != cfg.classes {
        return Err(Error::Data {
            path: path.to_path_buf(),
            line: None,
            message: format!(
                "{} classes ({}), but the config says `classes: {}`",
                classes.len(),
                classes.join(", "),
                cfg.classes
            ),
        });
    }
    let names: Vec<String> = classes
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{i} = {c}"))
        .collect();
    eprintln!("{} examples, classes: {}", set.len(), names.join(", "));
    Ok(ids)
}

/// Trains `encoder` with a readout and head on `inputs` and their class `ids` for the
/// configured epochs, the examples in a new seeded order each epoch.
fn train<E: Batcher>(
    encoder: E,
    cfg: RunConfig,
    varmap: VarMap,
    inputs: Vec<E::Input>,
    ids: Vec<usize>,
) -> Result<()> {
    let (epochs, batch_size) = (cfg.train.epochs, cfg.train.batch_size);
    let mut rng = StdRng::seed_from_u64(cfg.train.seed);
    let mut examples: Vec<(E::Input, u32)> = inputs
        .into_iter()
        .zip(ids.into_iter().map(|i| i as u32))
        .collect();
    let mut trainer = Trainer::new(encoder, cfg, varmap, DType::F32)?;
    for epoch in 1..=epochs {
        examples.shuffle(&mut rng);
        let batches = batches(&trainer.model().encoder, &examples, batch_size)?;
        if epoch == 1 {
            trainer.init_prototypes(&batches[0].0)?;
        }
        let record = trainer.train_epoch(&batches)?;
        report(&record, epochs);
    }
    Ok(())
}

/// The examples in batches of `size` (input batch, class ids).
fn batches<E: Batcher>(
    encoder: &E,
    examples: &[(E::Input, u32)],
    size: usize,
) -> Result<Vec<(E::Batch, Tensor)>> {
    examples
        .chunks(size)
        .map(|chunk| {
            let (inputs, labels): (Vec<E::Input>, Vec<u32>) = chunk.iter().cloned().unzip();
            let labels = Tensor::new(labels, &Device::Cpu)?;
            Ok((encoder.batch(&inputs)?, labels))
        })
        .collect()
}

/// One line on stderr per epoch.
fn report(r: &EpochRecord, epochs: usize) {
    let timescale = match &r.timescale {
        Some(t) if !t.holds => ", timescale condition violated",
        _ => "",
    };
    eprintln!(
        "epoch {}/{epochs}: loss {:.4}, train accuracy {:.3}, prototypes used {:.2}, \
         separation {:.4}{timescale}",
        r.epoch, r.loss, r.accuracy, r.usage.soft_utilisation, r.separation_min
    );
}
