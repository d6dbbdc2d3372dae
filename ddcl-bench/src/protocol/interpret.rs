//! The pages of what the prototypes learned: the configuration's first DDCL method, fitted as
//! protocol 1 fits it on the first seed's training split, shown on a few of that split's test
//! examples: `interpret.html` for the first text dataset
//! ([`ddcl_readout::interpret::text_page`]), `interpret-images/` for the first image dataset
//! ([`ddcl_readout::interpret::write_image_pages`]).

use std::time::Instant;

use ddcl_readout::interpret::{assign_images, assign_texts, text_page, PageInfo};
use ddcl_readout::DdclReadout;

use super::{Context, Encoded};
use crate::data::{split, Inputs};
use crate::error::Result;
use crate::methods::{Fitted, Method};
use crate::outdir::PAGES;
use crate::results::{ImagePages, InterpretPage};

/// Test sentences shown: enough to see what the prototypes gather, few enough to read.
pub const SENTENCES: usize = 30;

/// Test images shown, each as a picture with its patches tinted by prototype.
pub const IMAGES: usize = 12;

/// Top tokens (or patches) listed per prototype.
pub const TOP: usize = 10;

/// Enlargement of the image overlays.
pub const SCALE: u32 = 2;

/// The first DDCL method fitted on the seed's training split of `set`, with that split's
/// test positions; `None` without a DDCL method.
struct Fit<'a> {
    method: &'a Method,
    readout: Box<DdclReadout>,
    train: usize,
    test: Vec<usize>,
    started: Instant,
}

fn fit<'a>(ctx: &Context<'a>, set: &Encoded) -> Result<Option<Fit<'a>>> {
    let (cfg, data) = (ctx.cfg, &set.data);
    let Some(method) = cfg
        .methods
        .iter()
        .find(|m| matches!(m, Method::Ddcl { .. }))
    else {
        return Ok(None);
    };
    let started = Instant::now();
    let (train, test) = split(data.len(), cfg.train_share_of(&data.name), ctx.seed);
    let labels: Vec<usize> = train.iter().map(|&i| data.labels[i]).collect();
    let fitted = method.fit(
        &set.states.rows(&train)?,
        &labels,
        data.classes.len(),
        &cfg.fit,
        ctx.seed,
    )?;
    let Fitted::Ddcl(readout) = fitted else {
        return Ok(None);
    };
    Ok(Some(Fit {
        method,
        readout,
        train: train.len(),
        test,
        started,
    }))
}

impl Fit<'_> {
    /// What the page says about the model and the fit.
    fn info(&self, ctx: &Context, dataset: &str, model: &str, shown: &str) -> Result<PageInfo> {
        Ok(PageInfo {
            title: format!("{dataset}: what the prototypes of {} learned", self.method),
            notes: vec![
                format!(
                    "Model {model}; K = {}, τ = {:.4}; prototypes fitted as protocol 1 fits them \
                     on seed {}'s training split ({} examples, no labels: k-means++, then {} \
                     steps on L_SQ).",
                    self.readout.config().prototypes,
                    self.readout.tau()?,
                    ctx.seed,
                    self.train,
                    ctx.cfg.fit.steps
                ),
                shown.to_string(),
            ],
        })
    }
}

/// The text page for `set`, or `None` when it is not text or the configuration has no DDCL
/// method.
pub fn run(ctx: &Context, set: &Encoded) -> Result<Option<InterpretPage>> {
    let data = &set.data;
    let (Inputs::Text(texts), Some(encoder)) = (&data.inputs, &ctx.encoders.text) else {
        return Ok(None);
    };
    let Some(fit) = fit(ctx, set)? else {
        return Ok(None);
    };
    let shown: Vec<&str> = fit
        .test
        .iter()
        .take(SENTENCES)
        .map(|&i| texts[i].as_str())
        .collect();
    let assigned = assign_texts(encoder, &fit.readout, &shown, ctx.cfg.batch_size)?;
    let what = format!(
        "The first {} sentences of that seed's test split.",
        shown.len()
    );
    let info = fit.info(ctx, &data.name, &ctx.cfg.text_model, &what)?;
    let html = text_page(&assigned, fit.readout.config().prototypes, TOP, &info)?;
    Ok(Some(InterpretPage {
        dataset: data.name.clone(),
        method: fit.method.to_string(),
        seed: ctx.seed,
        sentences: shown.len(),
        file: "interpret.html".into(),
        seconds: fit.started.elapsed().as_secs_f64(),
        html,
    }))
}

/// The image pages for `set`, or `None` when it is not images or the configuration has no
/// DDCL method.
pub fn run_images(ctx: &Context, set: &Encoded) -> Result<Option<ImagePages>> {
    let data = &set.data;
    let (Inputs::Images(images), Some(encoder)) = (&data.inputs, &ctx.encoders.image) else {
        return Ok(None);
    };
    let Some(fit) = fit(ctx, set)? else {
        return Ok(None);
    };
    let shown: Vec<(String, image::DynamicImage)> = fit
        .test
        .iter()
        .take(IMAGES)
        .map(|&i| {
            let class = &data.classes[data.labels[i]];
            (format!("test #{i} ({class})"), images[i].clone())
        })
        .collect();
    let assigned = assign_images(encoder, &fit.readout, &shown, ctx.cfg.batch_size)?;
    let what = format!(
        "The first {} images of that seed's test split.",
        shown.len()
    );
    let info = fit.info(ctx, &data.name, &ctx.cfg.image_model, &what)?;
    Ok(Some(ImagePages {
        dataset: data.name.clone(),
        method: fit.method.to_string(),
        seed: ctx.seed,
        images: shown.len(),
        folder: PAGES.into(),
        seconds: fit.started.elapsed().as_secs_f64(),
        prototypes: fit.readout.config().prototypes,
        assigned,
        info,
    }))
}
