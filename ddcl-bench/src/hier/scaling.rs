//! The streaming path's time and peak heap against document length: synthetic documents of
//! real text (the sampled documents' token ids one after the other, repeated when they hold
//! fewer tokens, cut to each length)
//! compressed by [`ddcl_hier::HierCompressor::compress_document`], with least-squares lines
//! and the ratios that tell a linear cost from a quadratic one.

use std::time::Instant;

use ddcl_hier::DocumentEncoder;

use crate::alloc::{heap_peak_since_reset, reset_heap_peak};
use crate::error::{Error, Result};
use crate::hier::results::{Line, ScalingFit, ScalingPoint};
use crate::hier::variant::Fitted;
use crate::progress::progress;

/// Measures `fitted`'s streaming path at each of `lengths` (content tokens, increasing) on a
/// document of `texts` concatenated; returns the points and their fit. A first, unmeasured
/// call on the shortest length warms the encoder and the allocator's pools.
pub(crate) fn scaling(
    fitted: &Fitted,
    encoder: &DocumentEncoder,
    texts: &[String],
    lengths: &[usize],
) -> Result<(Vec<ScalingPoint>, ScalingFit)> {
    let longest = lengths.last().copied().unwrap_or(0);
    let mut ids: Vec<u32> = Vec::with_capacity(longest);
    // the documents one after the other, again from the first when they hold fewer tokens
    while ids.len() < longest {
        let before = ids.len();
        for t in texts {
            if ids.len() >= longest {
                break;
            }
            ids.extend(encoder.ids(t)?);
        }
        if ids.len() == before {
            return Err(Error::Config(
                "scaling.lengths: the documents hold no token".into(),
            ));
        }
    }
    let hier = fitted.compressor();
    hier.compress_document(encoder, &ids[..lengths[0]])?;
    let pb = progress(lengths.len(), "hier scaling");
    let mut points = Vec::with_capacity(lengths.len());
    for &n in lengths {
        let doc = &ids[..n];
        let base = reset_heap_peak();
        let clock = Instant::now();
        let out = hier.compress_document(encoder, doc)?;
        let seconds = clock.elapsed().as_secs_f64();
        let peak = heap_peak_since_reset().map(|p| p.saturating_sub(base));
        points.push(ScalingPoint {
            tokens: n,
            chunks: out.report.chunks,
            seconds,
            peak_heap_bytes: peak,
            input_bytes: std::mem::size_of_val(doc),
        });
        pb.inc(1);
    }
    pb.finish_and_clear();
    let chunk = &hier.config().chunk;
    let fit = fit(&points, chunk.batch * chunk.window);
    Ok((points, fit))
}

/// The lines and ratios of `points`, the memory's beyond `buffer_tokens`.
fn fit(points: &[ScalingPoint], buffer_tokens: usize) -> ScalingFit {
    let time: Vec<(f64, f64)> = points
        .iter()
        .map(|p| (p.tokens as f64, p.seconds))
        .collect();
    let beyond: Vec<&ScalingPoint> = points
        .iter()
        .filter(|p| p.tokens >= buffer_tokens)
        .collect();
    let memory: Option<Vec<(f64, f64)>> = beyond
        .iter()
        .map(|p| Some((p.tokens as f64, p.peak_heap_bytes? as f64)))
        .collect();
    let (first, last) = (beyond.first(), beyond.last());
    let per_token = |p: &ScalingPoint| p.seconds / p.tokens as f64;
    ScalingFit {
        buffer_tokens,
        time: Line::fit(&time),
        memory: memory.as_deref().and_then(Line::fit),
        time_per_token_ratio: first
            .zip(last)
            .filter(|(a, b)| a.tokens < b.tokens)
            .map(|(a, b)| per_token(b) / per_token(a)),
        memory_ratio: first
            .zip(last)
            .filter(|(a, b)| a.tokens < b.tokens)
            .and_then(|(a, b)| Some(b.peak_heap_bytes? as f64 / a.peak_heap_bytes? as f64)),
    }
}
