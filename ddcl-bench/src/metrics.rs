//! Classification and clustering metrics.

use pathfinding::prelude::{kuhn_munkres, Matrix};

/// Share of equal entries.
///
/// ```
/// assert_eq!(ddcl_bench::accuracy(&[0, 1, 1, 2], &[0, 1, 2, 2]), 0.75);
/// ```
pub fn accuracy(pred: &[usize], truth: &[usize]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    pred.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

/// Contingency table: `table[c][k]` counts items of class `c` in cluster `k`.
fn contingency(clusters: &[usize], truth: &[usize]) -> Vec<Vec<u64>> {
    let k = clusters.iter().max().map_or(0, |m| m + 1);
    let c = truth.iter().max().map_or(0, |m| m + 1);
    let mut t = vec![vec![0u64; k]; c];
    for (&a, &b) in clusters.iter().zip(truth) {
        t[b][a] += 1;
    }
    t
}

/// Clustering accuracy: the best one-to-one matching of clusters to classes (Hungarian
/// algorithm), then the share of items whose cluster maps to their class.
///
/// ```
/// // clusters are classes under another name
/// assert_eq!(ddcl_bench::hungarian_accuracy(&[2, 2, 0, 0, 1], &[0, 0, 1, 1, 2]), 1.0);
/// ```
pub fn hungarian_accuracy(clusters: &[usize], truth: &[usize]) -> f64 {
    if truth.is_empty() {
        return 0.0;
    }
    hungarian_matched(clusters, truth) as f64 / truth.len() as f64
}

/// Items whose cluster maps to their class under the best one-to-one matching (the numerator
/// of [`hungarian_accuracy`]).
pub(crate) fn hungarian_matched(clusters: &[usize], truth: &[usize]) -> usize {
    let t = contingency(clusters, truth);
    let n = t.len().max(t.first().map_or(0, Vec::len));
    // square weight matrix, rows = clusters, columns = classes
    let weights = Matrix::from_fn(n, n, |(k, c)| {
        t.get(c).and_then(|row| row.get(k)).copied().unwrap_or(0) as i64
    });
    let (total, _) = kuhn_munkres(&weights);
    total as usize
}

fn entropy(counts: impl Iterator<Item = u64>, n: f64) -> f64 {
    counts
        .filter(|&c| c > 0)
        .map(|c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// Normalised mutual information, arithmetic normalisation `2 I / (H(U) + H(V))` (1 when both
/// partitions are a single block).
///
/// ```
/// let nmi = ddcl_bench::nmi(&[1, 1, 0, 0], &[0, 0, 1, 1]);
/// assert!((nmi - 1.0).abs() < 1e-12);
/// ```
pub fn nmi(clusters: &[usize], truth: &[usize]) -> f64 {
    let n = truth.len() as f64;
    if n == 0.0 {
        return 0.0;
    }
    let t = contingency(clusters, truth);
    let rows: Vec<u64> = t.iter().map(|r| r.iter().sum()).collect();
    let cols: Vec<u64> = (0..t.first().map_or(0, Vec::len))
        .map(|k| t.iter().map(|r| r[k]).sum())
        .collect();
    let mut mi = 0.0;
    for (c, row) in t.iter().enumerate() {
        for (k, &nck) in row.iter().enumerate() {
            if nck > 0 {
                let p = nck as f64 / n;
                mi += p * (p * n * n / (rows[c] as f64 * cols[k] as f64)).ln();
            }
        }
    }
    let (hu, hv) = (entropy(rows.into_iter(), n), entropy(cols.into_iter(), n));
    if hu + hv == 0.0 {
        1.0
    } else {
        (2.0 * mi / (hu + hv)).clamp(0.0, 1.0)
    }
}

/// Adjusted Rand index (Hubert & Arabie).
///
/// ```
/// assert!((ddcl_bench::ari(&[0, 0, 1, 1], &[1, 1, 0, 0]) - 1.0).abs() < 1e-12);
/// ```
pub fn ari(clusters: &[usize], truth: &[usize]) -> f64 {
    let pairs = |x: u64| (x * x.saturating_sub(1)) as f64 / 2.0;
    let t = contingency(clusters, truth);
    let n = truth.len() as u64;
    let index: f64 = t.iter().flatten().map(|&x| pairs(x)).sum();
    let a: f64 = t.iter().map(|r| pairs(r.iter().sum())).sum();
    let b: f64 = (0..t.first().map_or(0, Vec::len))
        .map(|k| pairs(t.iter().map(|r| r[k]).sum()))
        .sum();
    let expected = a * b / pairs(n).max(1.0);
    let max = 0.5 * (a + b);
    if max == expected {
        1.0
    } else {
        (index - expected) / (max - expected)
    }
}

/// Mean and sample standard deviation.
///
/// ```
/// assert_eq!(ddcl_bench::mean_std(&[1.0, 2.0, 3.0]), (2.0, 1.0));
/// ```
pub fn mean_std(xs: &[f64]) -> (f64, f64) {
    let n = xs.len() as f64;
    if xs.is_empty() {
        return (0.0, 0.0);
    }
    let m = xs.iter().sum::<f64>() / n;
    let var = if xs.len() > 1 {
        xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var.sqrt())
}
