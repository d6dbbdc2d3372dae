//! CPU building blocks of the custom ops: element types, storage access, plain products.

mod elem;
mod gemm;
mod storage;

pub(crate) use elem::Elem;
pub(crate) use gemm::{gemm, matmul};
pub(crate) use storage::{contiguous, map, Map};
