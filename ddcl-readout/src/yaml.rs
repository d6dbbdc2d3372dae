//! The one place in the workspace that parses and writes YAML: swapping the YAML crate is a
//! change here only. ddcl-bench parses its configs through these functions too.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::{Error, Result};

/// The largest document read: configs are a few KiB.
pub const MAX_BYTES: usize = 1 << 20;
/// The deepest nesting of flow collections (`[`, `{`) accepted.
pub const MAX_FLOW_DEPTH: usize = 64;
/// The furthest column at which a line's content may start, after its indentation and the
/// block indicators (`- `, `? `, `: `) that open nested collections on the same line: block
/// nesting deeper than about half of this is refused.
pub const MAX_INDENT: usize = 256;

/// Refuses, before the parser sees it, a document too large or nested too deep for a config:
/// the YAML parser takes time and stack superlinear in the depth (a document nested 100,000
/// levels deep took 38 s to be refused), and serde_yaml gives up at depth 128 anyway.
/// Hand-written: the bound has to hold before any parser runs. Brackets inside quoted scalars
/// and comments are skipped.
///
/// ```
/// use ddcl_readout::yaml::guard;
/// assert!(guard("a: [1, {b: 2}]\nc: '[[['\n", "<string>").is_ok());
/// assert!(guard(&"[".repeat(100_000), "<string>").is_err());
/// assert!(guard(&"- ".repeat(100_000), "<string>").is_err());
/// ```
pub fn guard(text: &str, where_: &str) -> Result<()> {
    let refuse = |message: String| {
        Err(Error::Yaml {
            where_: where_.to_string(),
            message,
        })
    };
    if text.len() > MAX_BYTES {
        return refuse(format!(
            "{} bytes: a config may hold at most {MAX_BYTES}",
            text.len()
        ));
    }
    let (mut depth, mut quote) = (0usize, None::<char>);
    for (n, line) in text.lines().enumerate() {
        let content = line.trim_start_matches([' ', '\t', '-', '?', ':']);
        if quote.is_none() && line.len() - content.len() > MAX_INDENT {
            return refuse(format!(
                "line {}: nested more than {MAX_INDENT} columns deep",
                n + 1
            ));
        }
        let mut prev = ' ';
        for c in line.chars() {
            match (quote, c) {
                // a backslash escapes the next character in double quotes only
                (Some('"'), _) if prev == '\\' => {
                    prev = ' ';
                    continue;
                }
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                // quotes open a scalar only where one starts (`don't` is plain text)
                (None, '\'' | '"') if " \t[{,:-?".contains(prev) => quote = Some(c),
                (None, '#') if prev == ' ' || prev == '\t' => break,
                (None, '[' | '{') => depth += 1,
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth > MAX_FLOW_DEPTH {
                return refuse(format!(
                    "line {}: flow collections nested more than {MAX_FLOW_DEPTH} deep",
                    n + 1
                ));
            }
            prev = c;
        }
    }
    Ok(())
}

/// Parses a YAML document; unknown keys are rejected by the target type
/// (`#[serde(deny_unknown_fields)]`), and the error names the key, line and column.
fn from_str<T: DeserializeOwned>(text: &str, where_: &str) -> Result<T> {
    guard(text, where_)?;
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
