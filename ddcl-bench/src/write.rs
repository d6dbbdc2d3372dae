//! Writing a run's outputs: `results.json`, `report.md` and the SVG plots.

use std::path::Path;

use crate::error::{Error, Result};
use crate::report::{markdown, plots};
use crate::results::Results;

/// Writes `results.json` and `report.md` and the SVG plots into `dir`.
pub fn write(results: &Results, dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let json = serde_json::to_string_pretty(results).map_err(|e| Error::Config(e.to_string()))?;
    let p = dir.join("results.json");
    std::fs::write(&p, json).map_err(|e| Error::io(&p, e))?;
    let p = dir.join("report.md");
    std::fs::write(&p, markdown(results)).map_err(|e| Error::io(&p, e))?;
    plots(results, dir)
}
