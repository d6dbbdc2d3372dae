//! One configured quantiser built for a run: DDCL, hard VQ or FSQ behind the library's one
//! trait, with DDCL's soft codes kept reachable for the train/inference gap.

use candle_core::Tensor;
use candle_nn::VarBuilder;
use ddcl_codebook::{DdclCodebook, Fsq, Quantizer, VectorQuantizer};

use crate::codebook::config::CodebookMethod;
use crate::error::Result;

/// A quantiser of the comparison.
pub(crate) enum Built {
    /// DDCL codebook.
    Ddcl(DdclCodebook),
    /// Hard vector quantiser.
    Vq(VectorQuantizer),
    /// Finite scalar quantisation.
    Fsq(Fsq),
}

impl Built {
    /// `method` for latents of width `dim` with `codes` codes (FSQ: its own grid) trained
    /// `iterations` steps, its draws seeded by `seed`, its variables under `vb`.
    pub(crate) fn new(
        method: &CodebookMethod,
        codes: usize,
        iterations: usize,
        seed: u64,
        dim: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(match (&method.ddcl, &method.vq, &method.fsq) {
            (Some(d), _, _) => Self::Ddcl(DdclCodebook::new(
                dim,
                &d.config(codes, iterations, seed),
                vb,
            )?),
            (_, Some(v), _) => Self::Vq(VectorQuantizer::new(dim, &v.config(codes, seed), vb)?),
            (_, _, Some(f)) => Self::Fsq(Fsq::new(dim, &f.config(), vb)?),
            (None, None, None) => {
                return Err(ddcl_readout::check::config_error(
                    &format!("methods.{}", method.name),
                    "give exactly one of `ddcl`, `vq`, `fsq`",
                )
                .into())
            }
        })
    }

    /// The quantiser through the library's trait.
    pub(crate) fn get(&self) -> &dyn Quantizer {
        match self {
            Self::Ddcl(q) => q,
            Self::Vq(q) => q,
            Self::Fsq(q) => q,
        }
    }

    /// The quantiser through the library's trait, to train.
    pub(crate) fn get_mut(&mut self) -> &mut dyn Quantizer {
        match self {
            Self::Ddcl(q) => q,
            Self::Vq(q) => q,
            Self::Fsq(q) => q,
        }
    }

    /// DDCL's soft codes of `z` (what training decodes); `None` for the hard quantisers.
    pub(crate) fn soft(&self, z: &Tensor) -> Result<Option<Tensor>> {
        match self {
            Self::Ddcl(q) => Ok(Some(q.soft(z)?)),
            Self::Vq(_) | Self::Fsq(_) => Ok(None),
        }
    }
}
