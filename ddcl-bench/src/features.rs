//! Encoder outputs (token states and masks) of a dataset, cached on disk as safetensors under
//! a content key, so that the frozen-encoder protocols never re-encode what they have seen and
//! never reuse what they have not.
//!
//! The key ([`CacheKey`]) is a BLAKE3 hash of everything the features depend on:
//!
//! - the model: the bytes of each file the encoder reads ([`ModelFiles`]: weights, config,
//!   tokenizer), so a retrained or re-downloaded model is a new key;
//! - the data: the encoder's inputs in the order encoded — each text's bytes, each decoded
//!   image's size, colour type and pixels — which covers the file's content, the columns read,
//!   the sample `limit` and the `seed` that drew and ordered it (a second CSV under the same
//!   dataset name is another key; one whose bytes differ only where no input is read is not);
//! - the preprocessing: the token limit of text, the image size of images (with the mean and
//!   standard deviation, from the hashed config);
//! - the code: [`FORMAT`] and the crate version.
//!
//! The batch size is not part of the key: token states of padding are stored as zeros, so the
//! batching does not change what is stored.

use std::io::Write;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use ddcl_readout::{AtomicFile, Bucket, ImageEncoder, ModelSource, TextEncoder};

use crate::data::{Dataset, Inputs};
use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::states::States;

/// Version of what the cache stores and how its key is built; part of every key, so a change
/// here retires the old files.
pub const FORMAT: &str = "ddcl-bench features 2";

/// The identity of a model: a BLAKE3 hash of the names and bytes of the files its encoder reads.
///
/// Hashing ~90 MB of weights takes well under a second per run (BLAKE3 runs at GB/s on one
/// core), so the files are hashed each run rather than trusting size and modification time.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("config.json"), "{}")?;
/// let model = ddcl_readout::ModelSource::new(dir.path().to_str().unwrap());
/// let a = ddcl_bench::ModelFiles::hash(&model, &["config.json"])?;
/// std::fs::write(dir.path().join("config.json"), "{ }")?;
/// assert_ne!(a, ddcl_bench::ModelFiles::hash(&model, &["config.json"])?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    digest: blake3::Hash,
}

impl ModelFiles {
    /// Hashes the files `names` of `model`, resolved as the encoders resolve them.
    pub fn hash(model: &ModelSource, names: &[&str]) -> Result<Self> {
        let mut h = blake3::Hasher::new();
        for name in names {
            let path = model.file(name)?;
            let file = std::fs::File::open(&path).map_err(|e| Error::io(&path, e))?;
            field(&mut h, name.as_bytes());
            h.update_reader(file).map_err(|e| Error::io(&path, e))?;
        }
        Ok(Self {
            digest: h.finalize(),
        })
    }
}

/// The encoder a dataset needs.
pub enum Encoder<'a> {
    /// For text datasets.
    Text(&'a TextEncoder),
    /// For image datasets.
    Image(&'a ImageEncoder),
}

/// The content key of a dataset's features (see the module documentation).
///
/// ```
/// use ddcl_bench::{CacheKey, Inputs, ModelFiles};
/// # let dir = tempfile::tempdir()?;
/// # std::fs::write(dir.path().join("w"), "weights")?;
/// let model = ModelFiles::hash(&ddcl_readout::ModelSource::new(dir.path().to_str().unwrap()), &["w"])?;
/// let texts = |t: &[&str]| Inputs::Text(t.iter().map(|s| s.to_string()).collect());
/// let a = CacheKey::new(&model, &[("max_len", 64)], &texts(&["good", "bad"]));
/// assert_eq!(a, CacheKey::new(&model, &[("max_len", 64)], &texts(&["good", "bad"])));
/// assert_ne!(a, CacheKey::new(&model, &[("max_len", 64)], &texts(&["bad", "good"])));
/// assert_ne!(a, CacheKey::new(&model, &[("max_len", 32)], &texts(&["good", "bad"])));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CacheKey {
    digest: blake3::Hash,
}

impl CacheKey {
    /// The key of `inputs` encoded by the model `model` with the preprocessing `settings`.
    pub fn new(model: &ModelFiles, settings: &[(&str, usize)], inputs: &Inputs) -> Self {
        let mut h = blake3::Hasher::new();
        field(&mut h, FORMAT.as_bytes());
        field(&mut h, env!("CARGO_PKG_VERSION").as_bytes());
        field(&mut h, model.digest.as_bytes());
        for (name, value) in settings {
            field(&mut h, name.as_bytes());
            h.update(&(*value as u64).to_le_bytes());
        }
        match inputs {
            Inputs::Text(texts) => {
                field(&mut h, b"text");
                h.update(&(texts.len() as u64).to_le_bytes());
                for t in texts {
                    field(&mut h, t.as_bytes());
                }
            }
            Inputs::Images(images) => {
                field(&mut h, b"images");
                h.update(&(images.len() as u64).to_le_bytes());
                for im in images {
                    h.update(&im.width().to_le_bytes());
                    h.update(&im.height().to_le_bytes());
                    field(&mut h, format!("{:?}", im.color()).as_bytes());
                    field(&mut h, im.as_bytes());
                }
            }
            Inputs::Tabular(rows) => {
                field(&mut h, b"tabular");
                h.update(&(rows.len() as u64).to_le_bytes());
                for r in rows {
                    h.update(&(r.len() as u64).to_le_bytes());
                    for x in r {
                        h.update(&x.to_le_bytes());
                    }
                }
            }
        }
        Self {
            digest: h.finalize(),
        }
    }

