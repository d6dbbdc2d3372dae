//! k-means (k-means++ seeding, Lloyd iterations, best of several restarts), protocol 2's
//! clustering of pooled features.
//!
//! Hand-written rather than a crate's: the seeding is ddcl-core's `kmeans_pp` (the one the DDCL
//! prototypes start from), and Lloyd's iterations on top of it are a few lines; the result is
//! checked against scikit-learn's `KMeans` in tests/probe.rs.

use candle_core::{DType, Tensor};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::error::Result;

/// Lloyd iterations of one restart at most (scikit-learn's `max_iter`); a restart stops earlier
/// when no assignment changes.
const MAX_ITER: usize = 300;

/// A k-means clustering.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[0f64], [2.]], &Device::Cpu)?;
/// let km = ddcl_bench::kmeans(&x, 1, 1, 0)?;
/// assert_eq!((km.labels, km.inertia), (vec![0, 0], 2.0));
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Each row's cluster, in `0..k`.
    pub labels: Vec<usize>,
    /// Sum of squared distances of the rows to their cluster's centre (scikit-learn's
    /// `inertia_`).
    pub inertia: f64,
}

/// k-means of the rows of `x` (N, D) into `k` clusters (at most N): k-means++ seeding, then
/// Lloyd iterations until no assignment changes, best of `restarts` (at least one) by inertia;
/// deterministic for a seed. No rows give no labels.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::new(&[[0f32], [0.1], [10.], [10.2]], &Device::Cpu)?;
/// let km = ddcl_bench::kmeans(&x, 2, 3, 0)?;
/// let c = &km.labels;
/// assert!(c[0] == c[1] && c[2] == c[3] && c[0] != c[2]);
/// assert!((km.inertia - (0.005 + 0.02)).abs() < 1e-5);
/// # Ok::<(), ddcl_bench::Error>(())
/// ```
pub fn kmeans(x: &Tensor, k: usize, restarts: usize, seed: u64) -> Result<KMeans> {
    let (n, d) = x.dims2()?;
    if n == 0 {
        return Ok(KMeans {
            labels: Vec::new(),
            inertia: 0.0,
        });
    }
    let x = x.to_dtype(DType::F64)?.contiguous()?;
    let rows: Vec<Vec<f64>> = x.to_vec2()?;
    let points = x.reshape((1, n, d))?;
    let mut best: Option<KMeans> = None;
    for r in 0..restarts.max(1) {
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(r as u64));
        let init = ddcl_core::kmeans_pp(&points, None, k.min(n), rng.random())?;
        let run = lloyd(&rows, init.to_vec2()?);
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    Ok(best.unwrap_or(KMeans {
        labels: vec![0; n],
        inertia: 0.0,
    }))
}

/// Lloyd's iterations from `centres`: assign each row to its nearest centre (the first on
/// ties), move each centre to its rows' mean (a centre without rows stays), until no
/// assignment changes or [`MAX_ITER`].
fn lloyd(rows: &[Vec<f64>], mut centres: Vec<Vec<f64>>) -> KMeans {
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let nearest =
        |row: &[f64], centres: &[Vec<f64>]| {
            centres.iter().map(|c| dist(row, c)).enumerate().fold(
                (0, f64::INFINITY),
                |b, (j, d)| if d < b.1 { (j, d) } else { b },
            )
        };
    let mut labels = vec![usize::MAX; rows.len()];
    for _ in 0..MAX_ITER {
        let mut changed = false;
        for (row, label) in rows.iter().zip(&mut labels) {
            let (j, _) = nearest(row, &centres);
            changed |= j != *label;
            *label = j;
        }
        if !changed {
            break;
        }
        let mut sums = vec![vec![0.0; rows[0].len()]; centres.len()];
        let mut counts = vec![0usize; centres.len()];
        for (row, &l) in rows.iter().zip(&labels) {
            sums[l].iter_mut().zip(row).for_each(|(s, x)| *s += x);
            counts[l] += 1;
        }
        for ((centre, sum), &count) in centres.iter_mut().zip(sums).zip(&counts) {
            if count > 0 {
                *centre = sum.into_iter().map(|s| s / count as f64).collect();
            }
        }
    }
    let inertia = rows
        .iter()
        .zip(&labels)
        .map(|(r, &l)| dist(r, &centres[l]))
        .sum();
    KMeans { labels, inertia }
}
