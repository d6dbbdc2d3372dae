//! Diagnostics of a prototype bank: separation, utilisation, perplexity, entropy, and the
//! loss identity's violation, accumulated over any number of batches.

use candle_core::{DType, Tensor, D};

use crate::{Assignment, Error, Result};

/// Minimum and mean pairwise Euclidean distance between prototypes (both 0 when K = 1).
///
/// ```
/// use candle_core::{Device, Tensor};
/// let p = Tensor::new(&[[0f32, 0.], [3., 4.], [0., 4.]], &Device::Cpu)?;
/// let s = ddcl_core::Separation::of(&p)?;
/// assert_eq!((s.min, s.mean), (3.0, 4.0));
/// # Ok::<(), ddcl_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Separation {
    /// The smallest distance between two prototypes.
    pub min: f64,
    /// The mean distance over all pairs.
    pub mean: f64,
}

impl Separation {
    /// Separation of the prototypes `p` (K, D), computed in f64 from differences.
    ///
    /// # Errors
    ///
    /// [`Error::Shape`] unless `p` is (K, D); [`Error::NoPrototypes`] for K = 0;
    /// [`Error::NonFinite`] when `p` holds NaN or infinity.
    ///
    /// ```
    /// use candle_core::{Device, Tensor};
    /// use ddcl_core::{Error, Separation};
    /// let p = Tensor::new(&[[0f32, f32::NAN], [1., 1.]], &Device::Cpu)?;
    /// assert!(matches!(Separation::of(&p), Err(Error::NonFinite { first: 1, .. })));
    /// # Ok::<(), Error>(())
    /// ```
    pub fn of(p: &Tensor) -> Result<Self> {
        let rows = p
            .to_dtype(DType::F64)?
            .to_vec2::<f64>()
            .map_err(|_| Error::Shape {
                name: "prototypes",
                expected: "(K, D)".into(),
                got: p.dims().to_vec(),
            })?;
        if rows.is_empty() {
            return Err(Error::NoPrototypes);
        }
        let flat = rows.iter().flatten();
        if let Some(first) = flat.clone().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                name: "prototypes",
                count: flat.filter(|v| !v.is_finite()).count(),
                first,
            });
        }
        let (mut min, mut sum, mut pairs) = (f64::INFINITY, 0f64, 0usize);
        for (j, a) in rows.iter().enumerate() {
            for b in &rows[j + 1..] {
                let dist = a
                    .iter()
                    .zip(b)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f64>()
                    .sqrt();
                min = min.min(dist);
                sum += dist;
                pairs += 1;
            }
        }
        Ok(if pairs == 0 {
            Self {
                min: 0.0,
                mean: 0.0,
            }
        } else {
            Self {
                min,
                mean: sum / pairs as f64,
            }
        })
    }
}

/// What the prototypes' usage looked like over the batches given to a [`Usage`].
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct UsageReport {
    /// Real tokens seen.
    pub tokens: usize,
    /// Share of prototypes whose mean occupancy over all tokens exceeds the threshold.
    pub soft_utilisation: f64,
    /// Share of prototypes that are the argmax of at least one token.
    pub hard_utilisation: f64,
    /// exp(H(pi)), pi the mean occupancy over all tokens: between 1 and K.
    pub perplexity: f64,
    /// Mean over tokens of the assignment entropy H(q_t), in nats.
    pub entropy: f64,
    /// Largest relative identity violation |L_SQ - L_OLS - V| / L_SQ over the batches.
    pub identity_violation: f64,
    /// Mean occupancy over all tokens, (K).
    pub occupancy: Vec<f64>,
}

/// Accumulates prototype usage over batches of assignments (f64 on the host).
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_core::{assign, AssignConfig, Usage};
/// let h = Tensor::randn(0f32, 1., (4, 16, 8), &Device::Cpu)?;
/// let p = Tensor::randn(0f32, 1., (5, 8), &Device::Cpu)?;
/// let mut usage = Usage::new(5, 0.01)?;
/// usage.add(&assign(&h, None, &p, &AssignConfig::new(1.0)?)?)?;
/// let report = usage.report();
/// assert_eq!(report.tokens, 64);
/// assert!(report.perplexity >= 1.0 && report.perplexity <= 5.0);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Usage {
    threshold: f64,
    tokens: usize,
    mass: Vec<f64>,
    hits: Vec<usize>,
    entropy: f64,
    violation: f64,
}

