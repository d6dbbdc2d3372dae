//! The page of what the prototypes learned (`interpret.html`): the configuration's first
//! DDCL method, fitted as protocol 1 fits it on the first seed's training split of the first
//! text dataset, on a few of that split's test sentences
//! ([`ddcl_readout::interpret::text_page`]).

use std::time::Instant;

use ddcl_readout::interpret::{assign_texts, text_page, PageInfo};

use super::{Context, Encoded};
use crate::data::{split, Inputs};
use crate::error::Result;
use crate::methods::{Fitted, Method};
use crate::results::InterpretPage;

/// Test sentences shown: enough to see what the prototypes gather, few enough to read.
pub const SENTENCES: usize = 30;

/// Top tokens listed per prototype.
const TOP: usize = 10;

/// The page for `set`, or `None` when it is not text or the configuration has no DDCL
/// method.
pub fn run(ctx: &Context, set: &Encoded) -> Result<Option<InterpretPage>> {
    let (cfg, data) = (ctx.cfg, &set.data);
    let (Inputs::Text(texts), Some(encoder)) = (&data.inputs, &ctx.encoders.text) else {
        return Ok(None);
    };
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
    let shown: Vec<&str> = test
        .iter()
        .take(SENTENCES)
        .map(|&i| texts[i].as_str())
        .collect();
    let assigned = assign_texts(encoder, &readout, &shown, cfg.batch_size)?;
    let k = readout.config().prototypes;
    let info = PageInfo {
        title: format!("{}: what the prototypes of {method} learned", data.name),
        notes: vec![
            format!(
                "Model {}; K = {k}, τ = {:.4}; prototypes fitted as protocol 1 fits them on seed \
                 {}'s training split ({} examples, no labels: k-means++, then {} steps on L_SQ).",
                cfg.text_model,
                readout.tau()?,
                ctx.seed,
                train.len(),
                cfg.fit.steps
            ),
            format!(
                "The first {} sentences of that seed's test split.",
                shown.len()
            ),
        ],
    };
    let html = text_page(&assigned, k, TOP, &info)?;
    Ok(Some(InterpretPage {
        dataset: data.name.clone(),
        method: method.to_string(),
        seed: ctx.seed,
        sentences: shown.len(),
        file: "interpret.html".into(),
        seconds: started.elapsed().as_secs_f64(),
        html,
    }))
}
