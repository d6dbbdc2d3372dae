//! The JSON Lines log of a run: one object per step or epoch, tagged with its `kind`.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::{Error, Result};

/// A log file, appended to.
pub(super) struct StepLog {
    file: File,
    path: PathBuf,
}

impl StepLog {
    /// Opens `path` for appending, creating it and its folder when missing.
    pub(super) fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| Error::io(path, e))?;
        Ok(Self {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends `record` as one line: its JSON object with `"kind": kind` added.
    pub(super) fn write<T: Serialize>(&mut self, kind: &str, record: &T) -> Result<()> {
        let mut value = serde_json::to_value(record).map_err(|e| Error::Json {
            path: self.path.clone(),
            message: e.to_string(),
        })?;
        if let serde_json::Value::Object(map) = &mut value {
            map.insert("kind".into(), kind.into());
        }
        writeln!(self.file, "{value}").map_err(|e| Error::io(&self.path, e))
    }
}