impl Usage {
    /// Tracks `k` prototypes; a prototype counts as used (softly) when its mean occupancy exceeds
    /// `threshold` (in [0, 1)).
    ///
    /// # Errors
    ///
    /// [`Error::NoPrototypes`] for K = 0, [`Error::TooLarge`] above
    /// [`MAX_PROTOTYPES`](crate::MAX_PROTOTYPES), [`Error::NotPositive`] for a threshold
    /// outside [0, 1).
    pub fn new(k: usize, threshold: f64) -> Result<Self> {
        crate::check_prototypes(k)?;
        if !(0.0..1.0).contains(&threshold) {
            return Err(Error::NotPositive {
                name: "utilisation threshold (in [0, 1))",
                value: threshold,
            });
        }
        Ok(Self {
            threshold,
            tokens: 0,
            mass: vec![0.0; k],
            hits: vec![0; k],
            entropy: 0.0,
            violation: 0.0,
        })
    }

    /// Adds one batch.
    pub fn add(&mut self, a: &Assignment) -> Result<()> {
        let k = self.mass.len();
        let (_, _, ka) = a.q.dims3()?;
        if ka != k {
            return Err(Error::Shape {
                name: "assignment",
                expected: format!("(B, T, K) with K = {k}"),
                got: a.q.dims().to_vec(),
            });
        }
        let q =
            a.q.to_dtype(DType::F64)?
                .reshape(((), k))?
                .to_vec2::<f64>()?;
        let real = a
            .mask
            .flatten_all()?
            .to_dtype(DType::F64)?
            .to_vec1::<f64>()?;
        for (row, _) in q.iter().zip(&real).filter(|(_, &m)| m != 0.0) {
            let mut best = 0;
            for (j, &v) in row.iter().enumerate() {
                self.mass[j] += v;
                if v > row[best] {
                    best = j;
                }
                if v > 0.0 {
                    self.entropy -= v * v.ln();
                }
            }
            self.hits[best] += 1;
            self.tokens += 1;
        }
        self.violation = self.violation.max(a.losses.relative_violation()?);
        Ok(())
    }

    /// The report over everything added so far (zeros before any real token).
    pub fn report(&self) -> UsageReport {
        let k = self.mass.len() as f64;
        let n = self.tokens.max(1) as f64;
        let occupancy: Vec<f64> = self.mass.iter().map(|m| m / n).collect();
        let share = |used: usize| used as f64 / k;
        let pi_entropy: f64 = occupancy
            .iter()
            .filter(|&&p| p > 0.0)
            .map(|p| -p * p.ln())
            .sum();
        UsageReport {
            tokens: self.tokens,
            soft_utilisation: share(occupancy.iter().filter(|&&p| p > self.threshold).count()),
            hard_utilisation: share(self.hits.iter().filter(|&&c| c > 0).count()),
            perplexity: if self.tokens == 0 {
                0.0
            } else {
                pi_entropy.exp()
            },
            entropy: self.entropy / n,
            identity_violation: self.violation,
            occupancy,
        }
    }
}

/// The hard assignment `argmax_k q[b,t,k]`, (B, T) as u32 (padding rows give 0).
///
/// ```
/// use candle_core::{Device, Tensor};
/// use ddcl_core::{assign, hard_assignment, AssignConfig};
/// let h = Tensor::new(&[[[0f32, 0.], [5., 5.]]], &Device::Cpu)?;
/// let p = Tensor::new(&[[5f32, 5.], [0., 0.]], &Device::Cpu)?;
/// let a = assign(&h, None, &p, &AssignConfig::new(1.0)?)?;
/// assert_eq!(hard_assignment(&a)?.to_vec2::<u32>()?, vec![vec![1, 0]]);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
pub fn hard_assignment(a: &Assignment) -> Result<Tensor> {
    Ok(a.q.argmax(D::Minus1)?)
}
