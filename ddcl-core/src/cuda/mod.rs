//! The fused kernels on NVIDIA GPUs (feature `cuda`): the `cuda_fwd` of the custom ops in
//! `fused::op`, from PTX that the build compiles out of `kernels/assign.cu`. f32, bf16 and f16
//! inputs, every product and reduction accumulated in f32; the output layout is the CPU ops'
//! (`fused::planes`), so one op serves both devices and autograd is the same.

mod backward;
mod forward;
mod launch;

pub(crate) use backward::backward;
pub(crate) use forward::forward;

/// Tokens N, prototypes K and width D of one call.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dims {
    pub n: usize,
    pub k: usize,
    pub d: usize,
}

/// The most prototypes the forward kernel holds in shared memory (12 K bytes per token row).
pub(crate) const MAX_K: usize = 2048;
