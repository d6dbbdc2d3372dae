//! The storages of a CPU op's inputs: one body for f32 and f64, and contiguous access.

use candle_core::{CpuStorage, Layout, Shape};

use super::elem::Elem;

/// The forward of a CPU op with `N` inputs on values of `E`, as candle's own ops write theirs
/// once for every dtype (its `Map1`, `Map2` traits): implemented for every element type the op
/// runs on, and dispatched by [`map`].
pub(crate) trait Map<E, const N: usize> {
    /// The output and its shape from the inputs' values (their whole storages) and layouts.
    fn f(&self, inputs: [(&[E], &Layout); N]) -> candle_core::Result<(CpuStorage, Shape)>;
}

/// Runs `op` on `inputs` when all of them hold f32 or all hold f64; an error naming the op
/// `name` otherwise.
pub(crate) fn map<Op, const N: usize>(
    name: &str,
    op: &Op,
    inputs: [(&CpuStorage, &Layout); N],
) -> candle_core::Result<(CpuStorage, Shape)>
where
    Op: Map<f32, N> + Map<f64, N>,
{
    if let Some(v) = values::<f32, N>(inputs) {
        return <Op as Map<f32, N>>::f(op, v);
    }
    if let Some(v) = values::<f64, N>(inputs) {
        return <Op as Map<f64, N>>::f(op, v);
    }
    candle_core::bail!("{name}: f32 or f64 inputs of one dtype expected")
}

/// The inputs' values as `E`, when every one of them holds `E`.
fn values<'a, E: Elem, const N: usize>(
    inputs: [(&'a CpuStorage, &'a Layout); N],
) -> Option<[(&'a [E], &'a Layout); N]> {
    let v = inputs.map(|(s, l)| (E::of_storage(s), l));
    v.iter()
        .all(|(s, _)| s.is_some())
        .then(|| v.map(|(s, l)| (s.unwrap_or_default(), l)))
}

/// The elements of each contiguous input under its layout; an error naming the op `name` where
/// one is not contiguous.
pub(crate) fn contiguous<'a, E, const N: usize>(
    inputs: [(&'a [E], &'a Layout); N],
    name: &str,
) -> candle_core::Result<[&'a [E]; N]> {
    let mut out = [&[][..]; N];
    for (o, (v, l)) in out.iter_mut().zip(inputs) {
        *o = slice(v, l, name)?;
    }
    Ok(out)
}

/// The elements of a contiguous tensor's storage `v` under layout `l`; an error naming the op
/// `name` otherwise.
fn slice<'a, T>(v: &'a [T], l: &Layout, name: &str) -> candle_core::Result<&'a [T]> {
    match l.contiguous_offsets() {
        Some((start, end)) => Ok(&v[start..end]),
        None => candle_core::bail!("{name} needs contiguous inputs"),
    }
}
