//! The label-free prototype fit, one for every caller: k-means++ seeds on the token states, a
//! temperature (fixed, or a share of the mean squared distance of a token to its nearest seed),
//! then AdamW steps on L_SQ alone with everything else frozen. What differs between callers
//! (minibatches or the full batch, the share, the rows seeded on, which variables) is a
//! setting of [`PrototypeFit`] or an argument of [`fit_prototypes`].
//!
//! ```
//! use candle_core::{DType, Device, Tensor};
//! use candle_nn::{VarBuilder, VarMap};
//! use ddcl_readout::{fit_prototypes, Batching, PrototypeFit, ReadoutConfig};
//! let h = Tensor::randn(0f32, 1., (6, 5, 8), &Device::Cpu)?;
//! let varmap = VarMap::new();
//! let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
//! let fit = PrototypeFit { steps: 10, batching: Batching::Rows(4), ..PrototypeFit::default() };
//! let readout = fit_prototypes(&h, None, &ReadoutConfig::new(3, 1.0)?, &varmap, vb.pp("r"), &fit)?;
//! assert_eq!(readout.prototypes().dims(), &[3, 8]);
//! assert_ne!(readout.config().tau, 1.0); // the automatic temperature
//! # Ok::<(), ddcl_readout::Error>(())
//! ```

use candle_core::{DType, Tensor, D};
use candle_nn::{VarBuilder, VarMap};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::check::{at_least, positive_finite};
use crate::{AdamW, DdclReadout, Error, Group, ReadoutConfig, Result};

/// Which sequences each step of a fit reads.
///
/// ```
/// use ddcl_readout::Batching;
/// assert_ne!(Batching::Full, Batching::Rows(32));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Batching {
    /// All of them, in their order.
    Full,
    /// This many (all, when there are fewer), in the order of [`minibatches`].
    Rows(usize),
}

/// How [`fit_prototypes`] fits.
///
/// ```
/// let fit = ddcl_readout::PrototypeFit::default();
/// assert_eq!((fit.steps, fit.lr, fit.tau, fit.tau_share), (100, 0.05, None, 1.0));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrototypeFit {
    /// AdamW steps on L_SQ after the seeding (0: the k-means++ seeds themselves).
    pub steps: usize,
    /// Learning rate of the fitted variables.
    pub lr: f64,
    /// Which sequences each step reads.
    pub batching: Batching,
    /// The temperature; `None`: automatic, `tau_share` times [`nearest_sq_distance`] of the
    /// tokens to the k-means++ seeds (floored at 1e-6).
    pub tau: Option<f64>,
    /// The share of the nearest-distance scale that the automatic temperature is.
    pub tau_share: f64,
    /// The k-means++ seeds and the automatic temperature from the first this many sequences
    /// only; `None`: from all.
    pub seeding_rows: Option<usize>,
    /// Seed of the k-means++ seeding and of the minibatch order.
    pub seed: u64,
}

impl Default for PrototypeFit {
    /// 100 full-batch steps at 0.05, the automatic temperature at the full scale, seeds on all
    /// sequences, seed 0.
    fn default() -> Self {
        Self {
            steps: 100,
            lr: 0.05,
            batching: Batching::Full,
            tau: None,
            tau_share: 1.0,
            seeding_rows: None,
            seed: 0,
        }
    }
}

impl PrototypeFit {
    /// Checks the ranges; keys are named under `fit.`.
    ///
    /// ```
    /// use ddcl_readout::{Batching, PrototypeFit};
    /// let fit = PrototypeFit { batching: Batching::Rows(0), ..PrototypeFit::default() };
    /// assert_eq!(fit.validate().unwrap_err().to_string(), "fit.batch must be >= 1, got 0");
    /// ```
    pub fn validate(&self) -> Result<()> {
        positive_finite("fit.lr", self.lr)?;
        if let Batching::Rows(n) = self.batching {
            at_least("fit.batch", n, 1)?;
        }
        if let Some(tau) = self.tau {
            positive_finite("fit.tau", tau)?;
        }
        positive_finite("fit.tau_share", self.tau_share)?;
        if let Some(rows) = self.seeding_rows {
            at_least("fit.seeding_rows", rows, 1)?;
        }
        Ok(())
    }
}

