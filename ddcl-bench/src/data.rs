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

impl DataSource {
    /// The file or folder this source reads: the user's path, or its place under [`data_dir`].
    ///
    /// ```
    /// use ddcl_bench::DataSource;
    /// let src = DataSource::ImageFolder { path: "photos".into() };
    /// assert_eq!(src.location(), std::path::Path::new("photos"));
    /// assert!(DataSource::Shuttle.location().ends_with("shuttle.csv"));
    /// ```
    pub fn location(&self) -> PathBuf {
        match self {
            DataSource::RottenTomatoes => data_dir().join("rotten_tomatoes.csv"),
            DataSource::Bbc => data_dir().join("bbc"),
            DataSource::FashionMnist => data_dir().join("fashion-mnist"),
            DataSource::Shuttle => data_dir().join("shuttle.csv"),
            DataSource::TextFile { path, .. }
            | DataSource::ImageFolder { path }
            | DataSource::TabularFile { path, .. } => path.clone(),
        }
    }

    /// An error naming the file or folder unless it is there, so that a run can fail before
    /// any work rather than after the datasets before it.
    ///
    /// ```
    /// use ddcl_bench::DataSource;
    /// let src = DataSource::ImageFolder { path: "no/such/folder".into() };
    /// assert!(src.check_exists().unwrap_err().to_string().contains("no/such/folder"));
    /// ```
    pub fn check_exists(&self) -> Result<()> {
        let p = self.location();
        let folder = matches!(
            self,
            DataSource::Bbc | DataSource::FashionMnist | DataSource::ImageFolder { .. }
        );
        if (folder && p.is_dir()) || (!folder && p.is_file()) {
            return Ok(());
        }
        let kind = if folder { "folder" } else { "file" };
        Err(match self {
            DataSource::TextFile { .. }
            | DataSource::ImageFolder { .. }
            | DataSource::TabularFile { .. } => Error::data(&p, None, format!("no such {kind}")),
            _ => Error::data(
                &p,
                None,
                format!("no such {kind}; run `bash scripts/setup.sh data` (or set DDCL_DATA)"),
            ),
        })
    }
}

/// Loads `source` and keeps a seeded random sample of at most `limit` examples (all when 0).
pub fn load(name: &str, source: &DataSource, limit: usize, seed: u64) -> Result<Dataset> {
    source.check_exists()?;
    let p = source.location();
    let (inputs, names) = match source {
        DataSource::RottenTomatoes => text(user::read_text_file(&p, "text", "label")?),
        DataSource::TextFile { text: t, label, .. } => text(user::read_text_file(&p, t, label)?),
        DataSource::Bbc => text(user::read_text_folder(&p)?),
        DataSource::FashionMnist => {
            let (i, l) = read_fashion(&p, &["train", "t10k"])?;
            (Inputs::Images(i), l)
        }
        DataSource::ImageFolder { .. } => {
            let set = user::read_image_folder(&p)?;
            (Inputs::Images(set.inputs), set.labels)
        }
        DataSource::Shuttle => tabular(user::read_tabular_csv(&p, "Class")?),
        DataSource::TabularFile { label, .. } => tabular(user::read_tabular_csv(&p, label)?),
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
    let ids = user::class_ids(&source.location(), &names)?;
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

/// Fashion-MNIST's IDX files of `parts` (`train`, `t10k`) in `dir`, concatenated.
pub(crate) fn read_fashion(dir: &Path, parts: &[&str]) -> Result<(Vec<DynamicImage>, Vec<String>)> {
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
    for part in parts {
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
        // sizes from the header, checked: a hostile header must not overflow the arithmetic
        let size = rows.checked_mul(cols);
        let total = size
            .and_then(|s| s.checked_mul(n))
            .and_then(|t| t.checked_add(16));
        if total != Some(im.len()) || lb.len().checked_sub(8) != Some(n) {
            return Err(Error::data(&ip, None, "truncated IDX file"));
        }
        let size = size.unwrap_or(0);
        for i in 0..n {
            let px = im[16 + i * size..16 + (i + 1) * size].to_vec();
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
