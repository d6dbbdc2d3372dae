//! The codebook experiment's Markdown section: one line per method and codebook size, means
//! over the seeds.

use std::fmt::Write;

use crate::codebook::results::{CodebookResults, CodebookRow};

/// The rows of `c` grouped by codebook size and method, in the order they ran.
pub(crate) fn groups(c: &CodebookResults) -> Vec<Vec<&CodebookRow>> {
    let mut out: Vec<Vec<&CodebookRow>> = Vec::new();
    for r in &c.rows {
        match out
            .iter_mut()
            .find(|g| g[0].group == r.group && g[0].method == r.method)
        {
            Some(g) => g.push(r),
            None => out.push(vec![r]),
        }
    }
    out
}

/// The mean of `f` over `rows` with `digits` decimals, `—` when a row has no value.
fn cell(rows: &[&CodebookRow], f: impl Fn(&CodebookRow) -> Option<f64>, digits: usize) -> String {
    let values: Option<Vec<f64>> = rows.iter().map(|&r| f(r)).collect();
    values.map_or("—".into(), |v| {
        let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
        format!("{mean:.digits$}")
    })
}

/// The Markdown section of the codebook experiment.
pub(crate) fn markdown(c: &CodebookResults) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n## Codebook: Fashion-MNIST autoencoder, each quantiser alike\n\n\
         {} training steps of batch {} (AdamW, lr {}), latents {} x {} of width {}; measured on \
         {} test images with hard codes (DDCL also with the soft codes training decodes: the \
         train/inference gap). Means over the seeds {:?}; each seed's row in results.json. \
         Utilisation: share of the K codes used at least once; perplexity of the average usage; \
         dead: codes never used; MSE and L1 per pixel (pixels in [0, 1]); seconds: the training \
         steps. Plot: `codebook.svg` (utilisation and MSE on {} held-out images over training).\n",
        c.config.iterations,
        c.config.batch_size,
        c.config.lr,
        c.grid[0],
        c.grid[1],
        c.config.autoencoder.latent,
        c.test_images,
        c.config.seeds,
        c.curve_images,
    );
    let _ = writeln!(
        s,
        "| method | K | utilisation, % | perplexity | dead | MSE hard | MSE soft | L1 hard | seconds |\n\
         |---|---|---|---|---|---|---|---|---|"
    );
    for g in groups(c) {
        let first = g[0];
        let k = if first.codes == first.group {
            first.codes.to_string()
        } else {
            format!("{} (vs {})", first.codes, first.group)
        };
        let _ = writeln!(
            s,
            "| {} | {k} | {} | {} | {} | {} | {} | {} | {} |",
            first.method,
            cell(&g, |r| Some(100.0 * r.utilisation), 1),
            cell(&g, |r| Some(r.perplexity), 1),
            cell(&g, |r| Some(r.dead as f64), 1),
            cell(&g, |r| Some(r.mse), 5),
            cell(&g, |r| r.mse_soft, 5),
            cell(&g, |r| Some(r.l1), 4),
            cell(&g, |r| Some(r.train_seconds), 1),
        );
    }
    s
}
