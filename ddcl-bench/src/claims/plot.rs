//! The timescale experiment's curves with bands: one SVG per setting and start
//! (`timescale-<setting>-<start>.svg`), four panels (relative separation and effective rank,
//! for each way eps is reached), a line per eps (mean over seeds) over a band from the
//! smallest to the largest seed.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::results::{ClaimsResults, TimescalePoint, TimescaleRun};
use super::timescale::{AXES, SETTINGS, STARTS};
use crate::error::{Error, Result};

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("plot: {e}"))
}

/// What a panel plots of each point.
type Value = fn(&TimescalePoint) -> f64;

/// (step, mean, min, max) over the runs, point by point.
type Band = Vec<(f64, f64, f64, f64)>;

fn band(runs: &[&TimescaleRun], value: Value) -> Band {
    let n = runs.iter().map(|r| r.curve.len()).min().unwrap_or(0);
    (0..n)
        .map(|i| {
            let v: Vec<f64> = runs.iter().map(|r| value(&r.curve[i])).collect();
            let mean = v.iter().sum::<f64>() / v.len() as f64;
            let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            (runs[0].curve[i].step as f64, mean, lo, hi)
        })
        .collect()
}

/// Writes the timescale figures into `dir` (nothing without timescale runs).
pub fn plots(c: &ClaimsResults, dir: &Path) -> Result<()> {
    for setting in SETTINGS {
        for start in STARTS {
            let runs: Vec<&TimescaleRun> = c
                .timescale
                .iter()
                .filter(|r| r.setting == setting && r.start == start)
                .collect();
            if runs.is_empty() {
                continue;
            }
            let name = format!("timescale-{setting}-{}.svg", start.replace('+', "p"));
            let path = dir.join(name);
            let root = SVGBackend::new(&path, (1400, 1000)).into_drawing_area();
            root.fill(&WHITE).map_err(plot_err)?;
            let areas = root.split_evenly((2, 2));
            let panels: [(&str, Value); 2] = [
                ("separation / token RMS", |p| p.separation_mean),
                ("effective rank of token states", |p| p.effective_rank),
            ];
            for (row, (label, value)) in panels.iter().enumerate() {
                for (col, axis) in AXES.iter().enumerate() {
                    let series: Vec<(String, Band)> = c
                        .config
                        .timescale
                        .eps
                        .iter()
                        .map(|&eps| {
                            let rs: Vec<&TimescaleRun> = runs
                                .iter()
                                .copied()
                                .filter(|r| r.axis == *axis && r.eps == eps)
                                .collect();
                            (format!("eps = {eps}"), band(&rs, *value))
                        })
                        .collect();
                    let title = format!("{setting}, {start} start, {axis}: {label}");
                    panel(&areas[row * 2 + col], &title, label, &series)?;
                }
            }
            root.present().map_err(plot_err)?;
        }
    }
    Ok(())
}

fn panel(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    y: &str,
    series: &[(String, Band)],
) -> Result<()> {
    let pts: Vec<&(f64, f64, f64, f64)> = series.iter().flat_map(|(_, b)| b.iter()).collect();
    let finite = |v: f64| v.is_finite();
    let x1 = pts.iter().map(|p| p.0).fold(1.0, f64::max);
    let y0 = pts
        .iter()
        .map(|p| p.2)
        .filter(|v| finite(*v))
        .fold(f64::INFINITY, f64::min);
    let y1 = pts
        .iter()
        .map(|p| p.3)
        .filter(|v| finite(*v))
        .fold(f64::NEG_INFINITY, f64::max);
    if !(y0.is_finite() && y1.is_finite()) {
        return Ok(());
    }
    let pad = ((y1 - y0) * 0.05).max(1e-6);
    let mut c = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..x1, (y0 - pad)..(y1 + pad))
        .map_err(plot_err)?;
    // steps as integers; no fine grid and light bands, so that five overlapping bands stay
    // readable (looked at rendered: at 0.2 they merged into one block)
    c.configure_mesh()
        .x_desc("step")
        .y_desc(y)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_err)?;
    for (i, (name, b)) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        let outline: Vec<(f64, f64)> = b
            .iter()
            .map(|p| (p.0, p.3))
            .chain(b.iter().rev().map(|p| (p.0, p.2)))
            .collect();
        c.draw_series(std::iter::once(Polygon::new(
            outline,
            colour.mix(0.08).filled(),
        )))
        .map_err(plot_err)?;
        c.draw_series(LineSeries::new(
            b.iter().map(|p| (p.0, p.1)),
            colour.stroke_width(2),
        ))
        .map_err(plot_err)?
        .label(name)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2)));
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)
}
