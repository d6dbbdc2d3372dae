//! scikit-learn's stopping rule around argmin's L-BFGS.
//!
//! argmin's L-BFGS stops on the L2 norm of the gradient and on an absolute change of the cost;
//! scikit-learn (through scipy's L-BFGS-B) stops when the largest absolute entry of the
//! gradient is at most `tol`, or when the cost's relative reduction is at most `64·ε`. This
//! solver runs argmin's iterations and applies scikit-learn's rule instead, so that `tol` means
//! what it means there.

use argmin::core::{Error, IterState, Problem, Solver, TerminationReason, TerminationStatus, KV};

/// The state of an L-BFGS run on `Vec<f64>` parameters.
pub(super) type LbfgsState = IterState<Vec<f64>, Vec<f64>, (), (), (), f64>;

/// scipy's `ftol` as scikit-learn sets it: `64·ε`.
const FTOL: f64 = 64.0 * f64::EPSILON;

/// `inner`'s iterations under scikit-learn's stopping rule with gradient tolerance `tol`.
pub(super) struct SklearnStop<S> {
    pub(super) inner: S,
    pub(super) tol: f64,
}

/// The largest absolute entry of the state's gradient (infinite before there is one).
pub(super) fn max_abs_gradient(state: &LbfgsState) -> f64 {
    state.get_gradient().map_or(f64::INFINITY, |g| {
        g.iter().fold(0.0, |m: f64, g| m.max(g.abs()))
    })
}

impl<O, S: Solver<O, LbfgsState>> Solver<O, LbfgsState> for SklearnStop<S> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn init(
        &mut self,
        problem: &mut Problem<O>,
        state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), Error> {
        self.inner.init(problem, state)
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<O>,
        state: LbfgsState,
    ) -> Result<(LbfgsState, Option<KV>), Error> {
        self.inner.next_iter(problem, state)
    }

    fn terminate(&mut self, state: &LbfgsState) -> TerminationStatus {
        if max_abs_gradient(state) <= self.tol {
            return TerminationStatus::Terminated(TerminationReason::SolverConverged);
        }
        let (prev, cost) = (state.get_prev_cost(), state.get_cost());
        if prev.is_finite() && (prev - cost) / prev.abs().max(cost.abs()).max(1.0) <= FTOL {
            return TerminationStatus::Terminated(TerminationReason::SolverConverged);
        }
        TerminationStatus::NotTerminated
    }
}
