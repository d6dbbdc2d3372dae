//! The human-readable report (Markdown) and the SVG plots of a run.

use std::fmt::Write;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::codebook::curves::Panel;
use crate::error::{Error, Result};
use crate::hier::results::{HierResults, Line};
use crate::results::Results;
use crate::stats::{Interval, Paired, BASELINE};

/// The standard error, in points, that a reported accuracy should not exceed.
const SE_TARGET: f64 = 1.0;

/// The Markdown report: every table of the run.
pub fn markdown(r: &Results) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# ddcl-bench report\n");
    let _ = writeln!(
        s,
        "Schema `{}`, git `{}`, {} ({} threads, {}), {:.0} s, peak RSS {} MiB.{}\n",
        r.schema,
        r.git_revision.as_deref().unwrap_or("unknown"),
        r.machine.cpu.as_deref().unwrap_or(r.machine.arch),
        r.machine.cpus,
        r.machine.os,
        r.seconds,
        mib(r.peak_rss_mib),
        r.config.as_ref().map_or(String::new(), |c| format!(
            " Seeds {:?}, train share {} (a dataset's own where it sets one: see the train and test columns).",
            c.seeds, c.train_share
        ))
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
            "\n## 1. Frozen encoder, linear probe: test accuracy, %\n\n\
             Every seed's test predictions pooled (n per dataset); ± is half the width of the \
             Wilson 95% interval, SE the binomial standard error, both in points; † marks an SE \
             above {SE_TARGET} point. Per-seed accuracies and their spread are in results.json.\n"
        );
        let header: Vec<String> = datasets
            .iter()
            .map(|d| {
                let n = r
                    .probe
                    .iter()
                    .find(|p| p.dataset == *d)
                    .map_or(0, |p| p.pooled.n);
                format!("{d} (n = {n})")
            })
            .collect();
        let _ = writeln!(
            s,
            "| method | {} |\n|---|{}",
            header.join(" | "),
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
                        .map(|p| p.pooled.value)
                        .fold(f64::MIN, f64::max);
                    r.probe
                        .iter()
                        .find(|p| p.dataset == *d && p.method == *m)
                        .map_or("—".into(), |p| {
                            let cell = accuracy_cell(&p.pooled);
                            if p.pooled.value == best {
                                format!("**{cell}**")
                            } else {
                                cell
                            }
                        })
                })
                .collect();
            let _ = writeln!(s, "| {m} | {} |", cells.join(" | "));
        }
        let above: Vec<String> = datasets
            .iter()
            .filter_map(|d| {
                let worst = r
                    .probe
                    .iter()
                    .filter(|p| p.dataset == *d)
                    .map(|p| 100.0 * p.pooled.se)
                    .fold(0.0, f64::max);
                (worst > SE_TARGET).then(|| format!("{d} (up to {worst:.2})"))
            })
            .collect();
        let _ = if above.is_empty() {
            writeln!(s, "\nEvery cell's SE is at most {SE_TARGET} point.")
        } else {
            writeln!(
                s,
                "\nSE above {SE_TARGET} point: {} — too few test examples there to resolve \
                 differences of a point.",
                above.join(", ")
            )
        };
        let compared: Vec<(String, &Paired)> = r
            .probe
            .iter()
            .filter_map(|p| {
                let v = p.vs_mean.as_ref()?;
                Some((format!("{} | {}", p.dataset, p.method), v))
            })
            .collect();
        let _ = writeln!(s, "\n### Each method against mean pooling, same splits\n");
        paired_table(&mut s, "dataset | method", &compared);
    }
    if !r.clustering.is_empty() {
        let _ = writeln!(s, "\n## 2. Clustering (k = classes): accuracy (Hungarian), NMI, ARI\n\nEach dataset clustered once per seed (the fit and k-means seeded by it); accuracy in %, pooled over the seeds' clusterings (n = seeds × examples), ± half the width of its Wilson 95% interval, each clustering under the matching found; NMI and ARI are means over the seeds (no interval, see results.json).\n\n| dataset | method | n | accuracy, % | NMI | ARI |\n|---|---|---|---|---|---|");
        for c in &r.clustering {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {:.3} | {:.3} |",
                c.dataset,
                c.method,
                c.accuracy_interval.n,
                accuracy_cell(&c.accuracy_interval),
                c.nmi,
                c.ari
            );
        }
    }
    if !r.joint.is_empty() {
        let _ = writeln!(s, "\n## 3. Joint training under the timescale condition\n\n| method | test accuracy, % | n | loss per epoch | min separation per epoch | condition held |\n|---|---|---|---|---|---|");
        for j in &r.joint {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                j.method,
                accuracy_cell(&j.interval),
                j.interval.n,
                fmt(&j.loss),
                fmt(&j.separation),
                j.timescale_held
            );
        }
        let compared: Vec<(String, &Paired)> = r
            .joint
            .iter()
            .filter_map(|j| Some((j.method.clone(), j.vs_mean.as_ref()?)))
            .collect();
        s.push('\n');
        paired_table(&mut s, "method", &compared);
    }
    if !r.sweep.is_empty() {
        let _ = writeln!(s, "\n## 4. Learning-rate ratio sweep (eps = eta_E / eta_P)\n\n| eps | within bound | test accuracy, % | min separation: first → last | V: first → last |\n|---|---|---|---|---|");
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
                "| {} | {} | {} | {} | {} |",
                w.eps,
                w.separated,
                accuracy_cell(&w.interval),
                ends(&w.separation),
                ends(&w.v)
            );
        }
        let _ = writeln!(s, "\nPlot: `sweep.svg` (separation per step for each eps).");
    }
    if !r.tabular.is_empty() {
        let _ = writeln!(s, "\n## 5. Tabular, features as tokens\n\n| method | test accuracy, % | n | majority class, % |\n|---|---|---|---|");
        for t in &r.tabular {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.2} |",
                t.method,
                accuracy_cell(&t.interval),
                t.interval.n,
                100.0 * t.majority
            );
        }
        let compared: Vec<(String, &Paired)> = r
            .tabular
            .iter()
            .filter_map(|t| Some((t.method.clone(), t.vs_mean.as_ref()?)))
            .collect();
        s.push('\n');
        paired_table(&mut s, "method", &compared);
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
    if let Some(p) = &r.interpret {
        let _ = writeln!(
            s,
            "\n## What the prototypes learned\n\n[{}]({}): each token of {} test sentences of {} \
             coloured by its prototype of `{}` (seed {}'s fit), and each prototype's top tokens.\n",
            p.file, p.file, p.sentences, p.dataset, p.method, p.seed
        );
    }
    if let Some(p) = &r.interpret_images {
        let _ = writeln!(
            s,
            "\n## What the prototypes learned on images\n\n[{}/index.html]({}/index.html): {} \
             test images of {} with each patch tinted by its prototype of `{}` (seed {}'s fit), \
             and each prototype's top patches.\n",
            p.folder, p.folder, p.images, p.dataset, p.method, p.seed
        );
    }
    if let Some(c) = &r.codebook {
        s.push_str(&crate::codebook::table::markdown(c));
    }
    if let Some(h) = &r.hier {
        hier_section(&mut s, h);
    }
    if let Some(c) = &r.claims {
        s.push_str(&crate::claims::report::markdown(c));
    }
    s.push_str(&crate::claims::report::identity_markdown(&r.identity));
    s
}

