//! The identity `L_SQ = L_OLS + V` over a whole run: every step's relative residual
//! `|L_SQ - L_OLS - V| / L_SQ`, the largest, and how many steps exceed the f32 and f64
//! tolerances.

use serde::Serialize;

/// Tolerance of the relative residual in f32 arithmetic.
pub const F32_TOLERANCE: f64 = 1e-5;
/// Tolerance of the relative residual in f64 arithmetic.
pub const F64_TOLERANCE: f64 = 1e-12;

/// The identity's residuals over the steps of a run.
///
/// ```
/// use ddcl_readout::IdentityTally;
///
/// let mut t = IdentityTally::default();
/// t.add(3e-7);
/// t.add(2e-5);
/// assert_eq!((t.steps, t.above_f32, t.above_f64), (2, 1, 2));
/// assert_eq!(t.max_residual, 2e-5);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct IdentityTally {
    /// Steps counted.
    pub steps: usize,
    /// Largest relative residual seen (NaN if any step's residual was NaN).
    pub max_residual: f64,
    /// Steps whose residual exceeds [`F32_TOLERANCE`] (or is not finite).
    pub above_f32: usize,
    /// Steps whose residual exceeds [`F64_TOLERANCE`] (or is not finite).
    pub above_f64: usize,
}

impl IdentityTally {
    /// Counts one step's relative residual.
    ///
    /// ```
    /// let mut t = ddcl_readout::IdentityTally::default();
    /// t.add(f64::NAN);
    /// assert!(t.max_residual.is_nan() && t.above_f32 == 1);
    /// ```
    pub fn add(&mut self, residual: f64) {
        self.steps += 1;
        if residual.is_nan() || self.max_residual.is_nan() {
            self.max_residual = f64::NAN;
        } else {
            self.max_residual = self.max_residual.max(residual);
        }
        let above = |tol: f64| usize::from(residual.is_nan() || residual > tol);
        self.above_f32 += above(F32_TOLERANCE);
        self.above_f64 += above(F64_TOLERANCE);
    }

    /// Both tallies together, as if one run had taken all their steps.
    ///
    /// ```
    /// use ddcl_readout::IdentityTally;
    /// let (mut a, mut b) = (IdentityTally::default(), IdentityTally::default());
    /// a.add(1e-6);
    /// b.add(1e-4);
    /// let c = a.merge(&b);
    /// assert_eq!((c.steps, c.above_f32, c.max_residual), (2, 1, 1e-4));
    /// ```
    pub fn merge(&self, other: &Self) -> Self {
        let max_residual = if self.max_residual.is_nan() || other.max_residual.is_nan() {
            f64::NAN
        } else {
            self.max_residual.max(other.max_residual)
        };
        Self {
            steps: self.steps + other.steps,
            max_residual,
            above_f32: self.above_f32 + other.above_f32,
            above_f64: self.above_f64 + other.above_f64,
        }
    }
}
