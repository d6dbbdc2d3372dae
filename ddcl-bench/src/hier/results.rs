//! The hierarchical experiment's rows, as written to `results.json` (the `hier` section).

use serde::Serialize;

use crate::hier::config::HierConfig;
use crate::probe::ProbeRecord;
use crate::stats::{Interval, Paired};

/// What the hierarchical experiment measured, with its configuration as run.
#[derive(Debug, Serialize)]
pub struct HierResults {
    /// The configuration, as run (after `--full`, `--seed`).
    pub config: HierConfig,
    /// The documents as chunked.
    pub documents: DocumentStats,
    /// Seconds spent encoding the chunks (0 when every chunk came from the cache).
    pub encode_seconds: f64,
    /// Whether the chunk token states came from the cache.
    pub cached: bool,
    /// The method every other is compared with (the mean of chunk mean-poolings).
    pub baseline: String,
    /// One row per method: the baselines, then the variants.
    pub rows: Vec<HierRow>,
    /// The variant whose streaming path was measured (the first, fitted on the first seed's
    /// training documents).
    pub scaling_method: String,
    /// The streaming path's cost at each length of `scaling.lengths`.
    pub scaling: Vec<ScalingPoint>,
    /// Least-squares lines through the scaling points (time and peak heap against tokens).
    pub scaling_fit: ScalingFit,
}

/// The documents' lengths in content tokens (no truncation) and their chunks.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentStats {
    /// Documents.
    pub documents: usize,
    /// Chunks over all documents.
    pub chunks: usize,
    /// Mean content tokens per document.
    pub mean_tokens: f64,
    /// Median content tokens per document.
    pub median_tokens: usize,
    /// Longest document, in content tokens.
    pub max_tokens: usize,
    /// Share of the documents longer than one window (truncation loses text of these).
    pub longer_than_window: f64,
    /// Most chunks of a document.
    pub max_chunks: usize,
}

/// One method's linear-probe accuracy over the seeds and its speed.
#[derive(Debug, Clone, Serialize)]
pub struct HierRow {
    /// The method: `truncate-mean`, `chunk-mean`, `two-level-mean` or a variant's name.
    pub method: String,
    /// What it computes, in a few words.
    pub description: String,
    /// Features per document.
    pub width: usize,
    /// Test accuracy per seed.
    pub accuracy: Vec<f64>,
    /// Every seed's test predictions pooled: accuracy, n, standard error, Wilson 95% interval.
    pub pooled: Interval,
    /// The paired comparison with the baseline on the same splits (none for the baseline).
    pub vs_baseline: Option<Paired>,
    /// Each seed's test predictions, in the order of that split's test documents.
    pub predictions: Vec<Vec<usize>>,
    /// Each seed's probe: the `C` it used, the cross-validation that chose it, convergence.
    pub probe: Vec<ProbeRecord>,
    /// Seconds of the label-free prototype fit, per seed (0 for the mean baselines).
    pub fit_seconds: Vec<f64>,
    /// Documents per second from the cached chunk token states (the readout levels alone).
    pub readout_docs_per_s: f64,
    /// Documents per second end to end (tokenizer, encoder, levels) on `speed_docs` test
    /// documents: truncation encodes one chunk per document, every other method all of them.
    pub docs_per_s: f64,
}

/// The streaming path on one synthetic document.
#[derive(Debug, Clone, Serialize)]
pub struct ScalingPoint {
    /// Content tokens of the document.
    pub tokens: usize,
    /// Chunks it was cut into.
    pub chunks: usize,
    /// Wall-clock seconds of the compression (tokenized ids in, document vector out).
    pub seconds: f64,
    /// Peak heap above what was live before the call, bytes (the counting allocator).
    pub peak_heap_bytes: Option<usize>,
    /// Bytes of the document's own token ids (the input, held by the caller).
    pub input_bytes: usize,
}

/// Least-squares lines `y = intercept + slope * tokens` through the scaling points, and the
/// ratios that tell a linear cost from a quadratic one.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScalingFit {
    /// Content tokens of one full encoder buffer (`batch_size` chunks of `chunk.window`):
    /// below it the encoder's batch is not full, so the peak heap still grows.
    pub buffer_tokens: usize,
    /// Seconds against tokens, over every point.
    pub time: Option<Line>,
    /// Peak heap bytes against tokens, over the points of at least `buffer_tokens`.
    pub memory: Option<Line>,
    /// Seconds per token at the longest length over seconds per token at the shortest of at
    /// least `buffer_tokens` (about 1 for a linear cost; the ratio of the lengths for a
    /// quadratic one).
    pub time_per_token_ratio: Option<f64>,
    /// Peak heap at the longest length over the peak at the shortest of at least
    /// `buffer_tokens` (about 1 when memory is flat beyond the buffer).
    pub memory_ratio: Option<f64>,
}

/// A fitted line with its coefficient of determination.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Line {
    /// Value at zero tokens.
    pub intercept: f64,
    /// Increase per token.
    pub slope: f64,
    /// Coefficient of determination R².
    pub r2: f64,
}

impl Line {
    /// The least-squares line through `points` (x, y); `None` for fewer than two distinct x.
    /// Hand-written: two sums and a quotient, not worth a regression crate.
    ///
    /// ```
    /// let l = ddcl_bench::Line::fit(&[(0.0, 1.0), (1.0, 3.0), (2.0, 5.0)]).unwrap();
    /// assert!((l.slope - 2.0).abs() < 1e-12 && (l.intercept - 1.0).abs() < 1e-12);
    /// assert!((l.r2 - 1.0).abs() < 1e-12);
    /// assert!(ddcl_bench::Line::fit(&[(1.0, 2.0), (1.0, 3.0)]).is_none());
    /// ```
    pub fn fit(points: &[(f64, f64)]) -> Option<Line> {
        let n = points.len() as f64;
        let (mx, my) = points
            .iter()
            .fold((0.0, 0.0), |(a, b), p| (a + p.0 / n, b + p.1 / n));
        let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let syy: f64 = points.iter().map(|p| (p.1 - my).powi(2)).sum();
        if points.len() < 2 || sxx <= 0.0 {
            return None;
        }
        let slope = sxy / sxx;
        let r2 = if syy > 0.0 {
            sxy * sxy / (sxx * syy)
        } else {
            1.0
        };
        Some(Line {
            intercept: my - slope * mx,
            slope,
            r2,
        })
    }
}
