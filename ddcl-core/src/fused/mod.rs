//! The fused CPU path: candle custom ops with a forward and a backward of their own.

#[cfg(target_arch = "x86_64")]
mod avx512;
mod backward;
mod elem;
mod finite;
mod forward;
mod op;
mod protos;

pub(crate) use elem::{gemm, slice, Elem};
pub(crate) use finite::NonFinite;
pub(crate) use op::Assign;
