//! The two-timescale condition of joint training (see [`crate::math`], "Two timescales").

use crate::{Error, Result};

/// The default bound on eps = eta_E / eta_P.
pub const DEFAULT_EPS_MAX: f64 = 0.1;

/// Whether encoder and prototypes learn on well-separated timescales.
///
/// The prototypes are the fast system: `eps = eta_E / eta_P <= eps_max`. For the prototypes alone
/// (encoder frozen, plain gradient descent) the loss is quadratic in each `p_k` with curvature
/// `2 n_k`, `n_k` the mean occupancy, so a step is stable when `eta_P * 2 * max_k n_k < 2`; the
/// margin reported is `1 - eta_P * max_k n_k` (positive when stable).
///
/// ```
/// let r = ddcl_core::Timescale::check(1e-5, 1e-3, &[0.5, 0.3, 0.2], 0.1)?;
/// assert!(r.holds());
/// assert!((r.eps - 0.01).abs() < 1e-15);
/// # Ok::<(), ddcl_core::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Timescale {
    /// eta_E / eta_P.
    pub eps: f64,
    /// The configured bound on eps.
    pub eps_max: f64,
    /// max_k n_k, the largest mean occupancy.
    pub max_occupancy: f64,
    /// 1 - eta_P * max_k n_k: positive when a prototype step is stable.
    pub step_margin: f64,
}

impl Timescale {
    /// Checks learning rates `eta_e` (encoder) and `eta_p` (prototypes) against `eps_max`, with
    /// the mean occupancy of each prototype (e.g. [`crate::UsageReport::occupancy`]).
    pub fn check(eta_e: f64, eta_p: f64, occupancy: &[f64], eps_max: f64) -> Result<Self> {
        for (name, value) in [("eta_E", eta_e), ("eta_P", eta_p), ("eps_max", eps_max)] {
            if !(value.is_finite() && value > 0.0) {
                return Err(Error::NotPositive { name, value });
            }
        }
        if occupancy.is_empty() {
            return Err(Error::NoPrototypes);
        }
        if let Some(&bad) = occupancy
            .iter()
            .find(|n| !(n.is_finite() && (0.0..=1.0).contains(*n)))
        {
            return Err(Error::NotPositive {
                name: "occupancy (each in [0, 1])",
                value: bad,
            });
        }
        let max_occupancy = occupancy.iter().copied().fold(0.0, f64::max);
        Ok(Self {
            eps: eta_e / eta_p,
            eps_max,
            max_occupancy,
            step_margin: 1.0 - eta_p * max_occupancy,
        })
    }

    /// eps <= eps_max.
    pub fn separated(&self) -> bool {
        self.eps <= self.eps_max
    }

    /// The fast system's step is stable: `eta_P * 2 * max_k n_k < 2`.
    pub fn stable(&self) -> bool {
        self.step_margin > 0.0
    }

    /// Both conditions hold.
    pub fn holds(&self) -> bool {
        self.separated() && self.stable()
    }
}
