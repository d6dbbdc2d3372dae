//! Finite scalar quantisation (Mentzer et al., 2023): bound each dimension, round it.

use candle_core::{DType, Tensor, D};
use candle_nn::{Linear, Module, VarBuilder};

use crate::quantizer::{hard_code, LossParts, QuantOutput, Quantizer};
use crate::{check, FsqConfig, Result};

/// FSQ: a latent is projected to `d = levels.len()` dimensions (when its width differs), each
/// dimension `i` bounded and rounded to one of `L_i` levels, scaled to [-1, 1] and projected
/// back. No codebook is learned and there is no auxiliary loss; the codes are the grid.
///
/// ```text
/// half_l = (L - 1)(1 + eps) / 2,   offset = 1/2 for even L, else 0,   shift = atanh(offset / half_l)
/// bound(z) = tanh(z + shift) half_l - offset            (values in (-half_l - offset, half_l - offset))
/// code     = round(bound(z)) / (L div 2)                (round with a straight-through gradient)
/// index    = sum_i (round(bound(z_i)) + L_i div 2) prod_{j < i} L_j
/// ```
///
/// as the paper's appendix and vector-quantize-pytorch do. Variables, with projections:
/// `project_in` and `project_out` (linear layers with bias).
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_codebook::{Fsq, FsqConfig, Quantizer};
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let mut fsq = Fsq::new(64, &FsqConfig::new(vec![8, 5, 5, 5]), vb.pp("fsq"))?;
/// let z = Tensor::randn(0f32, 1., (2, 49, 64), &Device::Cpu)?;
/// let out = fsq.quantize(&z, true)?;
/// assert_eq!((out.z_q.dims(), fsq.codebook_size()), (&[2, 49, 64][..], 1000));
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Fsq {
    cfg: FsqConfig,
    dim: usize,
    size: usize,
    projection: Option<(Linear, Linear)>,
    /// Per dimension (1, 1, d): half_l, offset, shift, L div 2, the index basis.
    half_l: Tensor,
    offset: Tensor,
    shift: Tensor,
    half_width: Tensor,
    basis: Tensor,
    levels: Tensor,
}

impl Fsq {
    /// FSQ for latents of width `dim` with the levels of `cfg`; projections under `vb` when
    /// `dim != levels.len()`.
    pub fn new(dim: usize, cfg: &FsqConfig, vb: VarBuilder) -> Result<Self> {
        let size = cfg.codebook_size()?;
        check::dim(dim)?;
        let d = cfg.levels.len();
        let projection = if dim == d {
            None
        } else {
            Some((
                candle_nn::linear(dim, d, vb.pp("project_in"))?,
                candle_nn::linear(d, dim, vb.pp("project_out"))?,
            ))
        };
        let (device, dtype) = (vb.device(), vb.dtype());
        let per_level = |f: &dyn Fn(f64) -> f64| -> Result<Tensor> {
            let values: Vec<f64> = cfg.levels.iter().map(|&l| f(f64::from(l))).collect();
            Ok(Tensor::new(values, device)?
                .to_dtype(dtype)?
                .reshape((1, 1, d))?)
        };
        let half = |l: f64| (l - 1.0) * (1.0 + cfg.eps) / 2.0;
        let offset = |l: f64| if l % 2.0 == 0.0 { 0.5 } else { 0.0 };
        let mut basis = Vec::with_capacity(d);
        let mut acc = 1u32;
        for &l in &cfg.levels {
            basis.push(acc);
            // the product of all levels fits in u32 (checked), so every partial product does
            acc = acc.saturating_mul(l);
        }
        Ok(Self {
            cfg: cfg.clone(),
            dim,
            size,
            projection,
            half_l: per_level(&half)?,
            offset: per_level(&offset)?,
            shift: per_level(&|l| (offset(l) / half(l)).atanh())?,
            half_width: per_level(&|l| (l / 2.0).floor())?,
            basis: Tensor::new(basis, device)?.reshape((1, 1, d))?,
            levels: Tensor::new(cfg.levels.clone(), device)?.reshape((1, 1, d))?,
        })
    }

