//! What the prototypes learned, as pictures: a self-contained HTML page with each sentence's
//! tokens coloured by their prototype and the top tokens of each prototype
//! ([`write_text_page`]); for images, a PNG per image with its patches coloured by prototype
//! over the picture and an index page ([`write_image_pages`]). The prototypes come from a
//! trained readout (a checkpoint) or are fitted on the encoder's token states
//! ([`fit_readout`]). The `ddcl-interpret` command writes both.
//!
//! ```
//! use candle_core::{DType, Device};
//! use ddcl_readout::{interpret, tiny, ModelSource, TextEncoder, Weights};
//! let dir = tempfile::tempdir()?;
//! tiny::text_model(dir.path(), 1)?;
//! let model = ModelSource::new(dir.path().to_str().unwrap());
//! let enc = TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu)?;
//! let sentences = ["the film was fun", "a boring plot"];
//! let batch = enc.tokenize(&sentences)?;
//! let h = enc.forward(&batch)?;
//! let settings = interpret::FitSettings { prototypes: 3, steps: 20, ..Default::default() };
//! let readout = interpret::fit_readout(&h, Some(&batch.mask), &settings)?;
//! let texts = interpret::assign_texts(&enc, &readout, &sentences, 32)?;
//! let page = dir.path().join("prototypes.html");
//! interpret::write_text_page(&page, &texts, 3, 8, &interpret::PageInfo::default())?;
//! assert!(std::fs::read_to_string(&page)?.contains("<span class=\"t\""));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod checkpoint;
mod fit;
mod html;
mod palette;
mod patches;
mod text;
mod write;

pub use crate::fit::nearest_sq_distance;
pub use checkpoint::checkpoint_encoder;
pub use fit::{fit_readout, FitSettings, AUTO_TAU_SHARE};
pub use html::{image_page, text_page, PageInfo};
pub use palette::{colour, hex};
pub use patches::{assign_images, blend, overlay, tint, top_patches, Assigned, AssignedImage};
pub use text::{assign_texts, AssignedText, Token};
pub use write::{write_image_pages, write_text_page};
