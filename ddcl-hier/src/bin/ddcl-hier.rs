//! Document vectors of long inputs, hierarchically: one document per input line, or one file
//! per document in a folder; one JSON object per line out, as ddcl-embed writes them.
//!
//! ```text
//! ddcl-hier --config hier.yaml --input reports.txt --output vectors.jsonl
//! ddcl-hier --config hier.yaml --input articles/ --save hier.safetensors --assignments a.json
//! ddcl-hier --weights hier.safetensors --input articles/ --output vectors.jsonl
//! ```
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use candle_core::{DType, Device};
use candle_nn::VarMap;
use clap::Parser;
use ddcl_hier::{fit_frozen, Compressed, DocumentEncoder, FitConfig, HierCompressor, HierConfig};
use ddcl_readout::{AtomicFile, Error as ReadoutError, ModelSource, TextEncoder, Weights};

const DEFAULT_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

/// Embeds long documents with stacked DDCL readouts: each document's tokens are cut into
/// chunks of the encoder's window, each chunk read out by level 1, the chunk summaries by
/// level 2 (and so on). Writes one JSON object per document: {"line": n, "text": ...,
/// "vector": [...]} for line input, {"file": ..., "vector": [...]} for a folder. Output files
/// appear only when every document is embedded.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The compressor's settings (YAML: chunk and levels). Without --weights, every level is
    /// fitted without labels on the input documents (k-means++, automatic temperature, L_SQ
    /// steps), seeded by --seed.
    #[arg(long)]
    config: Option<PathBuf>,
    /// A compressor written by --save (settings and prototypes); --config is then not needed.
    #[arg(long)]
    weights: Option<PathBuf>,
    /// Write the compressor (settings with the fitted temperatures, and prototypes) here.
    #[arg(long)]
    save: Option<PathBuf>,
    /// Hub repo id (resolved through the local hf-hub cache; fill it with scripts/setup.sh) or
    /// a local model directory.
    #[arg(long, default_value = DEFAULT_MODEL)]
    model: String,
    /// One document per line of this file, or one document per file of this folder (files in
    /// name order); stdin when absent.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output file, replaced only on success (not the input); stdout when absent.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Also write each document's report (sizes, compression ratio, per level: loss terms,
    /// identity residual, usage, which input went to which prototype) as a JSON array here.
    #[arg(long)]
    assignments: Option<PathBuf>,
    /// Tokens ending a sentence, comma-separated (e.g. ".,!,?"): chunks end after the last of
    /// them in their window. Replaces the config's chunk.sentence_ends.
    #[arg(long, value_delimiter = ',')]
    sentence_ends: Vec<String>,
    /// Seed of the label-free fit.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// AdamW steps on L_SQ per level in the label-free fit.
    #[arg(long, default_value_t = FitConfig::default().steps)]
    fit_steps: usize,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ddcl-hier: {e}");
            ExitCode::FAILURE
        }
    }
}

type Result<T> = ddcl_hier::Result<T>;

/// Where each document came from: a line number or a file.
enum Source {
    Line(usize, String),
    File(PathBuf),
}