/// K k-means++ prototypes on token states and the temperature chosen with them.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_readout::{seed_prototypes, PrototypeFit};
/// let h = Tensor::new(&[[[0f32, 0.], [4., 0.], [0., 1.]]], &Device::Cpu)?;
/// let seeds = seed_prototypes(&h, None, 2, &PrototypeFit::default())?;
/// assert_eq!(seeds.prototypes.dims(), &[2, 2]);
/// assert!(seeds.tau > 0.0);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Seeds {
    /// The prototypes (K, D), in the dtype of the states.
    pub prototypes: Tensor,
    /// The temperature: the fixed one, or the automatic one for these prototypes.
    pub tau: f64,
}

/// The k-means++ seeds of `k` prototypes on `h` (B, T, D) under `mask` (B, T; `None`: all
/// real), the first `fit.seeding_rows` sequences only, and the temperature of `fit`.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_readout::{seed_prototypes, PrototypeFit};
/// let h = Tensor::new(&[[[0f32, 0.], [3., 0.]], [[9f32, 9.], [9., 9.]]], &Device::Cpu)?;
/// let fit = PrototypeFit { seeding_rows: Some(1), tau_share: 0.5, ..PrototypeFit::default() };
/// let seeds = seed_prototypes(&h, None, 2, &fit)?;
/// assert_eq!(seeds.tau, 1e-6); // both tokens of the first sequence are seeds
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn seed_prototypes(
    h: &Tensor,
    mask: Option<&Tensor>,
    k: usize,
    fit: &PrototypeFit,
) -> Result<Seeds> {
    fit.validate()?;
    let (h, mask) = match fit.seeding_rows {
        Some(rows) => {
            let first: Vec<u32> = (0..h.dim(0)?.min(rows) as u32).collect();
            let index = Tensor::new(first, h.device())?;
            (
                h.index_select(&index, 0)?,
                mask.map(|m| m.index_select(&index, 0)).transpose()?,
            )
        }
        None => (h.clone(), mask.cloned()),
    };
    let prototypes = ddcl_core::kmeans_pp(&h, mask.as_ref(), k, fit.seed)?;
    let tau = match fit.tau {
        Some(tau) => tau,
        None => (fit.tau_share * nearest_sq_distance(&h, mask.as_ref(), &prototypes)?).max(1e-6),
    };
    Ok(Seeds { prototypes, tau })
}

/// The mean over real tokens of the squared distance to the nearest of `prototypes` (K, D):
/// the scale at which a temperature makes assignments soft but not uniform.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::new(&[[[0f32, 0.], [3., 0.]]], &Device::Cpu)?;
/// let p = Tensor::new(&[[1f32, 0.], [3., 2.]], &Device::Cpu)?;
/// let d = ddcl_readout::nearest_sq_distance(&h, None, &p)?;
/// assert!((d - 2.5).abs() < 1e-6); // (1 + 4) / 2
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn nearest_sq_distance(h: &Tensor, mask: Option<&Tensor>, prototypes: &Tensor) -> Result<f64> {
    let a = ddcl_core::assign(h, mask, prototypes, &ddcl_core::AssignConfig::new(1.0)?)?;
    let nearest = (a.dist.min(D::Minus1)? * &a.mask)?
        .sum_all()?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?;
    let tokens = a
        .mask
        .sum_all()?
        .to_dtype(DType::F64)?
        .to_scalar::<f64>()?
        .max(1.0);
    Ok(nearest / tokens)
}

/// The rows of `n` sequences that each of `steps` steps reads, `batch` (at most `n`) at a
/// time: a shuffle of all rows (seeded by `seed`) taken from its end, reshuffled when fewer
/// than a batch are left.
///
/// ```
/// let steps = ddcl_readout::minibatches(5, 2, 3, 0);
/// assert_eq!(steps.len(), 3);
/// let mut first_two: Vec<usize> = steps[..2].concat();
/// first_two.sort_unstable();
/// first_two.dedup();
/// assert_eq!(first_two.len(), 4); // no row twice within a shuffle
/// ```
pub fn minibatches(n: usize, batch: usize, steps: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::with_capacity(steps);
    let mut order: Vec<usize> = Vec::new();
    while out.len() < steps {
        if order.len() < batch.min(n) {
            order = (0..n).collect();
            order.shuffle(&mut rng);
        }
        out.push(order.split_off(order.len() - batch.min(n)));
    }
    out
}

