//! k-means++ seeding of prototypes on a sample of encoder outputs.

use candle_core::{DType, Tensor};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{Error, Result};

/// Picks `k` real tokens of `h` (B, T, D) as initial prototypes by k-means++ (D² sampling),
/// deterministically for a seed. `mask` (B, T) marks real tokens; `None` means all are real.
///
/// Errors when the sample holds fewer than `k` real tokens or a non-finite value.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::randn(0f32, 1., (4, 10, 8), &Device::Cpu)?;
/// let p = ddcl_readout::kmeans_pp(&h, None, 5, 0)?;
/// assert_eq!(p.dims(), &[5, 8]);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn kmeans_pp(h: &Tensor, mask: Option<&Tensor>, k: usize, seed: u64) -> Result<Tensor> {
    let (b, t, d) = h.dims3()?;
    let values = h.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    let real = match mask {
        Some(m) => m.ne(0.0)?.flatten_all()?.to_vec1::<u8>()?,
        None => vec![1; b * t],
    };
    if real.len() != b * t {
        return Err(Error::Input(format!(
            "k-means++: mask has {} entries, hidden states have B*T = {}",
            real.len(),
            b * t
        )));
    }
    let points: Vec<&[f64]> = values
        .chunks_exact(d)
        .zip(&real)
        .filter_map(|(row, &r)| (r != 0).then_some(row))
        .collect();
    if points.len() < k {
        return Err(Error::Input(format!(
            "k-means++ needs at least K = {k} real tokens, the sample has {}",
            points.len()
        )));
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::Input(
            "k-means++: the sample holds NaN or inf".into(),
        ));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let dist = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>();
    let mut chosen = vec![rng.random_range(0..points.len())];
    let mut nearest: Vec<f64> = points.iter().map(|p| dist(p, points[chosen[0]])).collect();
    while chosen.len() < k {
        let total: f64 = nearest.iter().sum();
        let next = if total > 0.0 {
            let mut target = rng.random::<f64>() * total;
            nearest
                .iter()
                .position(|&w| {
                    target -= w;
                    target < 0.0
                })
                .unwrap_or(points.len() - 1)
        } else {
            // every point coincides with a chosen one: take the first unchosen index
            (0..points.len()).find(|i| !chosen.contains(i)).unwrap_or(0)
        };
        chosen.push(next);
        for (w, p) in nearest.iter_mut().zip(&points) {
            *w = w.min(dist(p, points[next]));
        }
    }
    let flat: Vec<f64> = chosen
        .iter()
        .flat_map(|&i| points[i].iter().copied())
        .collect();
    Ok(Tensor::from_vec(flat, (k, d), h.device())?.to_dtype(h.dtype())?)
}
