//! Sentence embeddings as JSON Lines: one sentence per input line, one object per output line.
//!
//! ```text
//! echo "A man is eating food." | cargo run --release -p ddcl-readout --example embed
//! cargo run --release -p ddcl-readout --example embed -- --pooling cls,max --input sentences.txt
//! cargo run --release -p ddcl-readout --example embed -- --pooling mixture,mean \
//!     --checkpoint runs/text/checkpoint.safetensors
//! ```
use std::io::{BufRead, BufWriter, Write};
use std::path::PathBuf;

use candle_core::{DType, Device};
use clap::Parser;
use ddcl_readout::{
    readout_from_checkpoint, sentence_transformers_pooling, Embedder, ModelSource, Pooling,
    TextEncoder, Weights,
};

/// Embeds sentences (one per line, from a file or stdin) and writes one JSON object per line:
/// {"line": n, "text": ..., "vector": [...]}.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Hub repo id (resolved through the local hf-hub cache; fill it with scripts/setup.sh) or a
    /// local model directory.
    #[arg(long, default_value = "sentence-transformers/all-MiniLM-L6-v2")]
    model: String,
    /// Pooling modes, comma-separated, concatenated in order: cls, lasttoken, max, mean,
    /// mean_sqrt_len_tokens, weightedmean, occupancy, mixture, slots, residual. Default: the
    /// model's own 1_Pooling/config.json (mean for MiniLM), else mean. DDCL modes
    /// (occupancy, mixture, slots, residual) need --checkpoint.
    #[arg(long, value_delimiter = ',')]
    pooling: Vec<Pooling>,
    /// A ddcl training checkpoint whose readout (prototypes, temperature) serves DDCL modes.
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Input file with one sentence per line; stdin when absent.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output file; stdout when absent.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Truncate sentences at this many tokens (default: the model's own limit).
    #[arg(long)]
    max_len: Option<usize>,
    /// Sentences per forward pass.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,
    /// L2-normalise each vector (as sentence-transformers' Normalize module).
    #[arg(long)]
    normalize: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let device = Device::Cpu;
    let model = ModelSource::new(&args.model);
    let mut encoder = TextEncoder::load(&model, Weights::Frozen, DType::F32, &device)?;
    if let Some(n) = args.max_len {
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

    let reader: Box<dyn BufRead> = match &args.input {
        Some(path) => Box::new(std::io::BufReader::new(std::fs::File::open(path)?)),
        None => Box::new(std::io::stdin().lock()),
    };
    let mut out: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(BufWriter::new(std::fs::File::create(path)?)),
        None => Box::new(BufWriter::new(std::io::stdout().lock())),
    };
    let lines: Vec<String> = reader.lines().collect::<Result<_, _>>()?;
    let batch_size = args.batch_size.max(1);
    for (b, chunk) in lines.chunks(batch_size).enumerate() {
        let vectors = embedder.embed(chunk, args.normalize)?.to_vec2::<f32>()?;
        for (i, (text, vector)) in chunk.iter().zip(vectors).enumerate() {
            let record = serde_json::json!({
                "line": b * batch_size + i + 1,
                "text": text,
                "vector": vector,
            });
            writeln!(out, "{record}")?;
        }
    }
    out.flush()?;
    Ok(())
}