/// A readout fitted on token states `h` (B, T, D) under `mask` (B, T; `None`: all real): the
/// settings `readout` with the temperature of [`seed_prototypes`], its variables those of
/// `varmap` under `vb`'s prefix (created when absent, e.g. a learnable `log_tau`), the
/// prototypes set to the k-means++ seeds, a learnable temperature to the chosen one, then
/// `fit.steps` AdamW steps on L_SQ over every variable under that prefix.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_readout::{fit_prototypes, PrototypeFit, ReadoutConfig};
/// let h = Tensor::randn(0f32, 1., (4, 6, 8), &Device::Cpu)?;
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let fit = PrototypeFit { tau: Some(0.5), steps: 0, ..PrototypeFit::default() };
/// let seeds = ddcl_readout::seed_prototypes(&h, None, 3, &fit)?;
/// let readout = fit_prototypes(&h, None, &ReadoutConfig::new(3, 1.0)?, &varmap, vb.pp("r"), &fit)?;
/// assert_eq!(readout.config().tau, 0.5);
/// let same = (readout.prototypes() - &seeds.prototypes)?.abs()?.max_all()?.to_scalar::<f32>()?;
/// assert_eq!(same, 0.0); // no steps: the seeds themselves
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn fit_prototypes(
    h: &Tensor,
    mask: Option<&Tensor>,
    readout: &ReadoutConfig,
    varmap: &VarMap,
    vb: VarBuilder,
    fit: &PrototypeFit,
) -> Result<DdclReadout> {
    let seeds = seed_prototypes(h, mask, readout.prototypes, fit)?;
    let mut cfg = readout.clone();
    cfg.tau = seeds.tau;
    let dtype = vb.dtype();
    let fitted = DdclReadout::new(h.dim(D::Minus1)?, &cfg, vb)?;
    let prefix = fitted
        .prototypes_name()
        .strip_suffix("prototypes")
        .unwrap_or_default()
        .to_string();
    set(
        varmap,
        fitted.prototypes_name(),
        &seeds.prototypes.to_dtype(dtype)?,
    )?;
    if cfg.learn_tau {
        let log_tau = Tensor::new(&[cfg.tau.ln()], h.device())?.to_dtype(dtype)?;
        set(varmap, &format!("{prefix}log_tau"), &log_tau)?;
    }
    let vars = varmap
        .data()
        .lock()
        .map_err(|_| Error::Poisoned)?
        .iter()
        .filter(|(name, _)| name.starts_with(&prefix))
        .map(|(name, var)| (name.clone(), var.clone()))
        .collect();
    let mut opt = AdamW::new(
        vec![Group {
            name: prefix,
            lr: fit.lr,
            vars,
        }],
        0.0,
    )?;
    match fit.batching {
        Batching::Full => {
            for _ in 0..fit.steps {
                let out = fitted.forward_masked(h, mask)?;
                opt.step(&out.losses().sq.backward()?)?;
            }
        }
        Batching::Rows(batch) => {
            for rows in minibatches(h.dim(0)?, batch, fit.steps, fit.seed) {
                let rows: Vec<u32> = rows.into_iter().map(|i| i as u32).collect();
                let index = Tensor::new(rows, h.device())?;
                let mask = mask.map(|m| m.index_select(&index, 0)).transpose()?;
                let out = fitted.forward_masked(&h.index_select(&index, 0)?, mask.as_ref())?;
                opt.step(&out.losses().sq.backward()?)?;
            }
        }
    }
    Ok(fitted)
}

