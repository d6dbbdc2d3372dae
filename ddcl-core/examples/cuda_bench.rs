//! Times the fused assignment on a CUDA device against a device-to-device copy (the memory
//! bandwidth the kernels can hope for) and against the reference graph of candle ops, all in one
//! run, and writes the numbers as JSON.
//!
//! ```text
//! cargo run --release -p ddcl-core --features cuda --example cuda_bench -- --out bench.json
//! ```
//!
//! Bandwidth of the forward counts the bytes it must move: the hidden states, prototypes and
//! mask read once and its output written once. Each time is the mean over `--iters` calls after
//! `--warmup` calls, the device synchronised before and after; `runs` repeats that and the JSON
//! keeps every run, so the spread is visible.

use std::time::Instant;

use candle_core::{DType, Device, Tensor, Var};
use clap::Parser;
use ddcl_core::{assign, AssignConfig, Backend};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 64)]
    batch: usize,
    #[arg(long, default_value_t = 512)]
    tokens: usize,
    #[arg(long, default_value_t = 768)]
    dim: usize,
    #[arg(long, default_value_t = 64)]
    prototypes: usize,
    /// f32, bf16 or f16.
    #[arg(long, default_value = "bf16")]
    dtype: String,
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    #[arg(long, default_value_t = 50)]
    iters: usize,
    /// Iterations of the reference graph (it moves (B, T, K, D) tensors).
    #[arg(long, default_value_t = 5)]
    reference_iters: usize,
    /// Repetitions of every measurement.
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// Where the JSON goes (stdout when absent).
    #[arg(long)]
    out: Option<std::path::PathBuf>,
}

/// Seconds per call of `f`, one entry per run.
fn time(
    dev: &Device,
    (warmup, iters, runs): (usize, usize, usize),
    mut f: impl FnMut() -> candle_core::Result<()>,
) -> candle_core::Result<Vec<f64>> {
    for _ in 0..warmup {
        f()?;
    }
    let mut out = Vec::with_capacity(runs);
    for _ in 0..runs {
        dev.synchronize()?;
        let start = Instant::now();
        for _ in 0..iters {
            f()?;
        }
        dev.synchronize()?;
        out.push(start.elapsed().as_secs_f64() / iters as f64);
    }
    Ok(out)
}

fn stats(v: &[f64]) -> serde_json::Value {
    let min = v.iter().copied().fold(f64::INFINITY, f64::min);
    let max = v.iter().copied().fold(0.0, f64::max);
    serde_json::json!({ "runs_s": v, "min_s": min, "max_s": max })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let dev = Device::new_cuda(0)?;
    let dtype: DType = args.dtype.parse()?;
    let (b, t, d, k) = (args.batch, args.tokens, args.dim, args.prototypes);
    let h = Tensor::randn(0f32, 1.0, (b, t, d), &dev)?.to_dtype(dtype)?;
    let p = Tensor::randn(0f32, 1.0, (k, d), &dev)?.to_dtype(dtype)?;
    let mask = Tensor::ones((b, t), dtype, &dev)?;
    let tau = d as f64 / 4.0;
    let fused = AssignConfig::new(tau)?.with_check_finite(false);
    let reference = fused.with_backend(Backend::Reference);
    let plan = (args.warmup, args.iters, args.runs);

    let copy = time(&dev, plan, || h.copy().map(drop))?;
    let forward = time(&dev, plan, || {
        assign(&h, Some(&mask), &p, &fused).map(drop).map_err(err)
    })?;
    let ref_plan = (1, args.reference_iters, args.runs);
    let forward_ref = time(&dev, ref_plan, || {
        assign(&h, Some(&mask), &p, &reference)
            .map(drop)
            .map_err(err)
    })?;
    let (hv, pv) = (Var::from_tensor(&h)?, Var::from_tensor(&p)?);
    let train = |cfg: &AssignConfig| {
        let a = assign(hv.as_tensor(), Some(&mask), pv.as_tensor(), cfg).map_err(err)?;
        let loss = (a.losses.sq + a.losses.var)?;
        loss.backward().map(drop)
    };
    let backward = time(&dev, plan, || train(&fused))?;
    let backward_ref = time(&dev, ref_plan, || train(&reference))?;

    let size = dtype.size_in_bytes() as f64;
    let h_bytes = (b * t * d) as f64 * size;
    let moved = h_bytes + ((k * d + b * t) as f64 + (b * t * (2 * k + 3) + 3) as f64) * size;
    let best = |v: &[f64]| v.iter().copied().fold(f64::INFINITY, f64::min);
    let copy_bw = 2.0 * h_bytes / best(&copy);
    let fused_bw = moved / best(&forward);
    let report = serde_json::json!({
        "shape": { "B": b, "T": t, "D": d, "K": k, "dtype": args.dtype },
        "device_copy": { "time": stats(&copy), "bytes": 2.0 * h_bytes, "bandwidth_gb_s": copy_bw / 1e9 },
        "fused_forward": {
            "time": stats(&forward),
            "bytes": moved,
            "bandwidth_gb_s": fused_bw / 1e9,
            "share_of_copy_bandwidth": fused_bw / copy_bw,
        },
        "reference_forward": { "time": stats(&forward_ref) },
        "forward_speedup_over_reference": best(&forward_ref) / best(&forward),
        "fused_forward_backward": { "time": stats(&backward) },
        "reference_forward_backward": { "time": stats(&backward_ref) },
        "forward_backward_speedup_over_reference": best(&backward_ref) / best(&backward),
        "note": "times are the mean per call of each run; ratios from the fastest run of each",
    });
    let text = serde_json::to_string_pretty(&report)?;
    match &args.out {
        Some(path) => {
            // written beside and renamed into place: a reader never sees half a file
            let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
            let mut file = tempfile::NamedTempFile::new_in(dir.unwrap_or(".".as_ref()))?;
            std::io::Write::write_all(&mut file, (text + "\n").as_bytes())?;
            file.persist(path)?;
        }
        None => println!("{text}"),
    }
    Ok(())
}

/// A ddcl error as a candle one, for the timing closures.
fn err(e: ddcl_core::Error) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}
