//! The state a learned codebook holds (codes, usage, init flag) and what DDCL and VQ do alike
//! with it: the distance frame, k-means init, dead-code replacement, encode and decode.

use candle_core::{Tensor, Var};
use candle_nn::VarBuilder;
use rand::{rngs::StdRng, SeedableRng};

use crate::init::kmeans;
use crate::nearest::{nearest, unit};
use crate::reseed::{pick_rows, write_rows};
use crate::usage::CodeUsage;
use crate::{check, host};
use crate::{CodeInit, Result};

/// Codes (K, D) with their usage EMA and init flag, as variables of a `VarBuilder`:
/// `codes`, `usage` and `initialised`.
#[derive(Debug)]
pub(crate) struct Bank {
    codes: Var,
    usage: CodeUsage,
    initialised: Var,
    spec: Spec,
    dim: usize,
    rng: StdRng,
}

/// What a bank is made of, besides its width.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Spec {
    /// Codebook size K.
    pub k: usize,
    pub init: CodeInit,
    /// Decay of the usage EMA.
    pub decay: f64,
    pub cosine: bool,
    /// Seed of the replacement draws.
    pub seed: u64,
    /// A fresh bank counts as initialised (its owner has nothing to do on the first batch).
    pub ready: bool,
}

/// Codes replaced by latents: which rows, and the latents written into them (R, D).
pub(crate) struct Replaced {
    pub rows: Vec<usize>,
    pub values: Tensor,
}

impl Bank {
    /// The codes of width `dim` that `spec` describes, under `vb`.
    pub(crate) fn new(dim: usize, spec: Spec, vb: &VarBuilder) -> Result<Self> {
        check::dim(dim)?;
        let codes = vb.get_with_hints((spec.k, dim), "codes", spec.init.hint(dim))?;
        let usage = CodeUsage::new(spec.k, spec.decay, vb, "usage")?;
        let flag = candle_nn::Init::Const(f64::from(u8::from(spec.ready)));
        let initialised = vb.get_with_hints(1, "initialised", flag)?;
        Ok(Self {
            codes: Var::from_tensor(&codes)?,
            usage,
            initialised: Var::from_tensor(&initialised)?,
            spec,
            dim,
            rng: StdRng::seed_from_u64(spec.seed),
        })
    }

    pub(crate) fn codes(&self) -> &Var {
        &self.codes
    }

    pub(crate) fn usage(&self) -> &CodeUsage {
        &self.usage
    }

    pub(crate) fn k(&self) -> usize {
        self.spec.k
    }

    pub(crate) fn dim(&self) -> usize {
        self.dim
    }

    /// Checks latents (B, N, D) against the codes; returns (B, N).
    pub(crate) fn check(&self, z: &Tensor) -> Result<(usize, usize)> {
        check::latents(z, self.dim, self.codes.as_tensor())
    }

    pub(crate) fn is_initialised(&self) -> Result<bool> {
        Ok(host::scalar(self.initialised.as_tensor())? != 0.0)
    }

    pub(crate) fn mark_initialised(&self) -> Result<()> {
        let one = Tensor::ones(1, self.initialised.dtype(), self.initialised.device())?;
        Ok(self.initialised.set(&one)?)
    }

    /// k-means on the latents `z` (B, N, D) with the bank's [`CodeInit::KMeans`] settings (10
    /// iterations and seed 0 otherwise): sets the codes and the usage to the cluster sizes, marks
    /// the bank initialised, and returns the cluster sizes (K).
    pub(crate) fn kmeans_init(&self, z: &Tensor) -> Result<Tensor> {
        self.check(z)?;
        let (iters, seed) = match self.spec.init {
            CodeInit::KMeans { iters, seed } => (iters, seed),
            CodeInit::Uniform => (10, 0),
        };
        let k = self.k();
        let (codes, counts) = kmeans(&z.flatten_to(1)?, k, iters, self.spec.cosine, seed)?;
        self.codes.set(&codes)?;
        self.usage.set(&counts)?;
        self.mark_initialised()?;
        Ok(counts)
    }

    /// Whether the first training batch should run k-means.
    pub(crate) fn wants_kmeans(&self) -> Result<bool> {
        Ok(matches!(self.spec.init, CodeInit::KMeans { .. }) && !self.is_initialised()?)
    }

    /// The codes in the frame distances are taken in: unit-normalised for a cosine codebook.
    pub(crate) fn frame_codes(&self, codes: &Tensor) -> Result<Tensor> {
        if self.spec.cosine {
            unit(codes)
        } else {
            Ok(codes.clone())
        }
    }

    /// Latents in the frame distances are taken in.
    pub(crate) fn frame(&self, z: &Tensor) -> Result<Tensor> {
        self.frame_codes(z)
    }

    /// Replaces the codes whose usage is below `threshold` (> 0) by distinct latents of `zc`
    /// (B, N, D, framed) where the batch has enough, and starts their usage at the threshold.
    /// A usage of all zeros has no history yet (a fresh bank before its first batch): nothing is
    /// dead then.
    pub(crate) fn replace_dead(&mut self, zc: &Tensor, threshold: f64) -> Result<Replaced> {
        let rows = self.usage.below(threshold)?;
        let rows = if rows.len() == self.spec.k && self.usage.is_fresh()? {
            Vec::new()
        } else {
            rows
        };
        let flat = zc.flatten_to(1)?.detach();
        let picks = pick_rows(flat.dim(0)?, rows.len(), &mut self.rng);
        let values = flat.index_select(&Tensor::new(picks, flat.device())?, 0)?;
        write_rows(&self.codes, &rows, &values)?;
        self.usage.reset(&rows, threshold)?;
        Ok(Replaced { rows, values })
    }

    /// The nearest code of each latent, (B, N) u32.
    pub(crate) fn encode(&self, z: &Tensor) -> Result<Tensor> {
        let (b, n) = self.check(z)?;
        let codes = self.frame_codes(self.codes.as_tensor())?;
        let (idx, _) = nearest(&self.frame(z)?.flatten_to(1)?, &codes)?;
        Ok(idx.reshape((b, n))?)
    }

    /// The framed codes (B, N, D) of `indices` (B, N).
    pub(crate) fn decode(&self, indices: &Tensor) -> Result<Tensor> {
        let idx = check::indices(indices, self.k(), self.codes.as_tensor())?;
        let (b, n) = idx.dims2()?;
        let codes = self.frame_codes(self.codes.as_tensor())?;
        Ok(codes
            .index_select(&idx.flatten_all()?, 0)?
            .reshape((b, n, self.dim))?)
    }
}
