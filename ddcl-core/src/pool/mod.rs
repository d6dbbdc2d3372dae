//! Pooling of the hidden states over the real tokens, each one pass on CPU: the mean (the
//! baseline a readout must beat), the mean over the root of the length, the position-weighted
//! mean, the maximum and the last token.

mod last;
mod linear;
mod max;
mod mean;
mod rows;

pub use last::last_token;
pub use max::masked_max;
pub use mean::{masked_mean, masked_mean_sqrt_len, masked_weighted_mean};
