//! The one interface every quantiser offers, so that an experiment runs them through one loop.

use candle_core::Tensor;

use crate::Result;

/// What one quantisation pass gives.
#[derive(Debug, Clone)]
pub struct QuantOutput {
    /// The quantised latents (B, N, D) to decode: in training the differentiable output (DDCL's
    /// soft code, VQ's straight-through code, FSQ's rounded code), at inference the hard code.
    pub z_q: Tensor,
    /// The code index of each latent, (B, N) u32: what [`Quantizer::decode`] takes back.
    pub indices: Tensor,
    /// The quantiser's own loss (a scalar) to add to the task loss; zero at inference and for
    /// FSQ.
    pub loss: Tensor,
    /// The loss's terms and settings of this pass, for logs.
    pub parts: LossParts,
}

/// The terms of a quantiser's loss, as values (each `None` where the method has no such term).
///
/// ```
/// use ddcl_codebook::LossParts;
/// let parts = LossParts::default();
/// assert!(parts.sq.is_none() && parts.commitment.is_none());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LossParts {
    /// DDCL: the soft quantisation loss `L_SQ` (in the scale the loss uses).
    pub sq: Option<f64>,
    /// DDCL: the reconstruction part `L_OLS` of `L_SQ`.
    pub ols: Option<f64>,
    /// DDCL: the diversity part `V` of `L_SQ` (`L_SQ = L_OLS + V`).
    pub var: Option<f64>,
    /// DDCL: entropy of the batch's mean assignment, in nats.
    pub usage_entropy: Option<f64>,
    /// DDCL: the temperature of this pass.
    pub tau: Option<f64>,
    /// VQ: `mean ||z - sg(e)||^2` per element, before its weight beta.
    pub commitment: Option<f64>,
    /// VQ without EMA: `mean ||sg(z) - e||^2` per element.
    pub codebook: Option<f64>,
    /// Codes re-seeded (DDCL) or expired (VQ) after this pass.
    pub replaced: Option<usize>,
}

/// A codebook that maps latents (B, N, D) to codes and back.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_codebook::{Fsq, FsqConfig, Quantizer};
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let mut fsq = Fsq::new(3, &FsqConfig::new(vec![8, 6, 5]), vb)?;
/// let z = Tensor::randn(0f32, 1., (2, 4, 3), &Device::Cpu)?;
/// let out = fsq.quantize(&z, true)?;
/// assert_eq!(out.indices.dims(), &[2, 4]);
/// let back = fsq.decode(&out.indices)?;
/// assert_eq!(back.dims(), &[2, 4, 3]);
/// assert_eq!(fsq.codebook_size(), 240);
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
pub trait Quantizer {
    /// Quantises latents `z` (B, N, D). With `train`, the pass is differentiable, updates the
    /// quantiser's state (EMA, usage, dead codes, the step count) and returns its loss; without,
    /// it gives hard codes and leaves every state alone.
    fn quantize(&mut self, z: &Tensor, train: bool) -> Result<QuantOutput>;

    /// The hard code index of each latent, (B, N) u32.
    fn encode(&self, z: &Tensor) -> Result<Tensor>;

    /// The codes (B, N, D) of `indices` (B, N) (u8, u32 or i64).
    fn decode(&self, indices: &Tensor) -> Result<Tensor>;

    /// The number of codes K.
    fn codebook_size(&self) -> usize;

    /// The latent width D.
    fn dim(&self) -> usize;
}

/// The hard code (B, N, D) of each latent of `z` (B, N, D): `decode(encode(z))`, the
/// `candle_nn::Module` forward of every quantiser.
pub(crate) fn hard_code(q: &impl Quantizer, z: &Tensor) -> candle_core::Result<Tensor> {
    q.encode(z)
        .and_then(|i| q.decode(&i))
        .map_err(candle_core::Error::wrap)
}
