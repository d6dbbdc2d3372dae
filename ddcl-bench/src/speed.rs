//! Timing each pooling method on one batch of token states: readout alone and encoder +
//! readout.

use std::time::Instant;

use crate::alloc::{heap_peak_since_reset, reset_heap_peak};
use crate::config::SpeedConfig;
use crate::error::Result;
use crate::methods::{FitConfig, Method};
use crate::progress::progress;
use crate::results::SpeedRow;
use crate::states::States;

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(0.0)
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
        let base = reset_heap_peak();
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
            readout_heap_mib: heap_peak_since_reset()
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