    /// The cache file of this key under `dir`.
    pub fn path(&self, dir: &Path) -> PathBuf {
        dir.join(format!("{}.safetensors", self.digest.to_hex()))
    }
}

/// Feeds `bytes` to `h` behind their length, so that consecutive fields cannot run together.
fn field(h: &mut blake3::Hasher, bytes: &[u8]) {
    h.update(&(bytes.len() as u64).to_le_bytes());
    h.update(bytes);
}

/// Encodes `data` in batches of `batch`, or reads its features from the cache under `dir` when
/// the content key of `model`, the encoder's preprocessing and the inputs has been seen. A
/// new cache file is written atomically (temporary file, fsync, rename).
pub fn encode(
    encoder: Encoder,
    model: &ModelFiles,
    data: &Dataset,
    batch: usize,
    dir: &Path,
) -> Result<States> {
    let settings = match &encoder {
        Encoder::Text(e) => [("max_len", e.max_len())],
        Encoder::Image(e) => [("image_size", e.vit().config().image_size)],
    };
    let path = CacheKey::new(model, &settings, &data.inputs).path(dir);
    if let Some(states) = read_cached(&path, data.len()) {
        return Ok(states);
    }
    let n = data.len();
    let unit = match &data.inputs {
        Inputs::Images(_) => "images",
        _ => "texts",
    };
    let pb = Progress::new(n, &format!("encoding {}", data.name), unit);
    // token states with padding zeroed, as (hidden, mask) per batch
    let zeroed = |h: Tensor, m: Tensor| -> Result<(Tensor, Tensor)> {
        let h = h
            .to_dtype(DType::F32)?
            .broadcast_mul(&m.to_dtype(DType::F32)?.unsqueeze(2)?)?;
        Ok((h, m))
    };
    let mut parts: Vec<(Tensor, Tensor)> = Vec::new();
    // texts go in batches of similar length (little padding), put back in order at the end
    let mut buckets: Vec<Bucket> = Vec::new();
    match (&encoder, &data.inputs) {
        (Encoder::Text(e), Inputs::Text(texts)) => {
            buckets = e.tokenize_by_length(texts, batch.max(1))?;
            for b in &buckets {
                parts.push(zeroed(
                    e.forward(&b.batch)?,
                    b.batch.mask.to_dtype(DType::U8)?,
                )?);
                pb.inc(b.rows.len() as u64);
            }
        }
        (Encoder::Image(e), Inputs::Images(images)) => {
            for start in (0..n).step_by(batch.max(1)) {
                let end = (start + batch).min(n);
                let h = e.forward(&e.pixels(&images[start..end])?)?;
                let (b, t, _) = h.dims3()?;
                parts.push(zeroed(h, Tensor::ones((b, t), DType::U8, &Device::Cpu)?)?);
                pb.inc((end - start) as u64);
            }
        }
        _ => {
            return Err(Error::Config(format!(
                "{}: the encoder does not fit the data",
                data.name
            )))
        }
    }
    pb.finish_and_clear();
    let tmax = parts
        .iter()
        .map(|(h, _)| h.dim(1))
        .collect::<candle_core::Result<Vec<_>>>()?
        .into_iter()
        .max()
        .unwrap_or(0);
    let pad = |x: &Tensor| -> Result<Tensor> {
        let extra = tmax - x.dim(1)?;
        Ok(if extra == 0 {
            x.clone()
        } else {
            x.pad_with_zeros(1, 0, extra)?
        })
    };
    let cat = |pick: fn(&(Tensor, Tensor)) -> &Tensor| -> Result<Tensor> {
        let padded = parts
            .iter()
            .map(|p| pad(pick(p)))
            .collect::<Result<Vec<_>>>()?;
        Ok(if buckets.is_empty() {
            Tensor::cat(&padded, 0)?
        } else {
            Bucket::restore(&buckets, &padded)?
        })
    };
    let states = States {
        hidden: cat(|p| &p.0)?,
        mask: cat(|p| &p.1)?,
    };
    store(&path, &states)?;
    Ok(states)
}

/// The states stored at `path` by [`encode`], if the file is there, reads and holds `n`
/// examples with a (B, T) mask for (B, T, D) hidden states; `None` for anything else (a missing,
/// foreign, truncated or corrupt file), which [`encode`] then encodes again.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("features.safetensors");
/// std::fs::write(&path, b"not safetensors")?;
/// assert!(ddcl_bench::read_cached(&path, 3).is_none());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_cached(path: &Path, n: usize) -> Option<States> {
    let mut t = candle_core::safetensors::load(path, &Device::Cpu).ok()?;
    let (hidden, mask) = (t.remove("hidden")?, t.remove("mask")?);
    let (b, tokens, _) = hidden.dims3().ok()?;
    (b == n && mask.dims2().ok()? == (b, tokens)).then_some(States { hidden, mask })
}

/// Writes `states` to `path` atomically: the bytes go to a temporary file beside it, which is
/// synced to disk and renamed over it ([`AtomicFile`]).
fn store(path: &Path, states: &States) -> Result<()> {
    let bytes = safetensors::serialize(
        [("hidden", &states.hidden), ("mask", &states.mask)],
        Some(
            [("format".to_string(), FORMAT.to_string())]
                .into_iter()
                .collect(),
        ),
    )
    .map_err(|e| Error::data(path, None, format!("cannot serialise the features: {e}")))?;
    let mut file = AtomicFile::create(path)?;
    file.write_all(&bytes).map_err(|e| Error::io(path, e))?;
    Ok(file.commit()?)
}
