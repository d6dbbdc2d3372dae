//! The streaming path's cost against document length as plot panels (`hier.svg`): seconds,
//! then peak heap, each measured and with its least-squares line.

use crate::codebook::curves::Panel;
use crate::hier::results::{HierResults, Line};

/// The two panels of `hier.svg`: seconds against tokens, then peak heap (MiB) against tokens.
pub(crate) fn panels(h: &HierResults) -> [Panel; 2] {
    let tokens = |f: &dyn Fn(&crate::hier::results::ScalingPoint) -> Option<f64>| {
        h.scaling
            .iter()
            .filter_map(|p| Some((p.tokens as f64, f(p)?)))
            .collect::<Vec<_>>()
    };
    let line = |l: Option<Line>, scale: f64, from: usize| -> Vec<(f64, f64)> {
        let Some(l) = l else { return Vec::new() };
        h.scaling
            .iter()
            .filter(|p| p.tokens >= from)
            .map(|p| {
                let x = p.tokens as f64;
                (x, (l.intercept + l.slope * x) / scale)
            })
            .collect()
    };
    const MIB: f64 = 1024.0 * 1024.0;
    let fit = &h.scaling_fit;
    [
        Panel {
            title: "streaming compression: seconds against document length",
            x: "content tokens",
            y: "seconds",
            series: vec![
                ("measured".into(), tokens(&|p| Some(p.seconds))),
                ("least-squares line".into(), line(fit.time, 1.0, 0)),
            ],
        },
        Panel {
            title: "streaming compression: peak heap against document length",
            x: "content tokens",
            y: "peak heap of the call, MiB",
            series: vec![
                (
                    "measured".into(),
                    tokens(&|p| p.peak_heap_bytes.map(|b| b as f64 / MIB)),
                ),
                (
                    "least-squares line (beyond the encoder buffer)".into(),
                    line(fit.memory, MIB, fit.buffer_tokens),
                ),
            ],
        },
    ]
}
