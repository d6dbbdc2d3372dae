//! Each patch of some images with its prototype, and the picture with its patches coloured.

use candle_core::Tensor;
use ddcl_core::hard_assignment;
use image::{imageops::FilterType, DynamicImage, RgbImage};

use crate::check::at_least;
use crate::interpret::palette::colour;
use crate::{DdclReadout, Error, ImageEncoder, Result};

/// One token's assignment: the prototype with the largest `q`, and `q` over the K prototypes.
#[derive(Debug, Clone, PartialEq)]
pub struct Assigned {
    /// The hard assignment.
    pub prototype: usize,
    /// The soft assignment `q[k]`.
    pub q: Vec<f32>,
}

impl Assigned {
    /// `q` of the hard assignment's prototype.
    ///
    /// ```
    /// let a = ddcl_readout::interpret::Assigned { prototype: 1, q: vec![0.25, 0.75] };
    /// assert_eq!(a.confidence(), 0.75);
    /// ```
    pub fn confidence(&self) -> f32 {
        self.q.get(self.prototype).copied().unwrap_or(0.0)
    }
}

/// An image as the encoder saw it and the assignment of its tokens.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedImage {
    /// Its name (a file name), shown on the page.
    pub name: String,
    /// The S×S crop the ViT saw (after resizing and cropping, before normalisation).
    pub picture: RgbImage,
    /// Patches per side (16 for DINOv2 at 224 with patches of 14).
    pub grid: usize,
    /// The class token.
    pub cls: Assigned,
    /// The patches, row by row (`grid²` of them).
    pub patches: Vec<Assigned>,
}

/// Encodes `images` (name, image) in batches of at most `batch_size` and reads each token's
/// assignment from `readout`.
///
/// ```
/// use candle_core::{DType, Device};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_readout::{interpret, tiny, DdclReadout, ImageEncoder, ModelSource, ReadoutConfig, Weights};
/// let dir = tempfile::tempdir()?;
/// tiny::image_model(dir.path(), 1)?;
/// let model = ModelSource::new(dir.path().to_str().unwrap());
/// let enc = ImageEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
/// let vb = VarBuilder::from_varmap(&VarMap::new(), DType::F32, &Device::Cpu);
/// let readout = DdclReadout::new(8, &ReadoutConfig::new(3, 1.0)?, vb.pp("readout"))?;
/// let img = image::DynamicImage::ImageLuma8(image::GrayImage::new(28, 28));
/// let out = interpret::assign_images(&enc, &readout, &[("black".into(), img)], 4)?;
/// assert_eq!((out[0].grid, out[0].patches.len(), out[0].picture.width()), (2, 4, 28));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn assign_images(
    encoder: &ImageEncoder,
    readout: &DdclReadout,
    images: &[(String, DynamicImage)],
    batch_size: usize,
) -> Result<Vec<AssignedImage>> {
    at_least("assign_images: batch_size", batch_size, 1)?;
    let cfg = encoder.vit().config();
    if readout.hidden_size() != cfg.hidden_size {
        return Err(Error::HiddenSize {
            readout: readout.hidden_size(),
            encoder: cfg.hidden_size,
        });
    }
    let grid = cfg.image_size / cfg.patch_size;
    let mut out = Vec::with_capacity(images.len());
    for chunk in images.chunks(batch_size) {
        let decoded: Vec<DynamicImage> = chunk.iter().map(|(_, im)| im.clone()).collect();
        let pixels = encoder.pixels(&decoded)?;
        let h = encoder.forward(&pixels)?;
        let tokens = h.dim(1)?;
        if tokens != 1 + grid * grid {
            return Err(Error::ShapeMismatch {
                name: "assign_images: ViT tokens (class token + patches)".into(),
                expected: vec![1 + grid * grid],
                got: vec![tokens],
            });
        }
        let a = readout.forward_masked(&h, None)?.assignment;
        let hard = hard_assignment(&a)?.to_vec2::<u32>()?;
        let q = a.q.to_vec3::<f32>()?;
        for (b, (name, _)) in chunk.iter().enumerate() {
            let mut each = hard[b].iter().zip(&q[b]).map(|(&k, q)| Assigned {
                prototype: k as usize,
                q: q.clone(),
            });
            let cls = each
                .next()
                .ok_or_else(|| Error::empty("assign_images: tokens"))?;
            out.push(AssignedImage {
                name: name.clone(),
                picture: picture(&pixels.get(b)?, cfg.image_mean, cfg.image_std)?,
                grid,
                cls,
                patches: each.collect(),
            });
        }
    }
    Ok(out)
}

/// The RGB picture (S, S) of a preprocessed image (3, S, S): the normalisation undone, so
/// that the picture is exactly the crop [`crate::preprocess`] made.
fn picture(pixels: &Tensor, mean: [f32; 3], std: [f32; 3]) -> Result<RgbImage> {
    let (_, s, _) = pixels.dims3()?;
    let x = pixels.to_vec3::<f32>()?;
    Ok(RgbImage::from_fn(s as u32, s as u32, |col, row| {
        image::Rgb(std::array::from_fn(|c| {
            let v = x[c][row as usize][col as usize] * std[c] + mean[c];
            (v * 255.0).round().clamp(0.0, 255.0) as u8
        }))
    }))
}