/// The hierarchical experiment's section: accuracy and speed per method, the paired
/// comparison with the mean of chunk means, the streaming path's cost against length.
fn hier_section(s: &mut String, h: &HierResults) {
    let d = &h.documents;
    let _ = writeln!(
        s,
        "\n## Hierarchical: BBC News, whole documents\n\n\
         {} documents, {} content tokens on average (median {}, longest {}); {:.0}% are longer \
         than one window of {} tokens (overlap {}), so truncation drops text of those; {} chunks \
         (at most {} in a document). Linear probe on each method's document vectors, seeds {:?} \
         (each another split, {} of the documents for training); accuracy over the pooled test \
         predictions, ± half the Wilson 95% interval, SE in points. DDCL levels are fitted \
         without labels on the training documents (k-means++, then {} steps on L_SQ per level). \
         Documents per second: end to end on {} test documents (tokenizer, encoder, readout); \
         readout: the levels alone on the cached chunk token states.{}\n",
        d.documents,
        format_args!("{:.0}", d.mean_tokens),
        d.median_tokens,
        d.max_tokens,
        100.0 * d.longer_than_window,
        h.config.chunk.window,
        h.config.chunk.overlap,
        d.chunks,
        d.max_chunks,
        h.config.seeds,
        h.config.train_share,
        h.config.fit.steps,
        h.config.speed_docs,
        if h.cached {
            " Chunk token states from the cache."
        } else {
            ""
        },
    );
    let _ = writeln!(
        s,
        "| method | what | features | test accuracy, % | docs/s end to end | docs/s readout |\n\
         |---|---|---|---|---|---|"
    );
    for r in &h.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {:.1} | {:.0} |",
            r.method,
            r.description,
            r.width,
            accuracy_cell(&r.pooled),
            r.docs_per_s,
            r.readout_docs_per_s
        );
    }
    let compared: Vec<(String, &Paired)> = h
        .rows
        .iter()
        .filter_map(|r| Some((r.method.clone(), r.vs_baseline.as_ref()?)))
        .collect();
    let _ = writeln!(s, "\n### Each method against {}, same splits\n", h.baseline);
    paired_table(s, "method", &compared);
    let f = &h.scaling_fit;
    let _ = writeln!(
        s,
        "\n### Streaming: cost against document length\n\n\
         Synthetic documents of BBC text concatenated, compressed by `{}` (fitted on the first \
         seed's training documents) from token ids to the document vector; peak heap of the \
         call above what was live before it (the counting allocator). One encoder buffer is {} \
         tokens ({} chunks). Plot: `hier.svg`.\n\n\
         | tokens | chunks | seconds | ms per 1,000 tokens | peak heap, MiB |\n|---|---|---|---|---|",
        h.scaling_method,
        f.buffer_tokens,
        h.config.chunk.batch,
    );
    for p in &h.scaling {
        let _ = writeln!(
            s,
            "| {} | {} | {:.2} | {:.1} | {} |",
            p.tokens,
            p.chunks,
            p.seconds,
            1e6 * p.seconds / p.tokens.max(1) as f64,
            mib(p.peak_heap_bytes.map(|b| b as f64 / (1024.0 * 1024.0)))
        );
    }
    let line = |l: Option<Line>, unit: &str, scale: f64| {
        l.map_or("—".into(), |l| {
            format!("{:.3e} {unit} per token (R² {:.4})", l.slope / scale, l.r2)
        })
    };
    let ratio = |r: Option<f64>| r.map_or("—".into(), |r| format!("{r:.2}"));
    let _ = writeln!(
        s,
        "\nLeast squares: time {}; peak heap beyond the buffer {}. Seconds per token at the \
         longest length over the shortest beyond the buffer: {} (1 for a linear cost); peak \
         heap at the longest over the shortest beyond the buffer: {} (1 for flat memory).",
        line(f.time, "s", 1.0),
        line(f.memory, "MiB", 1024.0 * 1024.0),
        ratio(f.time_per_token_ratio),
        ratio(f.memory_ratio),
    );
}

