//! The human-readable report (Markdown) and the SVG plots of a run.

use std::fmt::Write;
use std::path::Path;

use plotters::prelude::*;

use crate::error::{Error, Result};
use crate::results::Results;

/// The Markdown report: every table of the run.
pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# ddcl-bench report\n");
    let _ = writeln!(
        s,
        "Schema `{}`, git `{}`, {} ({} threads, {}), {:.0} s, peak RSS {} MiB. Seeds {:?}, train share {}.\n",
        r.schema,
        r.git_revision.as_deref().unwrap_or("unknown"),
        r.machine.cpu.as_deref().unwrap_or(r.machine.arch),
        r.machine.cpus,
        r.machine.os,
        r.seconds,
        mib(r.peak_rss_mib),
        r.config.seeds,
        r.config.train_share
    );
    let _ = writeln!(s, "## Datasets\n\n| dataset | examples | classes | train | test | tokens/example |\n|---|---|---|---|---|---|");
    for d in &r.datasets {
        let tokens = d
            .tokens_per_example
            .map_or("—".into(), |t| format!("{t:.1}"));
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} |",
            d.name,
            d.examples,
            d.classes.len(),
            d.train,
            d.test,
            tokens
        );
    }
    if !r.probe.is_empty() {
        let datasets: Vec<&str> = unique(r.probe.iter().map(|p| p.dataset.as_str()));
        let methods: Vec<&str> = unique(r.probe.iter().map(|p| p.method.as_str()));
        let _ = writeln!(
            s,
            "\n## 1. Frozen encoder, linear probe: test accuracy (mean ± std over seeds)\n"
        );
        let _ = writeln!(
            s,
            "| method | {} |\n|---|{}",
            datasets.join(" | "),
            "---|".repeat(datasets.len())
        );
        for m in &methods {
            let cells: Vec<String> = datasets
                .iter()
                .map(|d| {
                    let best = r
                        .probe
                        .iter()
                        .filter(|p| p.dataset == *d)
                        .map(|p| p.mean)
                        .fold(f64::MIN, f64::max);
                    r.probe
                        .iter()
                        .find(|p| p.dataset == *d && p.method == *m)
                        .map_or("—".into(), |p| {
                            let cell = format!("{:.3} ± {:.3}", p.mean, p.std);
                            if p.mean == best {
                                format!("**{cell}**")
                            } else {
                                cell
                            }
                        })
                })
                .collect();
            let _ = writeln!(s, "| {m} | {} |", cells.join(" | "));
        }
    }
    if !r.clustering.is_empty() {
        let _ = writeln!(s, "\n## 2. Clustering (k = classes): accuracy (Hungarian), NMI, ARI\n\n| dataset | method | accuracy | NMI | ARI |\n|---|---|---|---|---|");
        for c in &r.clustering {
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {:.3} | {:.3} |",
                c.dataset, c.method, c.accuracy, c.nmi, c.ari
            );
        }
    }
    if !r.joint.is_empty() {
        let _ = writeln!(s, "\n## 3. Joint training under the timescale condition\n\n| method | test accuracy | loss per epoch | min separation per epoch | condition held |\n|---|---|---|---|---|");
        for j in &r.joint {
            let _ = writeln!(
                s,
                "| {} | {:.3} | {} | {} | {} |",
                j.method,
                j.accuracy,
                fmt(&j.loss),
                fmt(&j.separation),
                j.timescale_held
            );
        }
    }
    if !r.sweep.is_empty() {
        let _ = writeln!(s, "\n## 4. Learning-rate ratio sweep (eps = eta_E / eta_P)\n\n| eps | within bound | test accuracy | min separation: first → last | V: first → last |\n|---|---|---|---|---|");
        for w in &r.sweep {
            let ends = |x: &[f64]| {
                format!(
                    "{:.3} → {:.3}",
                    x.first().copied().unwrap_or(0.0),
                    x.last().copied().unwrap_or(0.0)
                )
            };
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {} | {} |",
                w.eps,
                w.separated,
                w.accuracy,
                ends(&w.separation),
                ends(&w.v)
            );
        }
        let _ = writeln!(s, "\nPlot: `sweep.svg` (separation per step for each eps).");
    }
    if !r.tabular.is_empty() {
        let _ = writeln!(s, "\n## 5. Tabular, features as tokens\n\n| method | test accuracy | majority class |\n|---|---|---|");
        for t in &r.tabular {
            let _ = writeln!(
                s,
                "| {} | {:.4} | {:.4} |",
                t.method, t.accuracy, t.majority
            );
        }
    }
    if !r.speed.is_empty() {
        let _ = writeln!(s, "\n## Speed (one batch through the real encoder; medians)\n\n| dataset | method | readout ms | readout tokens/s | readout vs mean | encoder + readout ms | tokens/s | examples/s | readout heap MiB |\n|---|---|---|---|---|---|---|---|---|");
        for p in &r.speed {
            let _ = writeln!(
                s,
                "| {} | {} | {:.3} | {:.0} | {:.1}x | {:.1} | {:.0} | {:.1} | {} |",
                p.dataset,
                p.method,
                p.readout_ms,
                p.readout_tokens_per_s,
                p.readout_vs_mean,
                p.total_ms,
                p.total_tokens_per_s,
                p.total_examples_per_s,
                mib(p.readout_heap_mib)
            );
        }
    }
    s
}

