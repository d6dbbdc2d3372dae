//! Fashion-MNIST as grey pixels for the autoencoder: the train and test files apart, batches
//! as (B, 1, H, W) tensors with values in [0, 1].

use std::path::Path;

use candle_core::{Device, Tensor};
use image::DynamicImage;

use crate::data::read_fashion;
use crate::error::{Error, Result};

/// Grey images of one size, one row of bytes each, with their class names.
pub(crate) struct Images {
    pixels: Vec<u8>,
    /// Class name of each image.
    pub labels: Vec<String>,
    /// Rows of every image.
    pub height: usize,
    /// Columns of every image.
    pub width: usize,
}

impl Images {
    /// The images of `part` (`train` or `t10k`) of the Fashion-MNIST files in `dir`: all of one
    /// size, height and width positive multiples of 4 (the autoencoder halves them twice).
    pub(crate) fn fashion(dir: &Path, part: &str) -> Result<Self> {
        let (images, labels) = read_fashion(dir, &[part])?;
        let file = dir.join(format!("{part}-images-idx3-ubyte.gz"));
        Self::grey(&file, &images, labels)
    }

    fn grey(file: &Path, images: &[DynamicImage], labels: Vec<String>) -> Result<Self> {
        let Some(first) = images.first() else {
            return Err(Error::data(file, None, "holds no image"));
        };
        let (width, height) = (first.width() as usize, first.height() as usize);
        if width == 0 || height == 0 || width % 4 != 0 || height % 4 != 0 {
            return Err(Error::data(
                file,
                None,
                format!(
                    "images of {height} x {width}: the autoencoder needs positive multiples of 4"
                ),
            ));
        }
        let mut pixels = Vec::with_capacity(images.len() * width * height);
        for im in images {
            pixels.extend_from_slice(im.to_luma8().as_raw());
        }
        Ok(Self {
            pixels,
            labels,
            height,
            width,
        })
    }

    /// Number of images.
    pub(crate) fn len(&self) -> usize {
        self.labels.len()
    }

    /// The images at `idx` as a (B, 1, H, W) f32 tensor, pixels / 255.
    pub(crate) fn batch(&self, idx: &[usize]) -> Result<Tensor> {
        let size = self.height * self.width;
        let mut values = Vec::with_capacity(idx.len() * size);
        for &i in idx {
            let row = &self.pixels[i * size..(i + 1) * size];
            values.extend(row.iter().map(|&p| f32::from(p) / 255.0));
        }
        Ok(Tensor::from_vec(
            values,
            (idx.len(), 1, self.height, self.width),
            &Device::Cpu,
        )?)
    }
}