fn run(args: Args) -> Result<()> {
    for out in [&args.output, &args.assignments, &args.save]
        .into_iter()
        .flatten()
    {
        if let Some(input) = &args.input {
            if same_file(input, out) {
                return Err(config(
                    "--output",
                    format!("{} is the --input: give another file", out.display()),
                ));
            }
        }
    }
    let device = Device::Cpu;
    let model = ModelSource::new(&args.model);
    let encoder = TextEncoder::load(&model, Weights::Frozen, DType::F32, &device)?;
    let enc = DocumentEncoder::new(encoder)?;
    let (sources, texts) = read_documents(args.input.as_deref())?;
    let documents: Vec<Vec<u32>> = texts.iter().map(|t| enc.ids(t)).collect::<Result<_>>()?;
    let docs: Vec<&[u32]> = documents.iter().map(Vec::as_slice).collect();
    let (hier, varmap) = match (&args.weights, &args.config) {
        (Some(path), _) => HierCompressor::load(path, enc.hidden_size(), &device)?,
        (None, Some(path)) => {
            let mut cfg = HierConfig::from_yaml_file(path)?;
            if !args.sentence_ends.is_empty() {
                let tokens: Vec<&str> = args.sentence_ends.iter().map(String::as_str).collect();
                cfg.chunk.sentence_ends = enc.token_ids(&tokens);
            }
            if docs.is_empty() {
                return Err(config("--input", "no documents to fit the compressor on"));
            }
            let fit = FitConfig {
                steps: args.fit_steps,
                ..Default::default()
            };
            let varmap = VarMap::new();
            let hier = fit_frozen(&enc, &docs, &cfg, &fit, &varmap, args.seed)?;
            (hier, varmap)
        }
        (None, None) => return Err(config("--config", "give --config (to fit) or --weights")),
    };
    let compressed = if docs.is_empty() {
        Vec::new()
    } else {
        hier.compress_documents(&enc, &docs)?
    };
    if let Some(path) = &args.save {
        hier.save(path, &varmap)?;
    }
    if let Some(path) = &args.assignments {
        let reports: Vec<_> = sources
            .iter()
            .zip(&compressed)
            .map(|(s, c)| {
                let mut r = serde_json::to_value(&c.report).unwrap_or_default();
                r[source_key(s)] = source_value(s);
                r
            })
            .collect();
        let mut out = AtomicFile::create(path)?;
        serde_json::to_writer(&mut out, &reports).map_err(|e| json(path, e))?;
        out.commit()?;
    }
    let write = |out: &mut dyn Write, path: &Path| write_vectors(&sources, &compressed, out, path);
    match &args.output {
        Some(path) => {
            let mut out = AtomicFile::create(path)?;
            write(&mut out, path)?;
            Ok(out.commit()?)
        }
        None => write(
            &mut BufWriter::new(std::io::stdout().lock()),
            Path::new("<stdout>"),
        ),
    }
}

/// The documents of `input`: its lines, or its files in name order; stdin's lines when absent.
fn read_documents(input: Option<&Path>) -> Result<(Vec<Source>, Vec<String>)> {
    let lines = |reader: &mut dyn BufRead, name: &Path| -> Result<(Vec<Source>, Vec<String>)> {
        let lines: Vec<String> = reader
            .lines()
            .collect::<std::io::Result<_>>()
            .map_err(|e| io(name, e))?;
        let sources = lines
            .iter()
            .enumerate()
            .map(|(i, l)| Source::Line(i + 1, l.clone()))
            .collect();
        Ok((sources, lines))
    };
    match input {
        None => lines(&mut std::io::stdin().lock(), Path::new("<stdin>")),
        Some(dir) if dir.is_dir() => {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map_err(|e| io(dir, e))?
                .map(|e| e.map(|e| e.path()).map_err(|e| io(dir, e)))
                .collect::<Result<Vec<_>>>()?
                .into_iter()
                .filter(|p| p.is_file())
                .collect();
            files.sort();
            let texts = files
                .iter()
                .map(|p| std::fs::read_to_string(p).map_err(|e| io(p, e)))
                .collect::<Result<_>>()?;
            Ok((files.into_iter().map(Source::File).collect(), texts))
        }
        Some(path) => {
            let file = std::fs::File::open(path).map_err(|e| io(path, e))?;
            lines(&mut std::io::BufReader::new(file), path)
        }
    }
}

fn source_key(s: &Source) -> &'static str {
    match s {
        Source::Line(..) => "line",
        Source::File(_) => "file",
    }
}

fn source_value(s: &Source) -> serde_json::Value {
    match s {
        Source::Line(n, _) => (*n).into(),
        Source::File(p) => p.display().to_string().into(),
    }
}

/// One JSON object per document, in input order, to `out` (named `name`).
fn write_vectors(
    sources: &[Source],
    compressed: &[Compressed],
    out: &mut (impl Write + ?Sized),
    name: &Path,
) -> Result<()> {
    for (source, c) in sources.iter().zip(compressed) {
        let vector = c.vector.to_vec1::<f32>()?;
        let record = match source {
            Source::Line(n, text) => serde_json::json!({"line": n, "text": text, "vector": vector}),
            Source::File(p) => {
                serde_json::json!({"file": p.display().to_string(), "vector": vector})
            }
        };
        writeln!(out, "{record}").map_err(|e| io(name, e))?;
    }
    out.flush().map_err(|e| io(name, e))
}

/// Whether `a` and `b` name the same existing file.
fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn io(path: &Path, source: std::io::Error) -> ddcl_hier::Error {
    ReadoutError::Io {
        path: path.to_path_buf(),
        source,
    }
    .into()
}

fn json(path: &Path, e: serde_json::Error) -> ddcl_hier::Error {
    ReadoutError::Json {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
    .into()
}

fn config(key: &str, message: impl std::fmt::Display) -> ddcl_hier::Error {
    ddcl_readout::check::config_error(key, message).into()
}
