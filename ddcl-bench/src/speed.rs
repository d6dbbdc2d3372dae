//! Speed of each pooling method on the real encoders: readout alone and encoder + readout.

use std::time::Instant;

use serde::Serialize;

use crate::features::progress;
use crate::{FitConfig, Method, Result, SpeedConfig, States};

/// Timing of one method on one dataset's batch (medians over the repeats).
#[derive(Debug, Clone, Serialize)]
pub struct SpeedRow {
    /// The dataset whose examples were timed.
    pub dataset: String,
    /// The method.
    pub method: String,
    /// Examples (sequences or images) per batch.
    pub batch: usize,
    /// Real tokens per batch.
    pub tokens: usize,
    /// Readout alone, ms per batch.
    pub readout_ms: f64,
    /// Readout alone, real tokens per second.
    pub readout_tokens_per_s: f64,
    /// Encoder and readout, ms per batch.
    pub total_ms: f64,
    /// Encoder and readout, real tokens per second.
    pub total_tokens_per_s: f64,
    /// Encoder and readout, examples (sequences or images) per second.
    pub total_examples_per_s: f64,
    /// Readout time relative to mean pooling's.
    pub readout_vs_mean: f64,
    /// Heap the readout needs on top of what was live before it (peak over its runs), MiB;
    /// measured by [`crate::CountingAlloc`] where it is the global allocator.
    pub readout_heap_mib: Option<f64>,
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
}

/// The process's peak resident set so far, MiB (Linux `VmHWM`).
pub(crate) fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Times every method on the token states of one batch of `n` examples of `dataset`, which
/// `encode` computes (the encoder's part of the time).
pub fn speed(
    dataset: &str,
    n: usize,
    encode: &mut dyn FnMut() -> Result<States>,
    cfg: &SpeedConfig,
    methods: &[Method],
    fit: &FitConfig,
    seed: u64,
) -> Result<Vec<SpeedRow>> {
    let repeats = cfg.repeats.max(1);
    let mut enc_ms = Vec::new();
    let mut states = None;
    for _ in 0..repeats {
        let t = Instant::now();
        states = Some(encode()?);
        enc_ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let Some(states) = states else {
        return Ok(Vec::new());
    };
    let tokens = states.tokens()?;
    let encoder = median(enc_ms);
    let labels: Vec<usize> = (0..n).map(|i| i % 2).collect();
    let quick = FitConfig { steps: 1, ..*fit };
    let mut rows = Vec::new();
    let pb = progress(methods.len(), &format!("speed {dataset}"));
    for m in methods {
        let fitted = m.fit(&states, &labels, 2, &quick, seed)?;
        let base = crate::reset_heap_peak();
        fitted.apply(&states)?; // warm-up
        let mut ms = Vec::new();
        for _ in 0..repeats * 5 {
            let t = Instant::now();
            fitted.apply(&states)?;
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        let readout = median(ms);
        let total = encoder + readout;
        rows.push(SpeedRow {
            dataset: dataset.to_string(),
            method: m.to_string(),
            batch: n,
            tokens,
            readout_ms: readout,
            readout_tokens_per_s: tokens as f64 / (readout / 1e3),
            total_ms: total,
            total_tokens_per_s: tokens as f64 / (total / 1e3),
            total_examples_per_s: n as f64 / (total / 1e3),
            readout_vs_mean: 0.0,
            readout_heap_mib: crate::heap_peak_since_reset()
                .map(|p| p.saturating_sub(base) as f64 / (1024.0 * 1024.0)),
        });
        pb.inc(1);
    }
    pb.finish_and_clear();
    let mean = rows
        .iter()
        .find(|r| r.method == "mean")
        .map(|r| r.readout_ms);
    for r in &mut rows {
        r.readout_vs_mean = mean.map_or(f64::NAN, |m| r.readout_ms / m);
    }
    Ok(rows)
}
