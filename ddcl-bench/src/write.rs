//! Writing a run's outputs: `results.json`, `report.md`, the SVG plots and the page of what
//! the prototypes learned, as one folder
//! replaced whole (see [`replace_dir`]).

use std::path::Path;

use crate::error::{Error, Result};
use crate::outdir::replace_dir;
use crate::protocol::interpret::{SCALE, TOP};
use crate::report::{markdown, plots};
use crate::results::Results;

/// Writes `results.json`, `report.md`, the SVG plots, `interpret.html` and
/// `interpret-images/` (when the run drew them) into the folder `out`, replacing a
/// previous run's output there whole: `out` ends up with either the old outputs or the new
/// ones, never a mix.
pub fn write(results: &Results, out: &Path) -> Result<()> {
    let json = serde_json::to_string_pretty(results).map_err(|e| Error::Config(e.to_string()))?;
    replace_dir(out, |dir| {
        let p = dir.join("results.json");
        std::fs::write(&p, &json).map_err(|e| Error::io(&p, e))?;
        let p = dir.join("report.md");
        std::fs::write(&p, markdown(results)).map_err(|e| Error::io(&p, e))?;
        if let Some(page) = &results.interpret {
            let p = dir.join(&page.file);
            std::fs::write(&p, &page.html).map_err(|e| Error::io(&p, e))?;
        }
        if let Some(pages) = &results.interpret_images {
            let p = dir.join(&pages.folder);
            std::fs::create_dir(&p).map_err(|e| Error::io(&p, e))?;
            ddcl_readout::interpret::write_image_pages(
                &p,
                &pages.assigned,
                pages.prototypes,
                TOP,
                SCALE,
                &pages.info,
            )?;
        }
        plots(results, dir)
    })
}
