//! The small convolutional autoencoder of the codebook experiment, and the image <-> latent
//! layout a quantiser takes.

use candle_core::{DType, Tensor};
use candle_nn::{
    conv2d, conv_transpose2d, Conv2d, Conv2dConfig, ConvTranspose2d, ConvTranspose2dConfig, Module,
    VarBuilder,
};

use crate::unfold::{fold, unfold, Window};
use crate::{Error, Result};

/// The window of every layer: 4 x 4, stride 2, padding 1 (each halves or doubles the grid).
const WINDOW: Window = Window {
    kernel: 4,
    stride: 2,
    padding: 1,
};

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
    let (b, c) = latent_dims(z, h, w)?;
    Ok(z.transpose(1, 2)?.reshape((b, c, h, w))?)
}

/// The batch size and width of latents (B, h w, C), or the shape error naming them.
fn latent_dims(z: &Tensor, h: usize, w: usize) -> Result<(usize, usize)> {
    let shape_error = || Error::Shape {
        name: "latents",
        expected: format!("(B, N, C) with N = {h} x {w}"),
        got: z.dims().to_vec(),
    };
    let (b, n, c) = z.dims3().map_err(|_| shape_error())?;
    if n != h * w {
        return Err(shape_error());
    }
    Ok((b, c))
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
/// (pixels in [0, 1]). Variables: `enc1`, `enc2`, `dec1`, `dec2`, in candle's `Conv2d` and
/// `ConvTranspose2d` layouts and initialisations.
///
/// On the CPU (f32, f64) the layers run channels-last as window unfolding and one matrix
/// product each, forward and backward (several times faster than candle's CPU convolution
/// gradients); elsewhere candle's convolutions; both give the same values.
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
        if !channels_last(x) {
            let f = self.enc2.forward(&self.enc1.forward(x)?.relu()?)?;
            return to_latents(&f);
        }
        let g = conv(&x.permute((0, 2, 3, 1))?, &self.enc1)?.relu()?;
        let g = conv(&g, &self.enc2)?;
        let (b, h, w, d) = g.dims4()?;
        Ok(g.reshape((b, h * w, d))?)
    }

    /// Latents (B, h w, D) of an (h, w) grid to images (B, C, 4h, 4w).
    pub fn decode(&self, z: &Tensor, h: usize, w: usize) -> Result<Tensor> {
        if !channels_last(z) {
            let f = from_latents(z, h, w)?;
            let x = self.dec2.forward(&self.dec1.forward(&f)?.relu()?)?;
            return Ok(candle_nn::ops::sigmoid(&x)?);
        }
        let (b, d) = latent_dims(z, h, w)?;
        let g = deconv(&z.reshape((b, h, w, d))?, &self.dec1, 2 * h, 2 * w)?.relu()?;
        let x = deconv(&g, &self.dec2, 4 * h, 4 * w)?.permute((0, 3, 1, 2))?;
        Ok(candle_nn::ops::sigmoid(&x)?)
    }
}

/// Whether the channels-last unfold path serves `x`: CPU tensors of f32 or f64.
fn channels_last(x: &Tensor) -> bool {
    x.device().is_cpu() && matches!(x.dtype(), DType::F32 | DType::F64)
}

/// `layer` on a channels-last grid (B, H, W, Cin) -> (B, H/2, W/2, Cout): windows times the
/// weight (Cout, Cin, k, k) laid out as (Cout, k k Cin), plus the bias.
fn conv(grid: &Tensor, layer: &Conv2d) -> Result<Tensor> {
    let cols = unfold(grid, WINDOW)?;
    let (b, ho, wo, kkc) = cols.dims4()?;
    let weight = layer.weight().permute((0, 2, 3, 1))?.reshape(((), kkc))?;
    let out = cols.reshape((b * ho * wo, kkc))?.matmul(&weight.t()?)?;
    let out = add_bias(out, layer.bias())?;
    Ok(out.reshape((b, ho, wo, ()))?)
}

/// `layer` on a channels-last grid (B, h, w, Cin) -> (B, H, W, Cout) with (H, W) = (2h, 2w):
/// the input times the weight (Cin, Cout, k, k) laid out as (Cin, k k Cout), folded onto the
/// output grid, plus the bias.
fn deconv(grid: &Tensor, layer: &ConvTranspose2d, h: usize, w: usize) -> Result<Tensor> {
    let (b, hi, wi, cin) = grid.dims4()?;
    let weight = layer.weight().permute((0, 2, 3, 1))?.reshape((cin, ()))?;
    let cols = grid.reshape((b * hi * wi, cin))?.matmul(&weight)?;
    let out = fold(&cols.reshape((b, hi, wi, ()))?, WINDOW, h, w)?;
    add_bias(out, layer.bias())
}

fn add_bias(x: Tensor, bias: Option<&Tensor>) -> Result<Tensor> {
    Ok(match bias {
        Some(bias) => x.broadcast_add(bias)?,
        None => x,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::{Device, Var};
    use candle_nn::VarMap;

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b)
            .unwrap()
            .abs()
            .unwrap()
            .flatten_all()
            .unwrap()
            .max(0)
            .unwrap()
            .to_scalar::<f64>()
            .unwrap()
    }

    /// The unfold path against candle's convolutions, values and gradients (to the weights,
    /// the biases and the input), in f64.
    #[test]
    fn channels_last_layers_match_candle_convolutions() -> Result<()> {
        let dev = Device::Cpu;
        let map = VarMap::new();
        let vb = VarBuilder::from_varmap(&map, DType::F64, &dev);
        let ae = ConvAutoencoder::new(
            &AutoencoderConfig {
                channels: 2,
                hidden: 3,
                latent: 5,
            },
            vb,
        )?;
        let x = Var::from_tensor(&Tensor::randn(0f64, 1., (2, 2, 8, 12), &dev)?)?;
        let weights = map.all_vars();
        let y = Tensor::randn(0f64, 1., (2, 2, 8, 12), &dev)?;
        // candle: NCHW all the way
        let f = ae.enc2.forward(&ae.enc1.forward(&x)?.relu()?)?;
        let r = ae.dec2.forward(&ae.dec1.forward(&f)?.relu()?)?;
        let ours_f = conv(
            &conv(&x.permute((0, 2, 3, 1))?, &ae.enc1)?.relu()?,
            &ae.enc2,
        )?;
        let ours_r = deconv(&deconv(&ours_f, &ae.dec1, 4, 6)?.relu()?, &ae.dec2, 8, 12)?
            .permute((0, 3, 1, 2))?;
        assert!(max_diff(&f.permute((0, 2, 3, 1))?, &ours_f) < 1e-12);
        assert!(max_diff(&r, &ours_r) < 1e-12);
        let theirs = (r * &y)?.sum_all()?.backward()?;
        let ours = (ours_r * &y)?.sum_all()?.backward()?;
        for v in weights.iter().chain(std::iter::once(&x)) {
            let (a, b) = (theirs.get(v).unwrap(), ours.get(v).unwrap());
            assert!(max_diff(a, b) < 1e-10, "gradient of {:?}", v.dims());
        }
        Ok(())
    }
}