/// `81.2 ± 1.3 (SE 0.68)`, in points, with † when the SE is above [`SE_TARGET`].
fn accuracy_cell(i: &Interval) -> String {
    let se = 100.0 * i.se;
    let mark = if se > SE_TARGET { " †" } else { "" };
    format!(
        "{:.1} ± {:.1} (SE {se:.2}{mark})",
        100.0 * i.value,
        100.0 * i.half_width()
    )
}

/// The paired comparisons `rows` (their leading cells, then the comparison) as a table whose
/// leading columns are named `lead`; a sentence instead when there are none.
fn paired_table(s: &mut String, lead: &str, rows: &[(String, &Paired)]) {
    if rows.is_empty() {
        let _ = writeln!(s, "No mean-pooling row in this run: no paired comparison.");
        return;
    }
    let cols = lead.split('|').count();
    let base = &rows[0].1.baseline;
    let named = if base == BASELINE {
        "mean pooling"
    } else {
        base
    };
    let _ = writeln!(
        s,
        "Difference in test accuracy with {named} on the same test examples, in points: \
         ± is half the width of the paired bootstrap's 95% interval ({} resamples, stratified \
         by split); p is the exact McNemar test on the examples exactly one of the two gets \
         right; significant means p < 0.05.\n",
        rows[0].1.resamples
    );
    let _ = writeln!(
        s,
        "| {lead} | − {base} | 95% interval | only it right / only {base} right | p | verdict |\n|{}---|---|---|---|---|",
        "---|".repeat(cols)
    );
    for (head, p) in rows {
        let verdict = match (p.significant, p.diff > 0.0) {
            (false, _) => "not significant",
            (true, true) => "better, significant",
            (true, false) => "worse, significant",
        };
        let _ = writeln!(
            s,
            "| {head} | {:+.1} ± {:.1} | [{:+.1}, {:+.1}] | {} / {} | {} | {verdict} |",
            100.0 * p.diff,
            100.0 * p.half_width(),
            100.0 * p.low,
            100.0 * p.high,
            p.only_method,
            p.only_baseline,
            p_value(p.p_value)
        );
    }
}

