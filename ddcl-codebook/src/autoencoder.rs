//! The small convolutional autoencoder of the codebook experiment, and the image <-> latent
//! layout a quantiser takes.

use candle_core::Tensor;
use candle_nn::{
    conv2d, conv_transpose2d, Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig, Module,
    VarBuilder,
};

use crate::{Error, Result};

/// Feature maps (B, C, H, W) as latents (B, H W, C): one latent per cell.
///
/// ```
/// use candle_core::{Device, Tensor};
/// let x = Tensor::arange(0f32, 24., &Device::Cpu)?.reshape((1, 2, 3, 4))?;
/// let z = ddcl_codebook::to_latents(&x)?;
/// assert_eq!(z.dims(), &[1, 12, 2]);
/// let back = ddcl_codebook::from_latents(&z, 3, 4)?;             // (1, 2, 3, 4) again
/// assert_eq!(back.squeeze(0)?.to_vec3::<f32>()?, x.squeeze(0)?.to_vec3::<f32>()?);
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
pub fn to_latents(x: &Tensor) -> Result<Tensor> {
    let (b, c, h, w) = x.dims4().map_err(|_| Error::Shape {
        name: "feature map",
        expected: "(B, C, H, W)".into(),
        got: x.dims().to_vec(),
    })?;
    Ok(x.reshape((b, c, h * w))?.transpose(1, 2)?.contiguous()?)
}

/// Latents (B, H W, C) back to feature maps (B, C, H, W).
pub fn from_latents(z: &Tensor, h: usize, w: usize) -> Result<Tensor> {
    let shape_error = || Error::Shape {
        name: "latents",
        expected: format!("(B, N, C) with N = {h} x {w}"),
        got: z.dims().to_vec(),
    };
    let (b, n, c) = z.dims3().map_err(|_| shape_error())?;
    if n != h * w {
        return Err(shape_error());
    }
    Ok(z.transpose(1, 2)?.reshape((b, c, h, w))?)
}

/// Widths of the autoencoder: `channels` input channels, `hidden` after the first stride-2
/// convolution, `latent` per cell of the (H / 4, W / 4) grid.
///
/// ```
/// let cfg = ddcl_codebook::AutoencoderConfig::default();
/// assert_eq!((cfg.channels, cfg.hidden, cfg.latent), (1, 32, 64));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AutoencoderConfig {
    /// Image channels (1 for Fashion-MNIST).
    pub channels: usize,
    /// Channels after the first convolution.
    pub hidden: usize,
    /// Latent width D.
    pub latent: usize,
}

impl Default for AutoencoderConfig {
    fn default() -> Self {
        Self {
            channels: 1,
            hidden: 32,
            latent: 64,
        }
    }
}

/// Two stride-2 4x4 convolutions (ReLU between) from (B, C, H, W) images to a (H/4, W/4) grid
/// of latents, and the mirrored transposed convolutions back, with a sigmoid on the output
/// (pixels in [0, 1]). Variables: `enc1`, `enc2`, `dec1`, `dec2`.
///
/// ```
/// use candle_core::{DType, Device, Tensor};
/// use candle_nn::{VarBuilder, VarMap};
/// use ddcl_codebook::{AutoencoderConfig, ConvAutoencoder};
/// let varmap = VarMap::new();
/// let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// let ae = ConvAutoencoder::new(&AutoencoderConfig::default(), vb)?;
/// let x = Tensor::rand(0f32, 1., (2, 1, 28, 28), &Device::Cpu)?;
/// let z = ae.encode(&x)?;                              // (2, 49, 64)
/// assert_eq!(z.dims(), &[2, 49, 64]);
/// assert_eq!(ae.decode(&z, 7, 7)?.dims(), x.dims());
/// # Ok::<(), ddcl_codebook::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct ConvAutoencoder {
    enc1: Conv2d,
    enc2: Conv2d,
    dec1: ConvTranspose2d,
    dec2: ConvTranspose2d,
    cfg: AutoencoderConfig,
}

impl ConvAutoencoder {
    /// The network with widths `cfg`, its variables under `vb`.
    pub fn new(cfg: &AutoencoderConfig, vb: VarBuilder) -> Result<Self> {
        for (name, value) in [
            ("channels", cfg.channels),
            ("hidden", cfg.hidden),
            ("latent", cfg.latent),
        ] {
            if value == 0 {
                return Err(Error::OutOfRange {
                    name,
                    expected: ">= 1",
                    value: 0.0,
                });
            }
        }
        let conv = Conv2dConfig {
            padding: 1,
            stride: 2,
            ..Conv2dConfig::default()
        };
        let deconv = ConvTranspose2dConfig {
            padding: 1,
            stride: 2,
            ..ConvTranspose2dConfig::default()
        };
        Ok(Self {
            enc1: conv2d(cfg.channels, cfg.hidden, 4, conv, vb.pp("enc1"))?,
            enc2: conv2d(cfg.hidden, cfg.latent, 4, conv, vb.pp("enc2"))?,
            dec1: conv_transpose2d(cfg.latent, cfg.hidden, 4, deconv, vb.pp("dec1"))?,
            dec2: conv_transpose2d(cfg.hidden, cfg.channels, 4, deconv, vb.pp("dec2"))?,
            cfg: *cfg,
        })
    }

    /// The widths.
    pub fn config(&self) -> &AutoencoderConfig {
        &self.cfg
    }

    /// Images (B, C, H, W), H and W multiples of 4, to latents (B, H/4 W/4, D).
    pub fn encode(&self, x: &Tensor) -> Result<Tensor> {
        let (_, c, h, w) = x.dims4().map_err(|_| Error::Shape {
            name: "images",
            expected: format!("(B, {}, H, W)", self.cfg.channels),
            got: x.dims().to_vec(),
        })?;
        if c != self.cfg.channels || h % 4 != 0 || w % 4 != 0 || h == 0 || w == 0 {
            return Err(Error::Shape {
                name: "images",
                expected: format!(
                    "(B, {}, H, W) with H, W positive multiples of 4",
                    self.cfg.channels
                ),
                got: x.dims().to_vec(),
            });
        }
        let f = self.enc2.forward(&self.enc1.forward(x)?.relu()?)?;
        to_latents(&f)
    }

    /// Latents (B, h w, D) of an (h, w) grid to images (B, C, 4h, 4w).
    pub fn decode(&self, z: &Tensor, h: usize, w: usize) -> Result<Tensor> {
        let f = from_latents(z, h, w)?;
        let x = self.dec2.forward(&self.dec1.forward(&f)?.relu()?)?;
        Ok(candle_nn::ops::sigmoid(&x)?)
    }
}
