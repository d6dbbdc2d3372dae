//! Sentence embeddings as JSON Lines: one sentence per input line, one object per output line.
//!
//! ```text
//! echo "A man is eating food." | ddcl-embed
//! ddcl-embed --pooling cls,max --input sentences.txt --output vectors.jsonl
//! ddcl-embed --pooling mixture,mean --checkpoint runs/text/checkpoint.safetensors
//! ```
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use candle_core::{DType, Device};
use candle_nn::VarMap;
use clap::Parser;
use ddcl_readout::{
    interpret, readout_from_checkpoint, sentence_transformers_pooling, AtomicFile, Embedder, Error,
    ModelSource, Pooling, Result, RunConfig, TextEncoder, Weights, ENCODER,
};

const DEFAULT_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Embeds sentences (one per line, from a file or stdin) and writes one JSON object per line:
/// {"line": n, "text": ..., "vector": [...]}. An output file appears only when every sentence
/// is embedded: a failed run leaves an existing one as it was.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Hub repo id (resolved through the local hf-hub cache; fill it with scripts/setup.sh) or a
    /// local model directory. Default: the model the --checkpoint was trained on, else
    /// sentence-transformers/all-MiniLM-L6-v2.
    #[arg(long)]
    model: Option<String>,
    /// Pooling modes, comma-separated, concatenated in order: cls, lasttoken, max, mean,
    /// mean_sqrt_len_tokens, weightedmean, occupancy, mixture, slots, residual. Default: the
    /// model's own 1_Pooling/config.json (mean for MiniLM), else mean. DDCL modes
    /// (occupancy, mixture, slots, residual) need --checkpoint.
    #[arg(long, value_delimiter = ',')]
    pooling: Vec<Pooling>,
    /// A ddcl training checkpoint (as ddcl-train writes): its readout (prototypes,
    /// temperature) serves DDCL modes, and the encoder weights it stores (the trained layers)
    /// replace the model's.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Input file with one sentence per line; stdin when absent.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output file, replaced only on success (it must not be the input file); stdout when
    /// absent.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Truncate sentences at this many tokens (default: the checkpoint's model.max_len, else
    /// the model's own limit).
    #[arg(long)]
    max_len: Option<usize>,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// L2-normalise each vector (as sentence-transformers' Normalize module).
    #[arg(long)]
    normalize: bool,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ddcl-embed: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<()> {
    if let (Some(input), Some(output)) = (&args.input, &args.output) {
        if same_file(input, output) {
            return Err(Error::Config {
                key: "--output".into(),
                message: format!(
                    "{} is the --input file: give another output file",
                    output.display()
                ),
            });
        }
    }
    let device = Device::Cpu;
    let trained = match &args.checkpoint {
        Some(path) => Some(Trained::read(path, &device)?),
        None => None,
    };
    let id = match (&args.model, &trained) {
        (Some(id), _) => id.clone(),
        (None, Some(t)) => t.config.model.id.clone(),
        (None, None) => DEFAULT_MODEL.to_string(),
    };
    let model = ModelSource::new(&id);
    let weights = match &trained {
        Some(t) => Weights::Trainable {
            varmap: &t.encoder,
            prefix: ENCODER,
        },
        None => Weights::Frozen,
    };
    let mut encoder = TextEncoder::load(&model, weights, DType::F32, &device)?;
    if let Some(n) = args
        .max_len
        .or(trained.as_ref().and_then(|t| t.config.model.max_len))
    {
        encoder.set_max_len(n)?;
    }
    let pooling = if !args.pooling.is_empty() {
        args.pooling
    } else if let Some(path) = model.optional_file("1_Pooling/config.json") {
        sentence_transformers_pooling(&path)?
    } else {
        vec![Pooling::Mean]
    };
    let readout = match &args.checkpoint {
        Some(path) => Some(readout_from_checkpoint(path, encoder.hidden_size(), &device)?.0),
        None => None,
    };
    let embedder = Embedder::new(encoder, pooling, readout)?;

    let lines = match &args.input {
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
            read_lines(std::io::BufReader::new(file), path)?
        }
        None => read_lines(std::io::stdin().lock(), Path::new("<stdin>"))?,
    };
    let batch_size = args.batch_size.max(1);
    let write = |out: &mut dyn Write, path: &Path| {
        write_vectors(&embedder, &lines, batch_size, args.normalize, out, path)
    };
    match &args.output {
        Some(path) => {
            let mut out = AtomicFile::create(path)?;
            write(&mut out, path)?;
            out.commit()
        }
        None => write(
            &mut BufWriter::new(std::io::stdout().lock()),
            Path::new("<stdout>"),
        ),
    }
}

/// What a training checkpoint holds for embedding: the run's config and the encoder variables
/// it stores.
struct Trained {
    config: RunConfig,
    encoder: VarMap,
}

impl Trained {
    fn read(path: &Path, device: &Device) -> Result<Self> {
        let (config, encoder) = interpret::checkpoint_encoder(path, device)?;
        Ok(Self { config, encoder })
    }
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn io(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read_lines(reader: impl BufRead, name: &Path) -> Result<Vec<String>> {
    reader
        .lines()
        .collect::<std::io::Result<_>>()
        .map_err(|e| io(name, e))
}

/// Embeds `lines` in length-sorted batches and writes one JSON object per line, in input
/// order, to `out` (named `name`).
fn write_vectors(
    embedder: &Embedder,
    lines: &[String],
    batch_size: usize,
    normalize: bool,
    out: &mut (impl Write + ?Sized),
    name: &Path,
) -> Result<()> {
    if lines.is_empty() {
        return out.flush().map_err(|e| io(name, e));
    }
    let vectors = embedder
        .embed_all(lines, batch_size, normalize)?
        .to_vec2::<f32>()?;
    for (i, (text, vector)) in lines.iter().zip(vectors).enumerate() {
        let record = serde_json::json!({
            "line": i + 1,
            "text": text,
            "vector": vector,
        });
        writeln!(out, "{record}").map_err(|e| io(name, e))?;
    }
    out.flush().map_err(|e| io(name, e))
}
