//! The vectorised forward kernel of each element type, where the CPU runs one.

use crate::cpu::Elem;

use super::planes::BlockIo;
use super::protos::Protos;

/// An element type of the fused forward, with the hooks of its vectorised kernel.
pub(crate) trait Vectorised: Elem {
    /// The prototype bank laid out for a vectorised forward kernel of this type.
    type Vector: Sync;
    /// The vectorised kernel's layout of `protos`, when this CPU runs one for this type and K.
    fn vector(protos: &Protos<Self>) -> Option<Self::Vector>;
    /// One block of the forward on the vectorised kernel; the portable one's results up to
    /// rounding.
    fn vector_block(
        v: &Self::Vector,
        protos: &Protos<Self>,
        p: &[Self],
        tau: f64,
        io: &mut BlockIo<Self>,
    );
}

impl Vectorised for f32 {
    #[cfg(target_arch = "x86_64")]
    type Vector = super::avx512::Packed;
    #[cfg(not(target_arch = "x86_64"))]
    type Vector = std::convert::Infallible;
    #[cfg(target_arch = "x86_64")]
    fn vector(protos: &Protos<Self>) -> Option<Self::Vector> {
        super::avx512::Packed::new(protos)
    }
    #[cfg(target_arch = "x86_64")]
    fn vector_block(
        v: &Self::Vector,
        protos: &Protos<Self>,
        p: &[Self],
        tau: f64,
        io: &mut BlockIo<Self>,
    ) {
        v.block(protos, p, tau, io)
    }
    #[cfg(not(target_arch = "x86_64"))]
    fn vector(_: &Protos<Self>) -> Option<Self::Vector> {
        None
    }
    #[cfg(not(target_arch = "x86_64"))]
    fn vector_block(v: &Self::Vector, _: &Protos<Self>, _: &[Self], _: f64, _: &mut BlockIo<Self>) {
        match *v {}
    }
}

impl Vectorised for f64 {
    type Vector = std::convert::Infallible;
    fn vector(_: &Protos<Self>) -> Option<Self::Vector> {
        None
    }
    fn vector_block(v: &Self::Vector, _: &Protos<Self>, _: &[Self], _: f64, _: &mut BlockIo<Self>) {
        match *v {}
    }
}
