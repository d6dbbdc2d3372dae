//! Prototypes fitted on token states without labels, for reading a frozen encoder: k-means++
//! seeding, then steps on L_SQ with the encoder frozen (the fast system alone).

use candle_core::{DType, Tensor, D};
use candle_nn::{VarBuilder, VarMap};

use crate::check::{at_least, positive_finite};
use crate::{AdamW, DdclReadout, Error, Group, ReadoutConfig, Result};

/// How [`fit_readout`] fits the prototypes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitSettings {
    /// Number of prototypes K.
    pub prototypes: usize,
    /// The temperature; `None`: a tenth of [`nearest_sq_distance`] of the tokens to the
    /// k-means++ seeds ([`AUTO_TAU_SHARE`]).
    pub tau: Option<f64>,
    /// AdamW steps on L_SQ after the seeding (0: the k-means++ seeds themselves).
    pub steps: usize,
    /// Learning rate of the prototypes.
    pub lr: f64,
    /// Seed of the k-means++ seeding.
    pub seed: u64,
}

impl Default for FitSettings {
    /// K = 8, automatic temperature, 200 steps at 0.05, seed 0.
    fn default() -> Self {
        Self {
            prototypes: 8,
            tau: None,
            steps: 200,
            lr: 0.05,
            seed: 0,
        }
    }
}

/// The share of [`nearest_sq_distance`] that the automatic temperature is. At the full
/// distance scale every `q` lies near `1/K` (MiniLM on 30 Rotten Tomatoes sentences, K = 8:
/// the largest `q` of every token about 0.14) and the steps on L_SQ pull all prototypes toward
/// the token mean, one of them out of use; at a tenth the assignments are sharp and the
/// prototypes gather distinct groups of tokens.
pub const AUTO_TAU_SHARE: f64 = 0.1;

/// The mean over real tokens of the squared distance to the nearest of `prototypes` (K, D):
/// the scale at which a temperature makes assignments soft but not uniform.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let h = Tensor::new(&[[[0f32, 0.], [3., 0.]]], &Device::Cpu)?;
/// let p = Tensor::new(&[[1f32, 0.], [3., 2.]], &Device::Cpu)?;
/// let d = ddcl_readout::interpret::nearest_sq_distance(&h, None, &p)?;
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

/// A readout of `settings.prototypes` prototypes fitted on token states `h` (B, T, D) with
/// `mask` (B, T; `None`: all real): k-means++ seeds, then `steps` full-batch AdamW steps on
/// L_SQ.
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_readout::interpret::{fit_readout, FitSettings};
/// let h = Tensor::randn(0f32, 1., (4, 6, 8), &Device::Cpu)?;
/// let s = FitSettings { prototypes: 3, steps: 5, ..FitSettings::default() };
/// let readout = fit_readout(&h, None, &s)?;
/// assert_eq!(readout.prototypes().dims(), &[3, 8]);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn fit_readout(
    h: &Tensor,
    mask: Option<&Tensor>,
    settings: &FitSettings,
) -> Result<DdclReadout> {
    at_least("fit: prototypes", settings.prototypes, 1)?;
    positive_finite("fit: lr", settings.lr)?;
    let seeds = ddcl_core::kmeans_pp(h, mask, settings.prototypes, settings.seed)?;
    let tau = match settings.tau {
        Some(t) => positive_finite("fit: tau", t)?,
        None => (AUTO_TAU_SHARE * nearest_sq_distance(h, mask, &seeds)?).max(1e-6),
    };
    let mut varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, h.dtype(), h.device());
    let readout = DdclReadout::new(
        h.dim(D::Minus1)?,
        &ReadoutConfig::new(settings.prototypes, tau)?,
        vb.pp("readout"),
    )?;
    varmap.set_one(readout.prototypes_name(), seeds.to_dtype(h.dtype())?)?;
    let vars = varmap
        .data()
        .lock()
        .map_err(|_| Error::Poisoned)?
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut opt = AdamW::new(
        vec![Group {
            name: "prototypes".into(),
            lr: settings.lr,
            vars,
        }],
        0.0,
    )?;
    for _ in 0..settings.steps {
        let out = readout.forward_masked(h, mask)?;
        opt.step(&out.losses().sq.backward()?)?;
    }
    Ok(readout)
}
