//! Datasets: the four real ones fetched by `scripts/setup.sh data`, and user data (CSV or JSONL
//! text, a folder of images per class, CSV tabular).

use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

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
            let (t, l) = read_text_csv(&p, "text", "label")?;
            (Inputs::Text(t), l)
        }
        DataSource::TextFile { path, text, label } => {
            let jsonl = matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("jsonl" | "json")
            );
            let (t, l) = if jsonl {
                read_text_jsonl(path, text, label)?
            } else {
                read_text_csv(path, text, label)?
            };
            (Inputs::Text(t), l)
        }
        DataSource::Bbc => {
            let p = dir.join("bbc");
            if !p.is_dir() {
                return Err(missing(&p));
            }
            let (t, l) = read_text_folder(&p)?;
            (Inputs::Text(t), l)
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
            let (i, l) = read_image_folder(path)?;
            (Inputs::Images(i), l)
        }
        DataSource::Shuttle => {
            let p = dir.join("shuttle.csv");
            if !p.is_file() {
                return Err(missing(&p));
            }
            let (x, l) = read_tabular_csv(&p, "Class")?;
            (Inputs::Tabular(x), l)
        }
        DataSource::TabularFile { path, label } => {
            let (x, l) = read_tabular_csv(path, label)?;
            (Inputs::Tabular(x), l)
        }
    };
    let data = label(name, inputs, names, source)?;
    Ok(sample(data, limit, seed))
}

/// Turns label names into indices; at least two classes are required.
fn label(name: &str, inputs: Inputs, names: Vec<String>, source: &DataSource) -> Result<Dataset> {
    let classes: Vec<String> = names
        .iter()
        .cloned()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let path = match source {
        DataSource::TextFile { path, .. }
        | DataSource::ImageFolder { path }
        | DataSource::TabularFile { path, .. } => path.clone(),
        _ => data_dir(),
    };
    if names.is_empty() {
        return Err(Error::data(path, None, "no examples"));
    }
    if classes.len() < 2 {
        return Err(Error::data(
            path,
            None,
            format!("only one class (`{}`); at least two are needed", classes[0]),
        ));
    }
    let index: BTreeMap<&String, usize> = classes.iter().enumerate().map(|(i, c)| (c, i)).collect();
    let labels = names.iter().map(|n| index[n]).collect();
    Ok(Dataset {
        name: name.to_string(),
        inputs,
        labels,
        classes,
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

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| Error::io(path, e))
}

fn read_text_csv(path: &Path, text: &str, label: &str) -> Result<(Vec<String>, Vec<String>)> {
    let mut rd = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(open(path)?);
    let headers = rd
        .headers()
        .map_err(|e| Error::data(path, Some(1), csv_message(&e)))?
        .clone();
    let column = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            let have: Vec<&str> = headers.iter().collect();
            Error::data(
                path,
                Some(1),
                format!("no column `{name}` (columns: {})", have.join(", ")),
            )
        })
    };
    let (ti, li) = (column(text)?, column(label)?);
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for rec in rd.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize);
            Error::data(path, line, csv_message(&e))
        })?;
        let line = rec.position().map(|p| p.line() as usize);
        labels.push(non_empty(&rec[li], label, path, line)?);
        texts.push(rec[ti].to_string());
    }
    Ok((texts, labels))
}

/// A label cell, which must not be blank.
fn non_empty(value: &str, column: &str, path: &Path, line: Option<usize>) -> Result<String> {
    if value.trim().is_empty() {
        return Err(Error::data(
            path,
            line,
            format!("empty label in `{column}`"),
        ));
    }
    Ok(value.to_string())
}

fn csv_message(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Utf8 { .. } => "not valid UTF-8".into(),
        _ => e.to_string(),
    }
}

