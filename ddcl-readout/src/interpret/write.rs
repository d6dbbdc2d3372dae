//! Writing the pages: each file written atomically ([`crate::AtomicFile`]).

use std::io::Write;
use std::path::{Path, PathBuf};

use image::{ExtendedColorType, ImageEncoder as _, RgbImage};

use crate::interpret::html::{image_page, text_page, PageInfo};
use crate::interpret::patches::{overlay, top_patches, AssignedImage};
use crate::interpret::text::AssignedText;
use crate::{AtomicFile, Error, Result};

/// Writes the text page ([`text_page`]) to `path`.
///
/// ```
/// use ddcl_readout::interpret::{write_text_page, AssignedText, PageInfo, Token};
/// let dir = tempfile::tempdir()?;
/// let t = Token { text: "ok".into(), piece: "ok".into(), special: false, space_before: false,
///     prototype: 0, q: vec![1.0] };
/// let s = AssignedText { text: "ok".into(), tokens: vec![t] };
/// write_text_page(&dir.path().join("page.html"), &[s], 1, 8, &PageInfo::default())?;
/// assert!(dir.path().join("page.html").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_text_page(
    path: &Path,
    texts: &[AssignedText],
    k: usize,
    top: usize,
    info: &PageInfo,
) -> Result<()> {
    let html = text_page(texts, k, top, info)?;
    let mut f = AtomicFile::create(path)?;
    f.write_all(html.as_bytes())
        .map_err(|e| Error::io(path, e))?;
    f.commit()
}

/// Writes into the folder `dir` one overlay per image (`image-000.png`, ... as [`overlay`]
/// draws it at `scale`), one strip of the `top` patches per prototype (`prototype-0.png`, ...,
/// [`top_patches`]) and the page listing them, `index.html` ([`image_page`]); returns the
/// page's path.
///
/// ```
/// use ddcl_readout::interpret::{write_image_pages, Assigned, AssignedImage, PageInfo};
/// let dir = tempfile::tempdir()?;
/// let a = |k| Assigned { prototype: k, q: vec![0.5, 0.5] };
/// let img = AssignedImage { name: "x".into(), picture: image::RgbImage::new(4, 4), grid: 2,
///     cls: a(0), patches: vec![a(0), a(1), a(1), a(1)] };
/// let index = write_image_pages(dir.path(), &[img], 2, 4, 2, &PageInfo::default())?;
/// assert!(index.ends_with("index.html") && dir.path().join("image-000.png").exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn write_image_pages(
    dir: &Path,
    images: &[AssignedImage],
    k: usize,
    top: usize,
    scale: u32,
    info: &PageInfo,
) -> Result<PathBuf> {
    let files: Vec<String> = (0..images.len())
        .map(|i| format!("image-{i:03}.png"))
        .collect();
    let strips: Vec<String> = (0..k).map(|p| format!("prototype-{p}.png")).collect();
    let html = image_page(images, &files, &strips, k, info)?;
    for (im, file) in images.iter().zip(&files) {
        write_png(&dir.join(file), &overlay(im, scale)?)?;
    }
    for (p, file) in strips.iter().enumerate() {
        write_png(&dir.join(file), &top_patches(images, p, top, scale))?;
    }
    let index = dir.join("index.html");
    let mut f = AtomicFile::create(&index)?;
    f.write_all(html.as_bytes())
        .map_err(|e| Error::io(&index, e))?;
    f.commit()?;
    Ok(index)
}

/// Writes `image` as a PNG file at `path`.
fn write_png(path: &Path, image: &RgbImage) -> Result<()> {
    let mut f = AtomicFile::create(path)?;
    image::codecs::png::PngEncoder::new(&mut f)
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            ExtendedColorType::Rgb8,
        )
        .map_err(|e| Error::Image {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    f.commit()
}
