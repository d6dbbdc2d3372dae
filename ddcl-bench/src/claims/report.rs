//! The claims section of report.md and the identity table every run's report carries.

use std::fmt::Write;

use super::results::{ClaimsResults, TimescaleRun};
use super::timescale::{AXES, SETTINGS, STARTS};
use super::verdict::growth;
use crate::results::IdentityRow;

/// The identity over every training run: one row per protocol, then the total.
///
/// ```
/// use ddcl_bench::{identity_markdown, IdentityRow};
/// let mut t = ddcl_readout::IdentityTally::default();
/// t.add(1e-7);
/// let md = identity_markdown(&[IdentityRow::f32("joint", "mean", t)]);
/// assert!(md.contains("| joint | 1 | 1 |"));
/// ```
pub fn identity_markdown(rows: &[IdentityRow]) -> String {
    let mut s = String::new();
    if rows.is_empty() {
        return s;
    }
    let _ = writeln!(
        s,
        "\n## The identity L_SQ = L_OLS + V over every training step\n\n\
         Each step's relative residual |L_SQ - L_OLS - V| / L_SQ of the batch's mean losses, \
         over every step of every training run of this run (f32 arithmetic, so 1e-5 is the \
         tolerance that applies; 1e-12 is the f64 one, counted for reference).\n\n\
         | protocol | runs | steps | largest residual | steps > 1e-5 | steps > 1e-12 |\n|---|---|---|---|---|---|"
    );
    let mut protocols: Vec<&str> = Vec::new();
    for r in rows {
        if !protocols.contains(&r.protocol.as_str()) {
            protocols.push(&r.protocol);
        }
    }
    let total = |rs: &[&IdentityRow]| {
        rs.iter()
            .fold(ddcl_readout::IdentityTally::default(), |a, r| {
                a.merge(&r.tally)
            })
    };
    let mut line = |name: &str, rs: &[&IdentityRow]| {
        let t = total(rs);
        let _ = writeln!(
            s,
            "| {name} | {} | {} | {:.2e} | {} | {} |",
            rs.len(),
            t.steps,
            t.max_residual,
            t.above_f32,
            t.above_f64
        );
    };
    for p in &protocols {
        let rs: Vec<&IdentityRow> = rows.iter().filter(|r| &r.protocol == p).collect();
        line(p, &rs);
    }
    let all: Vec<&IdentityRow> = rows.iter().collect();
    line("**all**", &all);
    s
}

