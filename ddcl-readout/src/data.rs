//! User data with class labels: CSV or JSON Lines text with a text and a label column, a folder
//! of text files or of images with one sub-folder per class, CSV rows of numeric features.
//!
//! Every reader keeps the file order and returns each example's label name; [`class_ids`] turns
//! the names into class ids. Errors are [`Error::Data`] (or [`Error::Io`]) naming the file and,
//! where there is one, the 1-based line.

use std::collections::{BTreeMap, BTreeSet};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use image::DynamicImage;

use crate::{Error, Result};

/// Examples and the label name of each, in the source's order.
///
/// ```
/// let set = ddcl_readout::data::Labelled {
///     inputs: vec!["good".to_string(), "bad".to_string()],
///     labels: vec!["pos".to_string(), "neg".to_string()],
/// };
/// assert_eq!(set.len(), 2);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled<T> {
    /// The examples.
    pub inputs: Vec<T>,
    /// The label name of each example.
    pub labels: Vec<String>,
}

impl<T> Labelled<T> {
    /// Number of examples.
    ///
    /// ```
    /// let set = ddcl_readout::data::Labelled::<String> { inputs: vec![], labels: vec![] };
    /// assert_eq!(set.len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no example.
    ///
    /// ```
    /// let set = ddcl_readout::data::Labelled::<String> { inputs: vec![], labels: vec![] };
    /// assert!(set.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
}

/// Sentences or documents with labels.
pub type LabelledTexts = Labelled<String>;
/// Decoded images with labels.
pub type LabelledImages = Labelled<DynamicImage>;
/// Rows of numeric features with labels.
pub type LabelledRows = Labelled<Vec<f32>>;

/// The classes of a labelled data set: the distinct label names, sorted, and the class id
/// (index into `classes`) of each example.
#[derive(Debug, Clone, PartialEq)]
pub struct ClassIds {
    /// Class names, sorted.
    pub classes: Vec<String>,
    /// Class id of each example, `0..classes.len()`.
    pub ids: Vec<usize>,
}

/// Sorts the label names of the data read from `path` into classes and gives each example its
/// class id. No examples, or a single class, is an [`Error::Data`] naming `path`.
///
/// ```
/// use std::path::Path;
/// let labels = ["pos", "neg", "pos"].map(String::from);
/// let c = ddcl_readout::data::class_ids(Path::new("reviews.csv"), &labels)?;
/// assert_eq!((c.classes, c.ids), (vec!["neg".into(), "pos".into()], vec![1, 0, 1]));
/// let one = ddcl_readout::data::class_ids(Path::new("x.csv"), &labels[..1]).unwrap_err();
/// assert!(one.to_string().contains("only one class"));
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn class_ids(path: &Path, labels: &[String]) -> Result<ClassIds> {
    let classes: Vec<String> = labels
        .iter()
        .cloned()
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if labels.is_empty() {
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
    let ids = labels.iter().map(|n| index[n]).collect();
    Ok(ClassIds { classes, ids })
}

/// Reads a text file with a text and a label column: JSON Lines when the name ends in
/// `.jsonl` or `.json` (one object per line, blank lines skipped; numbers and booleans are
/// taken as their text), else CSV with a header row. Labels must not be blank.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("reviews.csv");
/// std::fs::write(&path, "id,review,stars\n1,\"good, really\",5\n2,bad,1\n")?;
/// let set = ddcl_readout::data::read_text_file(&path, "review", "stars")?;
/// assert_eq!(set.inputs, ["good, really", "bad"]);
/// assert_eq!(set.labels, ["5", "1"]);
/// let err = ddcl_readout::data::read_text_file(&path, "text", "stars").unwrap_err();
/// assert!(err.to_string().ends_with("reviews.csv: line 1: no column `text` (columns: id, review, stars)"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_text_file(path: &Path, text_column: &str, label_column: &str) -> Result<LabelledTexts> {
    let jsonl = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("jsonl" | "json")
    );
    if jsonl {
        read_text_jsonl(path, text_column, label_column)
    } else {
        read_text_csv(path, text_column, label_column)
    }
}

fn open(path: &Path) -> Result<std::fs::File> {
    std::fs::File::open(path).map_err(|e| Error::io(path, e))
}

fn csv_reader<'a>(
    path: &Path,
    bytes: &'a [u8],
) -> Result<(csv::Reader<&'a [u8]>, csv::StringRecord)> {
    let mut rd = csv::ReaderBuilder::new().flexible(false).from_reader(bytes);
    let headers = rd
        .headers()
        .map_err(|e| Error::data(path, Some(1), csv_message(&e)))?
        .clone();
    Ok((rd, headers))
}

/// The bytes of the file at `path`.
fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::io(path, e))
}

/// 1-based line numbers of records, counted from the bytes: the csv crate's own line count is
/// one too low after a CRLF terminator (it counts the `\n` of `\r\n` once the next record has
/// begun). Records come in file order, so the newlines are counted once, from the last record
/// on, not again from the start of the file for each record.
struct Lines<'a> {
    bytes: &'a [u8],
    /// Bytes before `pos` hold `newlines` newlines.
    pos: usize,
    newlines: usize,
}

