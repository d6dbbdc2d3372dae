//! Encoder outputs (token states and masks) of a dataset, cached on disk as safetensors keyed by
//! model, data and settings, so that the frozen-encoder protocols never re-encode.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use ddcl_readout::{ImageEncoder, TextEncoder};

use crate::data::{Dataset, Inputs};
use crate::error::{Error, Result};
use crate::progress::progress;
use crate::states::States;

/// 64-bit FNV-1a: a cache key that is stable across builds and platforms.
fn fnv(text: &str) -> u64 {
    text.bytes().fold(0xcbf29ce484222325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100000001b3)
    })
}

/// The encoder a dataset needs.
pub enum Encoder<'a> {
    /// For text datasets.
    Text(&'a TextEncoder),
    /// For image datasets.
    Image(&'a ImageEncoder),
}

/// Encodes `data` in batches of `batch` (or reads the cache file keyed by `key` under `dir`).
pub fn encode(
    encoder: Encoder,
    data: &Dataset,
    batch: usize,
    dir: &Path,
    key: &str,
) -> Result<States> {
    let labels: Vec<String> = data.labels.iter().map(|l| l.to_string()).collect();
    let path: PathBuf = dir.join(format!(
        "{:016x}.safetensors",
        fnv(&format!("{key}|{}", labels.join(",")))
    ));
    if path.is_file() {
        if let Ok(t) = candle_core::safetensors::load(&path, &Device::Cpu) {
            if let (Some(h), Some(m)) = (t.get("hidden"), t.get("mask")) {
                if h.dim(0).ok() == Some(data.len()) {
                    return Ok(States {
                        hidden: h.clone(),
                        mask: m.clone(),
                    });
                }
            }
        }
    }
    let n = data.len();
    let pb = progress(n, &format!("encoding {}", data.name));
    let mut parts: Vec<(Tensor, Tensor)> = Vec::new();
    for start in (0..n).step_by(batch.max(1)) {
        let end = (start + batch).min(n);
        let (h, m) = match (&encoder, &data.inputs) {
            (Encoder::Text(e), Inputs::Text(texts)) => {
                let b = e.tokenize(&texts[start..end])?;
                (e.forward(&b)?, b.mask.to_dtype(DType::U8)?)
            }
            (Encoder::Image(e), Inputs::Images(images)) => {
                let h = e.forward(&e.pixels(&images[start..end])?)?;
                let (b, t, _) = h.dims3()?;
                (h, Tensor::ones((b, t), DType::U8, &Device::Cpu)?)
            }
            _ => {
                return Err(Error::Config(format!(
                    "{}: the encoder does not fit the data",
                    data.name
                )))
            }
        };
        parts.push((h.to_dtype(DType::F32)?, m));
        pb.inc((end - start) as u64);
    }
    pb.finish_and_clear();
    let t = parts
        .iter()
        .map(|(h, _)| h.dim(1))
        .collect::<candle_core::Result<Vec<_>>>()?;
    let tmax = t.into_iter().max().unwrap_or(0);
    let pad = |x: &Tensor| -> Result<Tensor> {
        let extra = tmax - x.dim(1)?;
        Ok(if extra == 0 {
            x.clone()
        } else {
            x.pad_with_zeros(1, 0, extra)?
        })
    };
    let hidden = Tensor::cat(
        &parts
            .iter()
            .map(|(h, _)| pad(h))
            .collect::<Result<Vec<_>>>()?,
        0,
    )?;
    let mask = Tensor::cat(
        &parts
            .iter()
            .map(|(_, m)| pad(m))
            .collect::<Result<Vec<_>>>()?,
        0,
    )?;
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let tensors = HashMap::from([
        ("hidden".to_string(), hidden.clone()),
        ("mask".to_string(), mask.clone()),
    ]);
    let tmp = path.with_extension("tmp");
    candle_core::safetensors::save(&tensors, &tmp)?;
    std::fs::rename(&tmp, &path).map_err(|e| Error::io(&path, e))?;
    Ok(States { hidden, mask })
}
