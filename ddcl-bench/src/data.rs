//! Datasets: the four real ones fetched by `scripts/setup.sh data`, and user data (CSV or JSONL
//! text, a folder of images per class, CSV tabular), read by [`ddcl_readout::data`].

use std::io::Read;
use std::path::{Path, PathBuf};

use ddcl_readout::data::{self as user, Labelled};
use image::DynamicImage;
use rand::{rngs::StdRng, seq::SliceRandom, SeedableRng};

use crate::{Error, Result};

/// The inputs of a dataset.
pub enum Inputs {
    /// Sentences or documents.
    Text(Vec<String>),
    /// Images (any size, grey or colour).
    Images(Vec<DynamicImage>),
    /// Rows of numeric features.
    Tabular(Vec<Vec<f32>>),
}

/// Inputs with integer labels and class names.
pub struct Dataset {
    /// Name used in reports.
    pub name: String,
    /// The inputs.
    pub inputs: Inputs,
    /// Label of each input, `0..classes.len()`.
    pub labels: Vec<usize>,
    /// Class names, sorted.
    pub classes: Vec<String>,
    /// Position of each example in the source's full list (file rows, or sorted file names).
    pub origin: Vec<usize>,
}

impl Dataset {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Where a dataset comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum DataSource {
    /// Rotten Tomatoes snippets (fresh / rotten), `$DDCL_DATA/rotten_tomatoes.csv`.
    RottenTomatoes,
    /// BBC News documents (5 topics), `$DDCL_DATA/bbc/<topic>/*.txt`.
    Bbc,
    /// Fashion-MNIST images (10 classes), `$DDCL_DATA/fashion-mnist/*-ubyte.gz`.
    FashionMnist,
    /// NASA Statlog Shuttle (9 features, 7 classes), `$DDCL_DATA/shuttle.csv`.
    Shuttle,
    /// A CSV file with a header, or JSON Lines, holding a text and a label column.
    TextFile {
        /// The file (`.csv`, or `.jsonl` / `.json` for JSON Lines).
        path: PathBuf,
        /// Name of the text column.
        text: String,
        /// Name of the label column.
        label: String,
    },
    /// A folder with one sub-folder of images (PNG, JPEG) per class.
    ImageFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A CSV file with a header: a label column and numeric feature columns.
    TabularFile {
        /// The file.
        path: PathBuf,
        /// Name of the label column; every other column is a feature.
        label: String,
    },
}

/// Directory of the fetched datasets: `$DDCL_DATA`, else `~/.cache/ddcl/data`.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("DDCL_DATA") {
        Some(d) => PathBuf::from(d),
        None => {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(".cache/ddcl/data")
        }
    }
}

/// Loads `source` and keeps a seeded random sample of at most `limit` examples (all when 0).
pub fn load(name: &str, source: &DataSource, limit: usize, seed: u64) -> Result<Dataset> {
    let dir = data_dir();
    let missing = |p: &Path| {
        Error::data(
            p,
            None,
            "not found; run `bash scripts/setup.sh data` (or set DDCL_DATA)",
        )
    };
    let (inputs, names) = match source {
        DataSource::RottenTomatoes => {
            let p = dir.join("rotten_tomatoes.csv");
            if !p.is_file() {
                return Err(missing(&p));
            }
            text(user::read_text_file(&p, "text", "label")?)
        }
        DataSource::TextFile {
            path,
            text: t,
            label,
        } => text(user::read_text_file(path, t, label)?),
        DataSource::Bbc => {
            let p = dir.join("bbc");
            if !p.is_dir() {
                return Err(missing(&p));
            }
            text(user::read_text_folder(&p)?)
        }
        DataSource::FashionMnist => {
            let p = dir.join("fashion-mnist");
            if !p.is_dir() {
                return Err(missing(&p));
            }
            let (i, l) = read_fashion(&p)?;
            (Inputs::Images(i), l)
        }
        DataSource::ImageFolder { path } => {
            let set = user::read_image_folder(path)?;
            (Inputs::Images(set.inputs), set.labels)
        }
        DataSource::Shuttle => {
            let p = dir.join("shuttle.csv");
            if !p.is_file() {
                return Err(missing(&p));
            }
            tabular(user::read_tabular_csv(&p, "Class")?)
        }
        DataSource::TabularFile { path, label } => tabular(user::read_tabular_csv(path, label)?),
    };
    let data = label(name, inputs, names, source)?;
    Ok(sample(data, limit, seed))
}

