//! The element types of the CPU kernels.

use std::ops::{Add, Mul, Sub};

use candle_core::CpuStorage;

/// A float the CPU kernels run on (f32 or f64). Matrix products run in `Self`; every per-token
/// reduction is accumulated in f64.
pub(crate) trait Elem:
    Copy
    + Send
    + Sync
    + 'static
    + Default
    + PartialEq
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
{
    const ZERO: Self;
    const ONE: Self;
    /// The machine epsilon of `Self`, as f64.
    const EPSILON: f64;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    /// The values of `s`, when it holds this type.
    fn of_storage(s: &CpuStorage) -> Option<&[Self]>;
    /// `v` as a CPU storage.
    fn into_storage(v: Vec<Self>) -> CpuStorage;
}

impl Elem for f32 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: f64 = f32::EPSILON as f64;
    fn to_f64(self) -> f64 {
        self as f64
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn of_storage(s: &CpuStorage) -> Option<&[Self]> {
        match s {
            CpuStorage::F32(v) => Some(v),
            _ => None,
        }
    }
    fn into_storage(v: Vec<Self>) -> CpuStorage {
        CpuStorage::F32(v)
    }
}

impl Elem for f64 {
    const ZERO: Self = 0.0;
    const ONE: Self = 1.0;
    const EPSILON: f64 = f64::EPSILON;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn of_storage(s: &CpuStorage) -> Option<&[Self]> {
        match s {
            CpuStorage::F64(v) => Some(v),
            _ => None,
        }
    }
    fn into_storage(v: Vec<Self>) -> CpuStorage {
        CpuStorage::F64(v)
    }
}
