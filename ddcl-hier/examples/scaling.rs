//! Time and peak heap of `HierCompressor::compress_document` against document length: a
//! synthetic document of real sentences repeated to 1k, 10k and 100k tokens, compressed by a
//! two-level compressor (K1 = 16, K2 = 8, mixture) on an encoder's full window.
//!
//! ```text
//! cargo run --release -p ddcl-hier --example scaling -- [MODEL] [LENGTHS...]
//! ```
//!
//! MODEL defaults to sentence-transformers/all-MiniLM-L6-v2 (from the hf-hub cache); the
//! prototypes are random (time and memory do not depend on their values).

use std::time::Instant;

use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};
use ddcl_hier::{ChunkConfig, DocumentEncoder, HierCompressor, HierConfig};
use ddcl_readout::{ModelSource, ReadoutConfig, TextEncoder, Weights};
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

const TEXT: &str = "The committee published its annual report on Tuesday. Growth slowed in the \
second half of the year, while exports held steady! Analysts asked whether the new rules would \
change investment plans? Officials said the figures would be revised next month. ";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let model = args
        .first()
        .cloned()
        .unwrap_or_else(|| "sentence-transformers/all-MiniLM-L6-v2".into());
    let lengths: Vec<usize> = match args.get(1..) {
        Some(rest) if !rest.is_empty() => {
            rest.iter().map(|s| s.parse()).collect::<Result<_, _>>()?
        }
        _ => vec![1_000, 10_000, 100_000],
    };
    let enc = TextEncoder::load(
        &ModelSource::new(&model),
        Weights::Frozen,
        DType::F32,
        &Device::Cpu,
    )?;
    let enc = DocumentEncoder::new(enc)?;
    let mut chunk = ChunkConfig::new(enc.max_window(), 0)?;
    chunk.sentence_ends = enc.token_ids(&[".", "!", "?"]);
    let cfg = HierConfig::two_level(
        chunk,
        ReadoutConfig::new(16, 1.0)?,
        ReadoutConfig::new(8, 1.0)?,
    )?;
    let varmap = VarMap::new();
    let hier = HierCompressor::new(
        enc.hidden_size(),
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )?;
    let unit = enc.ids(TEXT)?;
    let ids: Vec<u32> = unit
        .iter()
        .cycle()
        .take(*lengths.iter().max().unwrap_or(&0))
        .copied()
        .collect();
    hier.compress_document(&enc, &ids[..unit.len()])?; // warm-up
    println!(
        "model {model}, window {}, batch {}",
        cfg.chunk.window, cfg.chunk.batch
    );
    println!("tokens\tchunks\tseconds\ttokens/s\tpeak heap MiB");
    for n in lengths {
        let live = HEAP.current_usage();
        HEAP.reset_peak_usage();
        let start = Instant::now();
        let out = hier.compress_document(&enc, &ids[..n])?;
        let seconds = start.elapsed().as_secs_f64();
        let peak = (HEAP.peak_usage() - live) as f64 / (1 << 20) as f64;
        println!(
            "{n}\t{}\t{seconds:.2}\t{:.0}\t{peak:.1}",
            out.report.chunks,
            n as f64 / seconds
        );
    }
    Ok(())
}
