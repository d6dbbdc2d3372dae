//! The codebook experiment's training curves as plot panels: utilisation and hard-code MSE on
//! the held-out batch, one series per method and codebook size (mean over the seeds).

use crate::codebook::results::{CodebookResults, CodebookRow};
use crate::codebook::table::groups;

/// One line chart: a title, axis names and named series of (x, y) points.
pub(crate) struct Panel {
    /// Caption.
    pub title: &'static str,
    /// The x axis's name.
    pub x: &'static str,
    /// The y axis's name.
    pub y: &'static str,
    /// Named series of points.
    pub series: Vec<(String, Vec<(f64, f64)>)>,
}

/// The two panels of `codebook.svg`: utilisation, then MSE, over training steps.
pub(crate) fn panels(c: &CodebookResults) -> [Panel; 2] {
    let series = |value: fn(&CodebookRow, usize) -> f64| -> Vec<(String, Vec<(f64, f64)>)> {
        groups(c)
            .into_iter()
            .map(|g| {
                let first = g[0];
                let points: Vec<(f64, f64)> = first
                    .curve
                    .step
                    .iter()
                    .enumerate()
                    .map(|(i, &step)| {
                        let mean = g.iter().map(|r| value(r, i)).sum::<f64>() / g.len() as f64;
                        (step as f64, mean)
                    })
                    .collect();
                (format!("{} K={}", first.method, first.codes), points)
            })
            .collect()
    };
    [
        Panel {
            title: "codebook utilisation on the held-out batch",
            x: "training step",
            y: "share of codes used",
            series: series(|r, i| r.curve.utilisation.get(i).copied().unwrap_or(f64::NAN)),
        },
        Panel {
            title: "hard-code reconstruction MSE on the held-out batch",
            x: "training step",
            y: "MSE per pixel",
            series: series(|r, i| r.curve.mse.get(i).copied().unwrap_or(f64::NAN)),
        },
    ]
}
