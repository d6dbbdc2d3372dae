//! Checkpoints: safetensors files with the run's config in their metadata, written atomically.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use candle_core::{DType, Device, Tensor};

use crate::{AtomicFile, Error, Result};

/// Metadata key naming the file format.
pub const FORMAT_KEY: &str = "format";
/// Value of [`FORMAT_KEY`] in ddcl checkpoints.
pub const FORMAT: &str = "ddcl-checkpoint/1";

/// Writes `tensors` and `metadata` (plus the format tag) as safetensors to `path` atomically:
/// into a temporary file beside it, flushed to disk, then renamed over `path`. A crash leaves
/// either the old file or the new one, never a torn one.
///
/// ```
/// use std::collections::HashMap;
/// use candle_core::{Device, Tensor};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("ckpt.safetensors");
/// let t = Tensor::new(&[1f32, 2., 3.], &Device::Cpu)?;
/// let meta = HashMap::from([("step".to_string(), "7".to_string())]);
/// ddcl_readout::save_checkpoint(&path, &[("w".to_string(), t)], meta)?;
/// let (tensors, meta) = ddcl_readout::load_checkpoint(&path, &Device::Cpu)?;
/// assert_eq!(tensors["w"].to_vec1::<f32>()?, [1., 2., 3.]);
/// assert_eq!(meta["step"], "7");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn save_checkpoint(
    path: &Path,
    tensors: &[(String, Tensor)],
    mut metadata: HashMap<String, String>,
) -> Result<()> {
    let mut names = std::collections::HashSet::new();
    if let Some((name, _)) = tensors.iter().find(|(n, _)| !names.insert(n.as_str())) {
        return Err(Error::checkpoint(
            path,
            format!("tensor `{name}` given twice: names must be unique"),
        ));
    }
    metadata.insert(FORMAT_KEY.to_string(), FORMAT.to_string());
    let contiguous = tensors
        .iter()
        .map(|(k, t)| Ok((k.clone(), t.contiguous()?)))
        .collect::<Result<Vec<_>>>()?;
    let bytes = safetensors::serialize(
        contiguous.iter().map(|(k, t)| (k.as_str(), t)),
        Some(metadata),
    )
    .map_err(|e| Error::checkpoint(path, e))?;
    let mut file = AtomicFile::create(path)?;
    file.write_all(&bytes).map_err(|e| Error::io(path, e))?;
    file.commit()
}

/// Reads a checkpoint written by [`save_checkpoint`]: its tensors (on `device`) and metadata.
/// A truncated or corrupt file, one without the ddcl format tag, or a float tensor holding NaN
/// or infinity is an [`Error::Checkpoint`] naming the file (and the tensor).
///
/// ```
/// use std::collections::HashMap;
/// use candle_core::{Device, Tensor};
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("ckpt.safetensors");
/// let t = Tensor::new(&[1f32, f32::NAN], &Device::Cpu)?;
/// ddcl_readout::save_checkpoint(&path, &[("w".to_string(), t)], HashMap::new())?;
/// let err = ddcl_readout::load_checkpoint(&path, &Device::Cpu).unwrap_err();
/// assert!(err.to_string().ends_with("ckpt.safetensors: tensor `w` holds 1 non-finite value(s)"), "{err}");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn load_checkpoint(
    path: &Path,
    device: &Device,
) -> Result<(HashMap<String, Tensor>, HashMap<String, String>)> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).map_err(|e| {
        Error::checkpoint(path, format!("truncated or not a safetensors file ({e})"))
    })?;
    let metadata = header.metadata().clone().unwrap_or_default();
    match metadata.get(FORMAT_KEY) {
        Some(f) if f == FORMAT => {}
        other => {
            return Err(Error::checkpoint(
                path,
                format!("not a ddcl checkpoint (format {other:?}, expected {FORMAT:?})"),
            ))
        }
    }
    let tensors = candle_core::safetensors::load_buffer(&bytes, device)
        .map_err(|e| Error::checkpoint(path, format!("truncated or corrupt tensor data ({e})")))?;
    for (name, t) in &tensors {
        let bad =
            non_finite(t).map_err(|e| Error::checkpoint(path, format!("tensor `{name}`: {e}")))?;
        if bad > 0 {
            return Err(Error::checkpoint(
                path,
                format!("tensor `{name}` holds {bad} non-finite value(s)"),
            ));
        }
    }
    Ok((tensors, metadata))
}

/// The number of NaN and infinite values of `t` (0 for integer dtypes).
fn non_finite(t: &Tensor) -> Result<usize> {
    if !t.dtype().is_float() {
        return Ok(0);
    }
    // x - x is 0 for finite values and NaN otherwise; NaN is the one value unequal to itself
    let z = t.flatten_all()?.sub(&t.flatten_all()?)?;
    Ok(z.ne(&z)?
        .to_dtype(DType::U32)?
        .sum_all()?
        .to_scalar::<u32>()? as usize)
}
