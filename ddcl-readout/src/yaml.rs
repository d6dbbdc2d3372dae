//! The one place in the workspace that parses and writes YAML: swapping the YAML crate is a
//! change here only. ddcl-bench parses its configs through these functions too.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

/// Parses a YAML document; unknown keys are rejected by the target type
/// (`#[serde(deny_unknown_fields)]`), and the error names the key, line and column.
fn from_str<T: DeserializeOwned>(text: &str, where_: &str) -> Result<T> {
    serde_yaml::from_str(text).map_err(|e| Error::Yaml {
        where_: where_.to_string(),
        message: e.to_string(),
    })
}

/// Reads and parses a YAML file.
fn from_file<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    from_str(&text, &path.display().to_string())
}

/// Writes a value as YAML.
pub fn to_string<T: Serialize>(value: &T) -> Result<String> {
    serde_yaml::to_string(value).map_err(|e| Error::Yaml {
        where_: "<serialise>".to_string(),
        message: e.to_string(),
    })
}

/// A configuration that checks its own ranges after parsing.
pub trait Validated: DeserializeOwned {
    /// Checks ranges and consistency; an error names the offending key.
    fn check(&self) -> Result<()>;
}

/// Parses and validates a YAML document; unknown keys are rejected by the target type.
pub fn parse<T: Validated>(text: &str) -> Result<T> {
    let value: T = from_str(text, "<string>")?;
    value.check()?;
    Ok(value)
}

/// Reads, parses and validates a YAML file; errors name the file, key, line and column.
pub fn read<T: Validated>(path: &Path) -> Result<T> {
    let value: T = from_file(path)?;
    value.check()?;
    Ok(value)
}