fn mib(m: Option<f64>) -> String {
    m.map_or("—".into(), |m| format!("{m:.1}"))
}

fn fmt(xs: &[f64]) -> String {
    xs.iter()
        .map(|x| format!("{x:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unique<'a>(it: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for x in it {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

fn plot_err(e: impl std::fmt::Display) -> Error {
    Error::Config(format!("plot: {e}"))
}

/// Writes `accuracy.svg`, `sweep.svg` and `speed.svg` (each only when it has data).
pub fn plots(r: &Results, dir: &Path) -> Result<()> {
    if !r.probe.is_empty() {
        let methods: Vec<&str> = unique(r.probe.iter().map(|p| p.method.as_str()));
        let datasets: Vec<&str> = unique(r.probe.iter().map(|p| p.dataset.as_str()));
        let series: Vec<(String, Vec<(f64, f64)>)> = datasets
            .iter()
            .map(|d| {
                let pts = methods
                    .iter()
                    .enumerate()
                    .filter_map(|(i, m)| {
                        r.probe
                            .iter()
                            .find(|p| p.dataset == *d && p.method == *m)
                            .map(|p| (i as f64, p.mean))
                    })
                    .collect();
                (d.to_string(), pts)
            })
            .collect();
        let labels: Vec<String> = methods.iter().map(|m| m.to_string()).collect();
        chart(
            &dir.join("accuracy.svg"),
            "linear-probe accuracy per method",
            "method",
            "accuracy",
            &series,
            Some(&labels),
        )?;
    }
    if !r.sweep.is_empty() {
        let series: Vec<(String, Vec<(f64, f64)>)> = r
            .sweep
            .iter()
            .map(|w| {
                (
                    format!("eps = {}", w.eps),
                    w.separation
                        .iter()
                        .enumerate()
                        .map(|(i, s)| (i as f64 + 1.0, *s))
                        .collect(),
                )
            })
            .collect();
        chart(
            &dir.join("sweep.svg"),
            "prototype separation per step",
            "step",
            "min pairwise distance",
            &series,
            None,
        )?;
    }
    if !r.speed.is_empty() {
        let labels: Vec<String> = unique(r.speed.iter().map(|p| p.method.as_str()))
            .into_iter()
            .map(String::from)
            .collect();
        let series: Vec<Series> = unique(r.speed.iter().map(|p| p.dataset.as_str()))
            .into_iter()
            .map(|d| {
                let pts = r
                    .speed
                    .iter()
                    .filter(|p| p.dataset == d)
                    .filter_map(|p| {
                        let i = labels.iter().position(|m| *m == p.method)?;
                        Some((i as f64, p.readout_ms))
                    })
                    .collect();
                (format!("{d}: readout"), pts)
            })
            .collect();
        chart(
            &dir.join("speed.svg"),
            "readout ms per batch",
            "method",
            "ms",
            &series,
            Some(&labels),
        )?;
    }
    Ok(())
}

type Series = (String, Vec<(f64, f64)>);

fn chart(
    path: &Path,
    title: &str,
    x: &str,
    y: &str,
    series: &[Series],
    labels: Option<&[String]>,
) -> Result<()> {
    let all: Vec<(f64, f64)> = series.iter().flat_map(|(_, p)| p.iter().copied()).collect();
    if all.is_empty() {
        return Ok(());
    }
    let (x0, x1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.0), b.max(p.0)));
    let (y0, y1) = all
        .iter()
        .fold((f64::MAX, f64::MIN), |(a, b), p| (a.min(p.1), b.max(p.1)));
    let pad = ((y1 - y0) * 0.1).max(1e-3);
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(plot_err)?;
    let mut c = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(if labels.is_some() { 110 } else { 40 })
        .y_label_area_size(60)
        .build_cartesian_2d((x0 - 0.5)..(x1 + 0.5), (y0 - pad)..(y1 + pad))
        .map_err(plot_err)?;
    let names = labels.map(|l| l.to_vec());
    let mut mesh = c.configure_mesh();
    mesh.x_desc(x).y_desc(y);
    let formatter = move |v: &f64| match &names {
        Some(l) if (*v - v.round()).abs() < 1e-9 && *v >= 0.0 => {
            l.get(v.round() as usize).cloned().unwrap_or_default()
        }
        Some(_) => String::new(),
        None => format!("{v:.0}"),
    };
    if let Some(l) = labels {
        mesh.x_labels(l.len() * 2 + 1).x_label_style(
            ("sans-serif", 11)
                .into_font()
                .transform(FontTransform::Rotate90),
        );
    }
    mesh.x_label_formatter(&formatter)
        .draw()
        .map_err(plot_err)?;
    for (i, (name, pts)) in series.iter().enumerate() {
        let colour = Palette99::pick(i).to_rgba();
        c.draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))
            .map_err(plot_err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], colour.stroke_width(2))
            });
        c.draw_series(pts.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(plot_err)?;
    }
    c.configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(plot_err)?;
    root.present().map_err(plot_err)
}
