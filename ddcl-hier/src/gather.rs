//! Rows of a matrix gathered into padded units: the summaries of a level laid out as the next
//! level's sequences, with a mask.

use candle_core::{DType, Tensor};

use crate::Result;

/// Unit `u` of the result holds the rows `layout[u]` of `rows` (R, W) in order, padded with
/// zero rows to the longest unit: (U, max, W) and the mask (U, max) in `rows`' dtype, 1 on real
/// rows. Differentiable in `rows`.
pub(crate) fn gather(rows: &Tensor, layout: &[Vec<usize>]) -> Result<(Tensor, Tensor)> {
    let (r, w) = rows.dims2()?;
    let longest = layout.iter().map(Vec::len).max().unwrap_or(0).max(1);
    let padded = Tensor::cat(
        &[rows, &Tensor::zeros((1, w), rows.dtype(), rows.device())?],
        0,
    )?;
    let (mut index, mut mask) = (Vec::new(), Vec::new());
    for unit in layout {
        index.extend(unit.iter().map(|&i| i as u32));
        index.extend(std::iter::repeat_n(r as u32, longest - unit.len()));
        mask.extend(std::iter::repeat_n(1f32, unit.len()));
        mask.extend(std::iter::repeat_n(0f32, longest - unit.len()));
    }
    let u = layout.len();
    let index = Tensor::from_vec(index, u * longest, rows.device())?;
    let units = padded.index_select(&index, 0)?.reshape((u, longest, w))?;
    let mask = Tensor::from_vec(mask, (u, longest), rows.device())?.to_dtype(rows.dtype())?;
    Ok((units, mask))
}

/// The real rows per sequence of a mask (B, N), as indices into the flattened (B·N) rows.
pub(crate) fn real_rows(mask: &Tensor) -> Result<Vec<Vec<usize>>> {
    let n = mask.dim(1)?;
    let m = mask.to_dtype(DType::F32)?.to_vec2::<f32>()?;
    Ok(m.iter()
        .enumerate()
        .map(|(b, row)| {
            row.iter()
                .enumerate()
                .filter(|(_, &v)| v != 0.0)
                .map(|(i, _)| b * n + i)
                .collect()
        })
        .collect())
}