fn text(set: Labelled<String>) -> (Inputs, Vec<String>) {
    (Inputs::Text(set.inputs), set.labels)
}

fn tabular(set: Labelled<Vec<f32>>) -> (Inputs, Vec<String>) {
    (Inputs::Tabular(set.inputs), set.labels)
}

/// Turns label names into indices; at least two classes are required.
fn label(name: &str, inputs: Inputs, names: Vec<String>, source: &DataSource) -> Result<Dataset> {
    let path = match source {
        DataSource::TextFile { path, .. }
        | DataSource::ImageFolder { path }
        | DataSource::TabularFile { path, .. } => path.clone(),
        _ => data_dir(),
    };
    let ids = user::class_ids(&path, &names)?;
    Ok(Dataset {
        name: name.to_string(),
        inputs,
        labels: ids.ids,
        classes: ids.classes,
        origin: (0..names.len()).collect(),
    })
}

/// A seeded random sample of at most `limit` examples (0 = all), in a seeded order.
fn sample(data: Dataset, limit: usize, seed: u64) -> Dataset {
    let mut order: Vec<usize> = (0..data.len()).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    if limit > 0 {
        order.truncate(limit);
    }
    let inputs = match data.inputs {
        Inputs::Text(v) => Inputs::Text(pick(v, &order)),
        Inputs::Images(v) => Inputs::Images(pick(v, &order)),
        Inputs::Tabular(v) => Inputs::Tabular(pick(v, &order)),
    };
    Dataset {
        labels: order.iter().map(|&i| data.labels[i]).collect(),
        origin: order.iter().map(|&i| data.origin[i]).collect(),
        inputs,
        ..data
    }
}

fn pick<T>(v: Vec<T>, order: &[usize]) -> Vec<T> {
    let mut slots: Vec<Option<T>> = v.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| slots[i].take()).collect()
}

/// A train/test partition of `0..n`: a seeded shuffle, the first `train` share for training.
///
/// ```
/// let (train, test) = ddcl_bench::split(10, 0.7, 3);
/// assert_eq!((train.len(), test.len()), (7, 3));
/// ```
pub fn split(n: usize, train_share: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed ^ 0x5eed));
    let cut = ((n as f64) * train_share).round() as usize;
    let test = order.split_off(cut.min(n));
    (order, test)
}

fn read_gz(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    flate2::read::GzDecoder::new(file)
        .read_to_end(&mut out)
        .map_err(|e| Error::data(path, None, format!("not a gzip file: {e}")))?;
    Ok(out)
}

/// Fashion-MNIST's train and test IDX files, concatenated.
fn read_fashion(dir: &Path) -> Result<(Vec<DynamicImage>, Vec<String>)> {
    const NAMES: [&str; 10] = [
        "t-shirt",
        "trouser",
        "pullover",
        "dress",
        "coat",
        "sandal",
        "shirt",
        "sneaker",
        "bag",
        "ankle-boot",
    ];
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for part in ["train", "t10k"] {
        let ip = dir.join(format!("{part}-images-idx3-ubyte.gz"));
        let lp = dir.join(format!("{part}-labels-idx1-ubyte.gz"));
        let (im, lb) = (read_gz(&ip)?, read_gz(&lp)?);
        let be = |b: &[u8], at: usize| {
            u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]) as usize
        };
        if im.len() < 16 || be(&im, 0) != 2051 {
            return Err(Error::data(&ip, None, "not an IDX image file"));
        }
        if lb.len() < 8 || be(&lb, 0) != 2049 {
            return Err(Error::data(&lp, None, "not an IDX label file"));
        }
        let (n, rows, cols) = (be(&im, 4), be(&im, 8), be(&im, 12));
        if im.len() != 16 + n * rows * cols || lb.len() != 8 + n {
            return Err(Error::data(&ip, None, "truncated IDX file"));
        }
        for i in 0..n {
            let px = im[16 + i * rows * cols..16 + (i + 1) * rows * cols].to_vec();
            let grey = image::GrayImage::from_raw(cols as u32, rows as u32, px)
                .ok_or_else(|| Error::data(&ip, None, "bad image size"))?;
            images.push(DynamicImage::ImageLuma8(grey));
            let l = lb[8 + i] as usize;
            labels.push(
                NAMES
                    .get(l)
                    .map_or_else(|| l.to_string(), |s| format!("{l}-{s}")),
            );
        }
    }
    Ok((images, labels))
}
