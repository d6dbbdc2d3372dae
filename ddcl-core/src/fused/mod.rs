//! The fused CPU path: candle custom ops with a forward and a backward of their own.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod backward;
mod distance;
mod finite;
mod forward;
mod gram;
#[cfg(target_arch = "x86_64")]
mod lanes;
mod op;
mod planes;
mod protos;
mod vector;

pub(crate) use finite::NonFinite;
pub(crate) use op::Assign;