impl<'a> Lines<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            newlines: 0,
        }
    }

    /// The line of the record that starts at or after byte `at`.
    fn at(&mut self, at: u64) -> usize {
        let bytes = self.bytes;
        let at = (at as usize).min(bytes.len());
        let start = bytes[at..]
            .iter()
            .position(|&b| b != b'\r' && b != b'\n')
            .map_or(bytes.len(), |i| at + i);
        if start < self.pos {
            (self.pos, self.newlines) = (0, 0);
        }
        self.newlines += bytes[self.pos..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.pos = start;
        1 + self.newlines
    }
}

/// The next CSV record and its 1-based line.
fn csv_record(
    path: &Path,
    lines: &mut Lines,
    rec: std::result::Result<csv::StringRecord, csv::Error>,
) -> Result<(csv::StringRecord, Option<usize>)> {
    let rec = rec.map_err(|e| {
        let line = e.position().map(|p| lines.at(p.byte()));
        Error::data(path, line, csv_message(&e))
    })?;
    let line = rec.position().map(|p| lines.at(p.byte()));
    Ok((rec, line))
}

fn read_text_csv(path: &Path, text: &str, label: &str) -> Result<LabelledTexts> {
    let bytes = read_bytes(path)?;
    let (mut rd, headers) = csv_reader(path, &bytes)?;
    let mut lines = Lines::new(&bytes);
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
        let (rec, line) = csv_record(path, &mut lines, rec)?;
        labels.push(non_empty(&rec[li], label, path, line)?);
        texts.push(rec[ti].to_string());
    }
    Ok(Labelled {
        inputs: texts,
        labels,
    })
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

fn read_text_jsonl(path: &Path, text: &str, label: &str) -> Result<LabelledTexts> {
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
    Ok(Labelled {
        inputs: texts,
        labels,
    })
}

/// The sub-folders of `path` as (name, path), sorted by name.
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

/// The files in `dir`, sorted.
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

/// Reads every file of each sub-folder of `path` through `read`, labelled with the
/// sub-folder's name; sub-folders and files in name order.
fn read_class_folders<T>(path: &Path, read: impl Fn(&Path) -> Result<T>) -> Result<Labelled<T>> {
    let (mut inputs, mut labels) = (Vec::new(), Vec::new());
    for (class, dir) in subfolders(path)? {
        for f in files(&dir)? {
            inputs.push(read(&f)?);
            labels.push(class.clone());
        }
    }
    Ok(Labelled { inputs, labels })
}

/// Reads a folder with one sub-folder of text files per class (`path/<class>/*`), each file
/// one document labelled with its sub-folder's name. Bytes that are not UTF-8 are replaced
/// (some corpora are Latin-1 in places) rather than the document dropped.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// for (class, text) in [("sport", "a match"), ("tech", "a chip")] {
///     std::fs::create_dir_all(dir.path().join(class))?;
///     std::fs::write(dir.path().join(class).join("1.txt"), text)?;
/// }
/// let set = ddcl_readout::data::read_text_folder(dir.path())?;
/// assert_eq!((set.inputs, set.labels), (vec!["a match".into(), "a chip".into()],
///     vec!["sport".into(), "tech".into()]));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_text_folder(path: &Path) -> Result<LabelledTexts> {
    read_class_folders(path, |f| {
        let bytes = std::fs::read(f).map_err(|e| Error::io(f, e))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    })
}

/// Reads a folder with one sub-folder of images (PNG, JPEG) per class (`path/<class>/*`),
/// each image labelled with its sub-folder's name. A file that does not decode is an
/// [`Error::Data`] naming it.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// for class in ["cats", "dogs"] {
///     std::fs::create_dir_all(dir.path().join(class))?;
///     image::RgbImage::new(5, 4).save(dir.path().join(class).join("1.png"))?;
/// }
/// let set = ddcl_readout::data::read_image_folder(dir.path())?;
/// assert_eq!(set.labels, ["cats", "dogs"]);
/// assert_eq!(set.inputs[0].width(), 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_image_folder(path: &Path) -> Result<LabelledImages> {
    read_class_folders(path, |f| {
        image::open(f).map_err(|e| Error::data(f, None, e))
    })
}

/// Reads a CSV file with a header row: a label column and numeric feature columns (every
/// other column). Features must parse as finite numbers; labels must not be blank.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// let path = dir.path().join("sensors.csv");
/// std::fs::write(&path, "a,class,b\n1.5,x,2\n-1,z,0.25\n")?;
/// let set = ddcl_readout::data::read_tabular_csv(&path, "class")?;
/// assert_eq!(set.inputs, [[1.5, 2.0], [-1.0, 0.25]]);
/// assert_eq!(set.labels, ["x", "z"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn read_tabular_csv(path: &Path, label_column: &str) -> Result<LabelledRows> {
    let bytes = read_bytes(path)?;
    let (mut rd, headers) = csv_reader(path, &bytes)?;
    let mut lines = Lines::new(&bytes);
    let li = headers
        .iter()
        .position(|h| h == label_column)
        .ok_or_else(|| Error::data(path, Some(1), format!("no label column `{label_column}`")))?;
    let (mut rows, mut labels) = (Vec::new(), Vec::new());
    for rec in rd.records() {
        let (rec, line) = csv_record(path, &mut lines, rec)?;
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
        labels.push(non_empty(&rec[li], label_column, path, line)?);
    }
    if rows.first().is_some_and(|r| r.is_empty()) {
        return Err(Error::data(path, Some(1), "no feature columns"));
    }
    Ok(Labelled {
        inputs: rows,
        labels,
    })
}