/// A p-value with two significant digits, `< 0.001` below that.
fn p_value(p: f64) -> String {
    if p < 0.001 {
        "< 0.001".into()
    } else if p < 0.01 {
        format!("{p:.3}")
    } else {
        format!("{p:.2}")
    }
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

/// Writes `accuracy.svg`, `sweep.svg`, `speed.svg`, `codebook.svg` and `hier.svg` (each only
/// when it has data).
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
    if let Some(c) = &r.claims {
        crate::claims::plot::plots(c, dir)?;
    }
    if let Some(c) = &r.codebook {
        stacked(
            &dir.join("codebook.svg"),
            &crate::codebook::curves::panels(c),
        )?;
    }
    if let Some(h) = &r.hier {
        stacked(&dir.join("hier.svg"), &crate::hier::plot::panels(h))?;
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
    if series.iter().all(|(_, p)| p.is_empty()) {
        return Ok(());
    }
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    panel(&root, title, x, y, series, labels)?;
    root.present().map_err(plot_err)
}

/// `panels` one above the other in one SVG (`codebook.svg`); nothing when none has a point.
fn stacked(path: &Path, panels: &[Panel]) -> Result<()> {
    if panels
        .iter()
        .all(|p| p.series.iter().all(|(_, s)| s.is_empty()))
    {
        return Ok(());
    }
    let root = SVGBackend::new(path, (900, 520 * panels.len() as u32)).into_drawing_area();
    for (area, p) in root.split_evenly((panels.len(), 1)).iter().zip(panels) {
        panel(area, p.title, p.x, p.y, &p.series, None)?;
    }
    root.present().map_err(plot_err)
}

/// A line chart of `series` on `root`, x ticks named by `labels` when given; nothing when
/// there is no point.
fn panel(
    root: &DrawingArea<SVGBackend<'_>, Shift>,
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
    root.fill(&WHITE).map_err(plot_err)?;
    let mut c = ChartBuilder::on(root)
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
        .map_err(plot_err)
}
