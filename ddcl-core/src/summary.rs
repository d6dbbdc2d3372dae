//! Sequence summaries: pooling the soft assignment of each sequence over its real tokens.

use candle_core::{Tensor, D};

use crate::input::{masked, token_sum};
use crate::matmul::matmul;
use crate::{Assignment, Result};

/// Added to the soft token count of a prototype before dividing in [`Assignment::slots`].
pub const SLOT_EPS: f64 = 1e-6;

/// Norms below this are not divided by in [`Assignment::residual`]: such rows stay (near) zero.
pub const RESIDUAL_EPS: f64 = 1e-12;

/// Which sequence summary a readout produces.
///
/// ```
/// use ddcl_core::Summary;
/// assert_eq!(Summary::Mixture.dims(16, 384), vec![384]);
/// assert_eq!(Summary::Slots.dims(16, 384), vec![16, 384]);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Summary {
    /// `pi_k = mean_t q[t,k]`: the bag of prototypes, (B, K).
    Occupancy,
    /// s = pi P: the mean reconstruction, (B, D).
    Mixture,
    /// `c_k = sum_t q[t,k] h_t / (sum_t q[t,k] + eps)`: soft centroids, (B, K, D).
    Slots,
    /// `r_k = sum_t q[t,k] (h_t - p_k)`, L2-normalised per k (NetVLAD-like), (B, K, D).
    Residual,
}

impl Summary {
    /// Shape of one sequence's summary for K prototypes of dimension D.
    pub fn dims(self, k: usize, d: usize) -> Vec<usize> {
        match self {
            Summary::Occupancy => vec![k],
            Summary::Mixture => vec![d],
            Summary::Slots | Summary::Residual => vec![k, d],
        }
    }
}

impl Assignment {
    /// `hhat_t = sum_k q[t,k] p_k`, (B, T, D); zero on padding.
    ///
    /// ```
    /// # use candle_core::{Device, Tensor};
    /// # use ddcl_core::{assign, AssignConfig};
    /// # let h = Tensor::randn(0f32, 1., (2, 4, 8), &Device::Cpu)?;
    /// # let p = Tensor::randn(0f32, 1., (3, 8), &Device::Cpu)?;
    /// let a = assign(&h, None, &p, &AssignConfig::new(1.0)?)?;
    /// assert_eq!(a.reconstruction(&p)?.dims(), &[2, 4, 8]);
    /// # Ok::<(), ddcl_core::Error>(())
    /// ```
    pub fn reconstruction(&self, p: &Tensor) -> Result<Tensor> {
        let (b, t, k) = self.q.dims3()?;
        Ok(matmul(&self.q.reshape((b * t, k))?, p)?.reshape((b, t, ()))?)
    }

    /// Occupancy pi (B, K): the mean assignment over each sequence's real tokens; zeros for a
    /// sequence without one.
    pub fn occupancy(&self) -> Result<Tensor> {
        let n = self.tokens.maximum(1.0)?.unsqueeze(1)?;
        Ok(self.mass()?.broadcast_div(&n)?)
    }

    /// Mixture s = pi P (B, D).
    pub fn mixture(&self, p: &Tensor) -> Result<Tensor> {
        matmul(&self.occupancy()?, p)
    }

    /// Slots (B, K, D): per prototype, the q-weighted mean of the real tokens.
    pub fn slots(&self, h: &Tensor) -> Result<Tensor> {
        let sums = self.weighted_sums(h)?;
        let mass = (self.mass()? + SLOT_EPS)?.unsqueeze(2)?;
        Ok(sums.broadcast_div(&mass)?)
    }

    /// Residual (B, K, D): `sum_t q[t,k] (h_t - p_k)`, each row L2-normalised.
    pub fn residual(&self, h: &Tensor, p: &Tensor) -> Result<Tensor> {
        let mass = self.mass()?.unsqueeze(2)?;
        let r = self.weighted_sums(h)?.sub(&mass.broadcast_mul(p)?)?;
        let norm = r
            .sqr()?
            .sum_keepdim(D::Minus1)?
            .sqrt()?
            .maximum(RESIDUAL_EPS)?;
        Ok(r.broadcast_div(&norm)?)
    }

    /// The summary of the given kind; `h` is the hidden states the assignment was made from.
    pub fn summary(&self, kind: Summary, h: &Tensor, p: &Tensor) -> Result<Tensor> {
        match kind {
            Summary::Occupancy => self.occupancy(),
            Summary::Mixture => self.mixture(p),
            Summary::Slots => self.slots(h),
            Summary::Residual => self.residual(h, p),
        }
    }

    /// `sum_t q[t,k]` over real tokens, (B, K).
    fn mass(&self) -> Result<Tensor> {
        token_sum(&self.mask, &self.q)
    }

    /// `sum_t q[t,k] h_t`, (B, K, D), over real tokens only.
    fn weighted_sums(&self, h: &Tensor) -> Result<Tensor> {
        let h = masked(h, &self.mask)?;
        matmul(&self.q.transpose(1, 2)?, &h)
    }
}