/// Sets the variable `name` of `varmap` to `value` (same shape and dtype).
fn set(varmap: &VarMap, name: &str, value: &Tensor) -> Result<()> {
    let data = varmap.data().lock().map_err(|_| Error::Poisoned)?;
    let var = data.get(name).ok_or_else(|| Error::Missing {
        what: "the prototype fit: the VarMap",
        name: name.to_string(),
    })?;
    Ok(var.set(value)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    fn states() -> Tensor {
        let v: Vec<f32> = (0..4 * 5 * 3).map(|i| (i as f32 * 0.7).sin()).collect();
        Tensor::from_vec(v, (4, 5, 3), &Device::Cpu).unwrap()
    }

    fn values(t: &Tensor) -> Vec<f32> {
        t.flatten_all().unwrap().to_vec1::<f32>().unwrap()
    }

    #[test]
    fn validate_names_each_key() {
        let ok = PrototypeFit::default();
        assert!(ok.validate().is_ok());
        let cases = [
            (
                PrototypeFit { lr: 0.0, ..ok },
                "fit.lr must be finite and > 0",
            ),
            (
                PrototypeFit {
                    batching: Batching::Rows(0),
                    ..ok
                },
                "fit.batch must be >= 1",
            ),
            (
                PrototypeFit {
                    tau: Some(f64::NAN),
                    ..ok
                },
                "fit.tau must be finite and > 0",
            ),
            (
                PrototypeFit {
                    tau_share: -0.1,
                    ..ok
                },
                "fit.tau_share must be finite and > 0",
            ),
            (
                PrototypeFit {
                    seeding_rows: Some(0),
                    ..ok
                },
                "fit.seeding_rows must be >= 1",
            ),
        ];
        for (fit, expected) in cases {
            let err = fit.validate().unwrap_err();
            assert!(matches!(err, Error::OutOfRange { .. }), "{err:?}");
            assert!(err.to_string().starts_with(expected), "{err}");
            let varmap = VarMap::new();
            let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
            let cfg = ReadoutConfig::new(2, 1.0).unwrap();
            let fitted = fit_prototypes(&states(), None, &cfg, &varmap, vb, &fit);
            assert!(fitted.unwrap_err().to_string().starts_with(expected));
        }
    }

    #[test]
    fn automatic_tau_is_the_share_of_the_nearest_distance() {
        let h = states();
        let full = seed_prototypes(&h, None, 3, &PrototypeFit::default()).unwrap();
        let scale = nearest_sq_distance(&h, None, &full.prototypes).unwrap();
        assert_eq!(full.tau, scale);
        let tenth = PrototypeFit {
            tau_share: 0.1,
            ..PrototypeFit::default()
        };
        let seeds = seed_prototypes(&h, None, 3, &tenth).unwrap();
        assert_eq!(values(&seeds.prototypes), values(&full.prototypes));
        assert_eq!(seeds.tau, 0.1 * scale);
        let fixed = PrototypeFit {
            tau: Some(0.25),
            ..tenth
        };
        assert_eq!(seed_prototypes(&h, None, 3, &fixed).unwrap().tau, 0.25);
    }

    #[test]
    fn seeding_rows_seed_on_the_first_sequences() {
        let h = states();
        let fit = PrototypeFit {
            seeding_rows: Some(2),
            ..PrototypeFit::default()
        };
        let first = seed_prototypes(&h, None, 3, &fit).unwrap();
        let alone = seed_prototypes(
            &h.narrow(0, 0, 2).unwrap(),
            None,
            3,
            &PrototypeFit::default(),
        )
        .unwrap();
        assert_eq!(values(&first.prototypes), values(&alone.prototypes));
        assert_eq!(first.tau, alone.tau);
        let all = seed_prototypes(&h, None, 3, &PrototypeFit::default()).unwrap();
        assert_ne!(first.tau, all.tau);
    }

    #[test]
    fn minibatches_cover_every_row_once_per_shuffle() {
        let steps = minibatches(7, 3, 6, 11);
        assert_eq!(steps, minibatches(7, 3, 6, 11));
        assert_ne!(steps, minibatches(7, 3, 6, 12));
        assert!(steps.iter().all(|b| b.len() == 3));
        // two batches per shuffle of 7 rows (one row left over, dropped)
        for pair in steps.chunks(2) {
            let mut rows = pair.concat();
            rows.sort_unstable();
            rows.dedup();
            assert_eq!(rows.len(), 6);
        }
        assert_eq!(
            minibatches(2, 5, 2, 0).iter().map(Vec::len).sum::<usize>(),
            4
        );
    }

    #[test]
    fn steps_lower_l_sq_from_the_seeds() {
        let h = states();
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let mut cfg = ReadoutConfig::new(3, 1.0).unwrap();
        cfg.learn_tau = true;
        let l_sq = |r: &DdclReadout| {
            r.forward_masked(&h, None)
                .unwrap()
                .losses()
                .sq
                .to_scalar::<f32>()
                .unwrap()
        };
        let seeded = PrototypeFit {
            steps: 0,
            ..PrototypeFit::default()
        };
        let start = fit_prototypes(&h, None, &cfg, &varmap, vb.pp("a"), &seeded).unwrap();
        let tau = start.config().tau;
        assert!((start.tau().unwrap() - tau).abs() < 1e-6 * tau);
        for batching in [Batching::Full, Batching::Rows(2)] {
            let fit = PrototypeFit {
                steps: 30,
                batching,
                ..PrototypeFit::default()
            };
            let fitted = fit_prototypes(&h, None, &cfg, &varmap, vb.pp("b"), &fit).unwrap();
            assert_eq!(fitted.config().tau, tau);
            assert!(l_sq(&fitted) < l_sq(&start), "{batching:?}");
        }
    }
}
