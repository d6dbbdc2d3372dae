//! Access to the storage of a CPU op's inputs.

use candle_core::Layout;

/// The elements of a contiguous tensor's storage `v` under layout `l`; an error naming the op
/// `name` otherwise.
pub(crate) fn slice<'a, T>(v: &'a [T], l: &Layout, name: &str) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&v[start..end]),
        None => candle_core::bail!("{name} needs contiguous inputs"),
    }
}