    /// The settings.
    pub fn config(&self) -> &FsqConfig {
        &self.cfg
    }

    /// `bound(z)` of projected latents (B, N, d): each dimension squashed into its level range.
    pub fn bound(&self, zp: &Tensor) -> Result<Tensor> {
        Ok(zp
            .broadcast_add(&self.shift)?
            .tanh()?
            .broadcast_mul(&self.half_l)?
            .broadcast_sub(&self.offset)?)
    }

    /// The codes (B, N, d) in [-1, 1] of integer levels `rounded` (B, N, d) (centred, e.g.
    /// -4..=3 for L = 8).
    fn scale(&self, rounded: &Tensor) -> Result<Tensor> {
        Ok(rounded.broadcast_div(&self.half_width)?)
    }

    /// The index (B, N) u32 of centred integer levels (B, N, d).
    fn index(&self, rounded: &Tensor) -> Result<Tensor> {
        let shifted = rounded
            .detach()
            .broadcast_add(&self.half_width)?
            .to_dtype(DType::U32)?;
        Ok(shifted.broadcast_mul(&self.basis)?.sum(D::Minus1)?)
    }

    /// Projected latents (B, N, d).
    fn project_in(&self, z: &Tensor) -> Result<Tensor> {
        Ok(match &self.projection {
            Some((p, _)) => p.forward(z)?,
            None => z.clone(),
        })
    }

    /// Codes (B, N, d) back to latents (B, N, D).
    fn project_out(&self, codes: &Tensor) -> Result<Tensor> {
        Ok(match &self.projection {
            Some((_, p)) => p.forward(codes)?,
            None => codes.clone(),
        })
    }

    /// The latents' dtype and device against the grid's.
    fn check(&self, z: &Tensor) -> Result<(usize, usize)> {
        check::latents(z, self.dim, &self.half_l)
    }
}

impl Quantizer for Fsq {
    /// The rounded codes (with a straight-through gradient in training) and their indices; the
    /// loss is always zero.
    fn quantize(&mut self, z: &Tensor, train: bool) -> Result<QuantOutput> {
        self.check(z)?;
        let bounded = self.bound(&self.project_in(z)?)?;
        let rounded = bounded.round()?;
        let levels = if train {
            (&bounded + (&rounded - &bounded)?.detach())?
        } else {
            rounded.clone()
        };
        Ok(QuantOutput {
            z_q: self.project_out(&self.scale(&levels)?)?,
            indices: self.index(&rounded)?,
            loss: Tensor::zeros((), z.dtype(), z.device())?,
            parts: LossParts::default(),
        })
    }

    fn encode(&self, z: &Tensor) -> Result<Tensor> {
        self.check(z)?;
        self.index(&self.bound(&self.project_in(z)?)?.round()?)
    }

    fn decode(&self, indices: &Tensor) -> Result<Tensor> {
        let idx = check::indices(indices, self.size, &self.half_l)?.unsqueeze(D::Minus1)?;
        // digit i of the mixed-radix index: (idx div basis_i) mod L_i, in exact u32 arithmetic
        let quotient = idx.broadcast_div(&self.basis)?;
        let digit = (&quotient
            - quotient
                .broadcast_div(&self.levels)?
                .broadcast_mul(&self.levels)?)?;
        let centred = digit
            .to_dtype(self.half_l.dtype())?
            .broadcast_sub(&self.half_width)?;
        self.project_out(&self.scale(&centred)?)
    }

    fn codebook_size(&self) -> usize {
        self.size
    }

    fn dim(&self) -> usize {
        self.dim
    }
}

impl candle_nn::Module for Fsq {
    /// The hard codes (B, N, D) of latents `z` (B, N, D).
    fn forward(&self, z: &Tensor) -> candle_core::Result<Tensor> {
        hard_code(self, z)
    }
}
