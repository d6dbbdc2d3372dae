//! Model resolution: a hub repo id through the local hf-hub cache (never the network when the
//! files are cached), or a local directory.
//!
//! hf-hub 0.5 is used, the version candle's examples use: its `Cache` reads the standard hub
//! cache layout (`$HF_HOME/hub/models--org--name/{refs,snapshots}`) without any network call.
//! On a connected machine a missing file is downloaded through `ApiBuilder::from_env()` (which,
//! unlike `Api::new()`, honours `HF_HOME`), unless `HF_HUB_OFFLINE` is set: hf-hub 0.5 itself
//! ignores that variable, so it is checked here.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Where a model's files come from: a hub repo id (`org/name`) or a local directory.
///
/// ```
/// # let dir = tempfile::tempdir()?;
/// std::fs::write(dir.path().join("config.json"), "{}")?;
/// let model = ddcl_readout::ModelSource::new(dir.path().to_str().unwrap());
/// assert_eq!(model.file("config.json")?, dir.path().join("config.json"));
/// assert!(model.file("missing.json").is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelSource {
    id: String,
}

impl ModelSource {
    /// A model addressed by hub repo id or local directory.
    pub fn new(id: &str) -> Self {
        Self { id: id.to_string() }
    }

    /// The id as given.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The local path of one of the model's files.
    pub fn file(&self, name: &str) -> Result<PathBuf> {
        let dir = Path::new(&self.id);
        if dir.is_dir() {
            let path = dir.join(name);
            return if path.is_file() {
                Ok(path)
            } else {
                Err(Error::model(
                    &self.id,
                    format!("no file `{name}` in this directory"),
                ))
            };
        }
        if !self.id.contains('/') || self.id.split('/').count() != 2 {
            return Err(Error::model(
                &self.id,
                "neither a directory nor a hub repo id of the form `org/name`",
            ));
        }
        let cache = hf_hub::Cache::from_env();
        if let Some(path) = cache.model(self.id.clone()).get(name) {
            return Ok(path);
        }
        if let Some(path) = snapshot_file(cache.path(), &self.id, name) {
            return Ok(path);
        }
        if offline() {
            return Err(Error::model(
                &self.id,
                format!(
                    "`{name}` is not in the hub cache at {} and HF_HUB_OFFLINE is set; \
                     run scripts/setup.sh to fill the cache or set HF_HOME",
                    cache.path().display()
                ),
            ));
        }
        let api = hf_hub::api::sync::ApiBuilder::from_env()
            .build()
            .map_err(|e| Error::model(&self.id, e))?;
        api.model(self.id.clone()).get(name).map_err(|e| {
            Error::model(
                &self.id,
                format!(
                    "`{name}` is not in the hub cache at {} and downloading it failed ({e}); \
                     run scripts/setup.sh to fill the cache",
                    cache.path().display()
                ),
            )
        })
    }

    /// Like [`ModelSource::file`], but `None` when the model has no such file.
    pub fn optional_file(&self, name: &str) -> Option<PathBuf> {
        self.file(name).ok()
    }
}

/// The cache lookup hf-hub 0.5 does, but tolerant of whitespace around the revision in
/// `refs/main` (a trailing newline makes hf-hub 0.5 miss the snapshot and go to the network).
fn snapshot_file(cache: &Path, id: &str, name: &str) -> Option<PathBuf> {
    let repo = cache.join(format!("models--{}", id.replace('/', "--")));
    let rev = std::fs::read_to_string(repo.join("refs").join("main")).ok()?;
    let path = repo.join("snapshots").join(rev.trim()).join(name);
    path.is_file().then_some(path)
}

fn offline() -> bool {
    std::env::var("HF_HUB_OFFLINE")
        .map(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "1" | "true" | "yes" | "on"
            )
        })
        .unwrap_or(false)
}
