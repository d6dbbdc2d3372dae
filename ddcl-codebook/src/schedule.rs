//! Temperature schedules over training steps.

use std::f64::consts::PI;

use crate::{Error, Result};

/// A value that moves from `start` to `end` over `steps` training steps and stays at `end` after.
///
/// Used for the DDCL codebook's temperature (or, with a relative temperature, for the factor on
/// the current distance scale). Step 0 gives `start` for every shape.
///
/// ```
/// use ddcl_codebook::TauSchedule;
/// let s = TauSchedule::Exponential { start: 1.0, end: 0.01, steps: 100 };
/// s.validate()?;
/// assert!((s.at(50) - 0.1).abs() < 1e-12);
/// assert_eq!(s.at(1_000), 0.01);
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TauSchedule {
    /// The same value at every step.
    Constant(f64),
    /// `start + (end - start) s / steps`.
    Linear {
        /// Value at step 0.
        start: f64,
        /// Value from step `steps` on (the minimum when annealing down).
        end: f64,
        /// Length of the ramp.
        steps: usize,
    },
    /// `start (end / start)^(s / steps)`: geometric interpolation.
    Exponential {
        /// Value at step 0.
        start: f64,
        /// Value from step `steps` on.
        end: f64,
        /// Length of the ramp.
        steps: usize,
    },
    /// `end + (start - end) (1 + cos(pi s / steps)) / 2`: cosine annealing.
    Cosine {
        /// Value at step 0.
        start: f64,
        /// Value from step `steps` on.
        end: f64,
        /// Length of the ramp.
        steps: usize,
    },
}

impl TauSchedule {
    /// The value at training step `step`.
    ///
    /// ```
    /// use ddcl_codebook::TauSchedule;
    /// let s = TauSchedule::Linear { start: 1.0, end: 0.5, steps: 10 };
    /// assert_eq!((s.at(0), s.at(5), s.at(10), s.at(11)), (1.0, 0.75, 0.5, 0.5));
    /// ```
    pub fn at(&self, step: usize) -> f64 {
        // the ramp's shape as a function of (start, end, progress in [0, 1)); `end` exactly after
        let ramp = |start: f64, end: f64, steps: usize, shape: fn(f64, f64, f64) -> f64| {
            if step >= steps {
                end
            } else {
                shape(start, end, step as f64 / steps as f64)
            }
        };
        match *self {
            Self::Constant(v) => v,
            Self::Linear { start, end, steps } => {
                ramp(start, end, steps, |a, b, f| a + (b - a) * f)
            }
            Self::Exponential { start, end, steps } => {
                ramp(start, end, steps, |a, b, f| a * (b / a).powf(f))
            }
            Self::Cosine { start, end, steps } => ramp(start, end, steps, |a, b, f| {
                b + (a - b) * (1.0 + (PI * f).cos()) / 2.0
            }),
        }
    }

    /// Every value the schedule takes must be finite and > 0: checks `start` and `end`.
    ///
    /// ```
    /// use ddcl_codebook::{Error, TauSchedule};
    /// let err = TauSchedule::Constant(0.0).validate().unwrap_err();
    /// assert!(matches!(err, Error::Temperature { value, .. } if value == 0.0));
    /// ```
    pub fn validate(&self) -> Result<()> {
        let values = match *self {
            Self::Constant(v) => [v, v],
            Self::Linear { start, end, .. }
            | Self::Exponential { start, end, .. }
            | Self::Cosine { start, end, .. } => [start, end],
        };
        for value in values {
            if !(value.is_finite() && value > 0.0) {
                return Err(Error::Temperature {
                    name: "tau schedule",
                    value,
                });
            }
        }
        Ok(())
    }
}