/// The claims section: the verdicts, the clustering table, the timescale table.
pub fn markdown(c: &ClaimsResults) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Claims\n\n| claim | paper | ours (95% interval) | verdict |\n|---|---|---|---|"
    );
    for cl in &c.claims {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} |",
            cl.claim, cl.paper, cl.ours, cl.verdict
        );
    }
    let cl = &c.config.cluster;
    let _ = writeln!(
        s,
        "\n### Deep clustering\n\n{} seeds; per run {} steps of lambda * L_SQ (lambda = {}) on \
         every example, batch {}; text: the top {} layer(s) of {} trainable, eta_E = {}, eta_P = \
         {}; tabular: the features-as-tokens encoder (width {}) trained whole, eta_E = {}, eta_P \
         = {}. K = classes, k-means++ start, tau automatic. Accuracy: Hungarian, every seed's \
         examples pooled, Wilson 95% interval [low, high] and the range over seeds; NMI and ARI: \
         mean ± SD over seeds.\n\n\
         | dataset | method | accuracy % [95%] | seed range % | NMI | ARI | majority % | tau / tau_c |\n|---|---|---|---|---|---|---|---|",
        c.config.seeds.len(),
        cl.steps,
        cl.lambda,
        cl.batch_size,
        cl.top_layers,
        c.config.text_model,
        cl.lr_encoder,
        cl.lr_prototypes,
        cl.tabular_hidden,
        cl.tabular_lr_encoder,
        cl.tabular_lr_prototypes
    );
    for m in &c.clustering_summary {
        let taus: Vec<f64> = c
            .clustering
            .iter()
            .filter(|r| r.dataset == m.dataset && r.method == m.method)
            .filter_map(|r| r.tau_over_critical)
            .collect();
        let tau = if taus.is_empty() {
            "—".to_string()
        } else {
            format!("{:.2}", taus.iter().sum::<f64>() / taus.len() as f64)
        };
        let _ = writeln!(
            s,
            "| {} | {} | {:.1} [{:.1}, {:.1}] | {:.1}–{:.1} | {:.3} ± {:.3} | {:.3} ± {:.3} | {:.1} | {} |",
            m.dataset,
            m.method,
            100.0 * m.accuracy.value,
            100.0 * m.accuracy.low,
            100.0 * m.accuracy.high,
            100.0 * m.accuracy_range.0,
            100.0 * m.accuracy_range.1,
            m.nmi.0,
            m.nmi.1,
            m.ari.0,
            m.ari.1,
            100.0 * m.majority,
            tau
        );
    }
    let t = &c.config.timescale;
    let _ = writeln!(
        s,
        "\n### Two timescales\n\nSetting: the `{}` rows (limit {}), the features-as-tokens \
         encoder (width {}) trained whole with K = {} prototypes, {} steps of batch {}, {} seeds; \
         eta_P fixed at {} (eta_E = eps eta_P) or eta_E fixed at {} (eta_P = eta_E / eps); \
         unsupervised lambda = {}, supervised CE + {} L_SQ. tau = {} tau_c of the initial token \
         states, with tau_c = {} lambda_max of the token covariance (the collapsed bank is a \
         local minimum of L_SQ above it). Collapsed start: every prototype at the token mean \
         plus N(0, {}^2) noise. Measured on {} held-out rows; separation is the mean pairwise \
         prototype distance over the tokens' RMS distance to their mean. Columns: mean over \
         seeds at the last step [min, max]; growth = last minus first separation. Plots: \
         timescale-*.svg (bands: min to max over seeds).\n\n\
         | setting | start | axis | eps | separation | growth | V/L_SQ | eff. rank | tau/tau_c | margin | grad ratio | accuracy % |\n|---|---|---|---|---|---|---|---|---|---|---|---|",
        t.dataset,
        c.config
            .dataset(&t.dataset)
            .map_or(0, |d| d.limit),
        t.hidden,
        t.prototypes,
        t.steps,
        t.batch_size,
        c.config.seeds.len(),
        t.eta_p,
        t.eta_e,
        t.lambda_unsupervised,
        t.lambda_supervised,
        t.tau_over_critical,
        c.critical_factor,
        t.collapse_noise,
        t.eval_rows
    );
    for setting in SETTINGS {
        for start in STARTS {
            for axis in AXES {
                for &eps in &t.eps {
                    let rs: Vec<&TimescaleRun> = c
                        .timescale
                        .iter()
                        .filter(|r| {
                            r.setting == setting
                                && r.start == start
                                && r.axis == axis
                                && r.eps == eps
                        })
                        .collect();
                    if rs.is_empty() {
                        continue;
                    }
                    let last = |f: fn(&super::results::TimescalePoint) -> f64| {
                        spread(rs.iter().filter_map(|r| r.curve.last().map(f)))
                    };
                    let ratio = spread(
                        rs.iter()
                            .filter_map(|r| r.curve.last().and_then(|p| p.gradient_ratio)),
                    );
                    let _ = writeln!(
                        s,
                        "| {setting} | {start} | {axis} | {eps} | {} | {} | {} | {} | {} | {} | {} | {} |",
                        last(|p| p.separation_mean),
                        spread(rs.iter().map(|r| growth(r))),
                        last(|p| p.v_over_l_sq),
                        last(|p| p.effective_rank),
                        last(|p| p.tau_over_critical),
                        last(|p| p.margin),
                        ratio,
                        spread(rs.iter().map(|r| 100.0 * r.accuracy)),
                    );
                }
            }
        }
    }
    let _ = writeln!(s, "\nSeconds per training step, measured in this run:\n");
    for (what, secs) in &c.seconds_per_step {
        let _ = writeln!(s, "- {what}: {:.4} s", secs);
    }
    s
}

/// `mean [min, max]` of the values, `—` when there are none.
fn spread(values: impl Iterator<Item = f64>) -> String {
    let v: Vec<f64> = values.collect();
    if v.is_empty() {
        return "—".into();
    }
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let (lo, hi) = v
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if v.len() == 1 {
        short(mean)
    } else {
        format!("{} [{}, {}]", short(mean), short(lo), short(hi))
    }
}

fn short(x: f64) -> String {
    if x != 0.0 && (x.abs() < 1e-2 || x.abs() >= 1e4) {
        format!("{x:.2e}")
    } else {
        format!("{x:.3}")
    }
}