fn read_text_jsonl(path: &Path, text: &str, label: &str) -> Result<(Vec<String>, Vec<String>)> {
    let reader = std::io::BufReader::new(open(path)?);
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for (i, line) in reader.split(b'\n').enumerate() {
        let n = i + 1;
        let bytes = line.map_err(|e| Error::io(path, e))?;
        let s = std::str::from_utf8(&bytes)
            .map_err(|_| Error::data(path, Some(n), "not valid UTF-8"))?;
        if s.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value =
            serde_json::from_str(s).map_err(|e| Error::data(path, Some(n), e))?;
        let field = |name: &str| -> Result<String> {
            match v.get(name) {
                Some(serde_json::Value::String(s)) => Ok(s.clone()),
                Some(serde_json::Value::Number(x)) => Ok(x.to_string()),
                Some(serde_json::Value::Bool(b)) => Ok(b.to_string()),
                _ => Err(Error::data(
                    path,
                    Some(n),
                    format!("no string field `{name}`"),
                )),
            }
        };
        texts.push(field(text)?);
        labels.push(non_empty(&field(label)?, label, path, Some(n))?);
    }
    Ok((texts, labels))
}

fn subfolders(path: &Path) -> Result<Vec<(String, PathBuf)>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(path).map_err(|e| Error::io(path, e))? {
        let e = e.map_err(|e| Error::io(path, e))?;
        if e.path().is_dir() {
            out.push((e.file_name().to_string_lossy().to_string(), e.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))? {
        let p = e.map_err(|e| Error::io(dir, e))?.path();
        if p.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

fn read_text_folder(path: &Path) -> Result<(Vec<String>, Vec<String>)> {
    let (mut texts, mut labels) = (Vec::new(), Vec::new());
    for (class, dir) in subfolders(path)? {
        for f in files(&dir)? {
            let bytes = std::fs::read(&f).map_err(|e| Error::io(&f, e))?;
            // the BBC corpus is Latin-1 in places: decode lossily rather than drop documents
            texts.push(String::from_utf8_lossy(&bytes).into_owned());
            labels.push(class.clone());
        }
    }
    Ok((texts, labels))
}

fn read_image_folder(path: &Path) -> Result<(Vec<DynamicImage>, Vec<String>)> {
    let (mut images, mut labels) = (Vec::new(), Vec::new());
    for (class, dir) in subfolders(path)? {
        for f in files(&dir)? {
            let im = image::open(&f).map_err(|e| Error::data(&f, None, e))?;
            images.push(im);
            labels.push(class.clone());
        }
    }
    Ok((images, labels))
}

fn read_tabular_csv(path: &Path, label: &str) -> Result<(Vec<Vec<f32>>, Vec<String>)> {
    let mut rd = csv::ReaderBuilder::new().from_reader(open(path)?);
    let headers = rd
        .headers()
        .map_err(|e| Error::data(path, Some(1), csv_message(&e)))?
        .clone();
    let li = headers
        .iter()
        .position(|h| h == label)
        .ok_or_else(|| Error::data(path, Some(1), format!("no label column `{label}`")))?;
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for rec in rd.records() {
        let rec = rec.map_err(|e| {
            Error::data(
                path,
                e.position().map(|p| p.line() as usize),
                csv_message(&e),
            )
        })?;
        let line = rec.position().map(|p| p.line() as usize);
        let mut row = Vec::with_capacity(rec.len() - 1);
        for (j, v) in rec.iter().enumerate().filter(|(j, _)| *j != li) {
            let x: f32 = v.trim().parse().map_err(|_| {
                Error::data(
                    path,
                    line,
                    format!("column `{}`: `{v}` is not a number", &headers[j]),
                )
            })?;
            if !x.is_finite() {
                return Err(Error::data(
                    path,
                    line,
                    format!("column `{}`: not finite", &headers[j]),
                ));
            }
            row.push(x);
        }
        rows.push(row);
        labels.push(non_empty(&rec[li], label, path, line)?);
    }
    if rows.first().is_some_and(|r| r.is_empty()) {
        return Err(Error::data(path, Some(1), "no feature columns"));
    }
    Ok((rows, labels))
}

fn read_gz(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(open(path)?)
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