/// How strongly a token or patch is tinted by its prototype's colour when it has `q` there,
/// one of `k` prototypes: from 0.2 at `q = 1/k` (no preference: with a large temperature every
/// `q` lies near `1/k`, and a scale from 0 would tint everything alike) to 0.7 at `q = 1`, so
/// that the picture or text stays visible under the most confident one.
///
/// ```
/// use ddcl_readout::interpret::tint;
/// assert!((tint(1.0, 4) - 0.7).abs() < 1e-6);
/// assert_eq!(tint(0.25, 4), tint(0.1, 4)); // no preference, the weakest tint
/// ```
pub fn tint(q: f32, k: usize) -> f32 {
    let uniform = 1.0 / k.max(1) as f32;
    let above = if uniform < 1.0 {
        ((q - uniform) / (1.0 - uniform)).clamp(0.0, 1.0)
    } else {
        1.0
    };
    0.2 + 0.5 * above
}

/// `base` mixed with `colour` in the share `alpha`.
///
/// ```
/// assert_eq!(ddcl_readout::interpret::blend([0, 100, 200], [200, 100, 0], 0.5), [100, 100, 100]);
/// ```
pub fn blend(base: [u8; 3], colour: [u8; 3], alpha: f32) -> [u8; 3] {
    std::array::from_fn(|c| {
        (base[c] as f32 * (1.0 - alpha) + colour[c] as f32 * alpha)
            .round()
            .clamp(0.0, 255.0) as u8
    })
}

/// The picture scaled by `scale` (Catmull-Rom) with each patch tinted by its prototype's
/// [`colour`], by [`tint`] of its `q` there, and a one-pixel line in that colour where two
/// neighbouring patches belong to different prototypes. An image whose patch count is not
/// `grid²`, or whose picture is not a multiple of the grid, is an error.
///
/// ```
/// use ddcl_readout::interpret::{overlay, Assigned, AssignedImage};
/// let a = |k| Assigned { prototype: k, q: vec![0.5, 0.5] };
/// let img = AssignedImage {
///     name: "x".into(), picture: image::RgbImage::new(4, 4), grid: 2,
///     cls: a(0), patches: vec![a(0), a(1), a(1), a(0)],
/// };
/// assert_eq!(overlay(&img, 3)?.dimensions(), (12, 12));
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn overlay(image: &AssignedImage, scale: u32) -> Result<RgbImage> {
    at_least("overlay: scale", scale as usize, 1)?;
    at_least("overlay: grid", image.grid, 1)?;
    let side = image.picture.width() as usize;
    if image.patches.len() != image.grid * image.grid
        || image.picture.height() as usize != side
        || !side.is_multiple_of(image.grid)
    {
        return Err(Error::ShapeMismatch {
            name: format!("overlay {}: patches, picture", image.name),
            expected: vec![image.grid * image.grid, side - side % image.grid.max(1)],
            got: vec![image.patches.len(), side],
        });
    }
    let (w, h) = image.picture.dimensions();
    let mut out =
        image::imageops::resize(&image.picture, w * scale, h * scale, FilterType::CatmullRom);
    let cell = (side / image.grid) as u32 * scale;
    let at =
        |x: u32, y: u32| &image.patches[(y / cell) as usize * image.grid + (x / cell) as usize];
    for (x, y, p) in out.enumerate_pixels_mut() {
        let here = at(x, y);
        let c = colour(here.prototype);
        let edge = (x % cell == 0 && x > 0 && at(x - 1, y).prototype != here.prototype)
            || (y % cell == 0 && y > 0 && at(x, y - 1).prototype != here.prototype);
        p.0 = if edge {
            c
        } else {
            blend(p.0, c, tint(here.confidence(), here.q.len()))
        };
    }
    Ok(out)
}

/// The `per` patches with the highest `q` of prototype `k` over all `images`, each cut from
/// its picture and scaled by `scale`, side by side on a white strip; fewer where the images
/// have fewer patches.
///
/// ```
/// use ddcl_readout::interpret::{top_patches, Assigned, AssignedImage};
/// let a = |q| Assigned { prototype: 0, q: vec![q] };
/// let img = AssignedImage {
///     name: "x".into(), picture: image::RgbImage::new(4, 4), grid: 2,
///     cls: a(0.5), patches: vec![a(0.1), a(0.9), a(0.3), a(0.2)],
/// };
/// assert_eq!(top_patches(&[img], 0, 3, 2).dimensions(), (3 * 4 + 2 * 2, 4));
/// ```
pub fn top_patches(images: &[AssignedImage], k: usize, per: usize, scale: u32) -> RgbImage {
    let mut ranked: Vec<(f32, &AssignedImage, usize)> = images
        .iter()
        .flat_map(|im| {
            im.patches
                .iter()
                .enumerate()
                .map(move |(i, p)| (p.q.get(k).copied().unwrap_or(0.0), im, i))
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
    ranked.truncate(per);
    let cell = images
        .first()
        .map_or(1, |im| im.picture.width() / im.grid.max(1) as u32);
    let side = cell * scale.max(1);
    let gap = 2;
    let n = ranked.len() as u32;
    let mut strip = RgbImage::from_pixel(
        (n * side + n.saturating_sub(1) * gap).max(1),
        side.max(1),
        image::Rgb([255; 3]),
    );
    for (j, (_, im, i)) in ranked.into_iter().enumerate() {
        let c = im.picture.width() / im.grid as u32;
        let (x0, y0) = ((i % im.grid) as u32 * c, (i / im.grid) as u32 * c);
        let patch = image::imageops::crop_imm(&im.picture, x0, y0, c, c).to_image();
        let patch = image::imageops::resize(&patch, side, side, FilterType::Nearest);
        image::imageops::replace(&mut strip, &patch, (j as u32 * (side + gap)) as i64, 0);
    }
    strip
}
