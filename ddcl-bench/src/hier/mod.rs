//! The hierarchical experiment's parts: its configuration, the cached chunk token states, the
//! mean-pooling baselines, the fitted DDCL variants, the streaming measurements, the rows and
//! the plot. `protocol::hier` runs it.

pub(crate) mod baselines;
pub(crate) mod chunks;
pub mod config;
pub(crate) mod plot;
pub mod results;
pub(crate) mod scaling;
pub(crate) mod variant;
