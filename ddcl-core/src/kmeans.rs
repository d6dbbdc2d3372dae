//! k-means++ seeding of prototypes on a sample of hidden states.

use candle_core::{DType, Tensor};
use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::input;
use crate::{Error, Result};

/// Picks `k` real tokens of `h` (B, T, D) as initial prototypes (K, D) by k-means++ (D² sampling),
/// deterministically for a seed. `mask` (B, T) marks real tokens by non-zero entries; `None`
/// means all are real. The prototypes come back in the dtype and on the device of `h`.
///
/// # Errors
///
/// [`Error::Shape`], [`Error::DType`] or [`Error::Device`] for hidden states or a mask that
/// [`assign`](crate::assign) refuses too; [`Error::NoPrototypes`] for K = 0 ([`Error::TooLarge`] above
/// [`MAX_PROTOTYPES`](crate::MAX_PROTOTYPES));
/// [`Error::TooFewTokens`] when the sample holds fewer than K real tokens; [`Error::NonFinite`]
/// when it holds NaN or infinity.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::randn(0f32, 1., (4, 10, 8), &Device::Cpu)?;
/// let p = ddcl_core::kmeans_pp(&h, None, 5, 0)?;
/// assert_eq!(p.dims(), &[5, 8]);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn kmeans_pp(h: &Tensor, mask: Option<&Tensor>, k: usize, seed: u64) -> Result<Tensor> {
    let (d, mask) = input::check_hidden(h, mask)?;
    crate::check_prototypes(k)?;
    let values = h.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
    let real = mask.ne(0u8)?.flatten_all()?.to_vec1::<u8>()?;
    let points: Vec<&[f64]> = values
        .chunks_exact(d)
        .zip(&real)
        .filter_map(|(row, &r)| (r != 0).then_some(row))
        .collect();
    if points.len() < k {
        return Err(Error::TooFewTokens {
            k,
            real: points.len(),
        });
    }
    if let Some(first) = values.iter().position(|v| !v.is_finite()) {
        let count = values.iter().filter(|v| !v.is_finite()).count();
        return Err(Error::NonFinite {
            name: "hidden",
            count,
            first,
        });
    }
    let flat: Vec<f64> = pick(&points, k, seed)
        .iter()
        .flat_map(|&i| points[i].iter().copied())
        .collect();
    Ok(Tensor::from_vec(flat, (k, d), h.device())?.to_dtype(h.dtype())?)
}

/// The indices of `k` of the `points` (at least `k` of them) chosen by D² sampling: the first
/// uniformly, each next one with probability proportional to its squared distance to the
/// nearest one chosen so far.
fn pick(points: &[&[f64]], k: usize, seed: u64) -> Vec<usize> {
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
        for (w, p) in nearest.iter_mut().zip(points) {
            *w = w.min(dist(p, points[next]));
        }
    }
    chosen
}
