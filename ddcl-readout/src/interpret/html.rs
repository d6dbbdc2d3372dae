//! The pages: self-contained HTML (inline CSS and SVG, no scripts, nothing fetched), written as
//! well-formed XML so that any XML parser reads them back.

use std::collections::HashMap;
use std::fmt::Write;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::interpret::palette::{colour, hex};
use crate::interpret::patches::{tint, Assigned, AssignedImage};
use crate::interpret::text::AssignedText;
use crate::{Error, Result};

/// What a page says about itself: a title and lines of notes (the model, K, the temperature,
/// how the prototypes were obtained), shown under the title, escaped.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageInfo {
    /// The page's title.
    pub title: String,
    /// Lines under the title.
    pub notes: Vec<String>,
}

const STYLE: &str = "body{font:15px/1.5 system-ui,sans-serif;margin:2em auto;max-width:70em;\
padding:0 1em;color:#222}h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;\
margin-top:1.6em}p.note{margin:.1em 0;color:#555}table{border-collapse:collapse}\
td,th{padding:.25em .6em;text-align:left;vertical-align:middle;border-bottom:1px solid #e4e4e4}\
span.sw{display:inline-block;width:1.1em;height:1.1em;border-radius:3px;vertical-align:-.2em;\
margin-right:.4em}span.t{border-bottom:3px solid;border-radius:2px;padding:0 1px}\
span.sp{font-size:.72em;color:#666}span.q{color:#777;font-size:.85em;margin-right:.7em}\
ol.s li{margin:.45em 0}figure{display:inline-block;margin:.5em;text-align:center}\
figcaption{font-size:.85em;color:#444}figure img{width:21em}";

/// The page around `body`: head with title and style, the title and notes.
fn page(info: &PageInfo, body: &str) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/><title>{}</title>\
         <style>{STYLE}</style></head><body><h1>{}</h1>",
        text(&info.title),
        text(&info.title)
    );
    for n in &info.notes {
        let _ = write!(s, "<p class=\"note\">{}</p>", text(n));
    }
    s.push_str(body);
    s.push_str("</body></html>\n");
    s
}

/// A colour swatch and the prototype's name.
fn swatch(k: usize) -> String {
    format!(
        "<span class=\"sw\" style=\"background:{}\"></span>P{k}",
        hex(colour(k))
    )
}

/// A bar of `share` (0..1) in prototype `k`'s colour, with the share in %.
fn bar(k: usize, share: f64) -> String {
    format!(
        "<svg width=\"120\" height=\"12\" role=\"img\"><rect width=\"120\" height=\"12\" \
         fill=\"#eee\"/><rect width=\"{:.1}\" height=\"12\" fill=\"{}\"/></svg> {:.1}%",
        120.0 * share,
        hex(colour(k)),
        100.0 * share
    )
}

/// The style of a token of prototype `p` (of `k`) with `q` there: underline in the
/// prototype's colour, fill as strong as [`tint`] of `q`.
fn token_style(p: usize, q: f32, k: usize) -> String {
    let [r, g, b] = colour(p);
    format!(
        "border-color:{};background:rgba({r},{g},{b},{:.2})",
        hex([r, g, b]),
        tint(q, k)
    )
}

/// Checks that every assignment has K values of `q` and a prototype below K.
fn check<'a>(what: &str, all: impl Iterator<Item = (usize, &'a [f32])>, k: usize) -> Result<()> {
    if k == 0 {
        return Err(Error::empty(format!("{what}: the prototypes")));
    }
    for (p, q) in all {
        if q.len() != k {
            return Err(Error::ShapeMismatch {
                name: format!("{what}: q of a token"),
                expected: vec![k],
                got: vec![q.len()],
            });
        }
        crate::check::require(
            p < k,
            &format!("{what}: prototype"),
            p as f64,
            format!("< {k}"),
        )?;
    }
    Ok(())
}

/// The text page: a legend with, per prototype of the K, its colour, its share of the tokens
/// and its `top` tokens (the distinct word pieces with the highest `q` of that prototype over
/// all sentences, with that `q`); then each sentence with one span per token, underlined in
/// its prototype's colour (the hard assignment) and filled as strongly as its `q` there; the
/// tooltip gives the prototype, `q` and the word piece.
///
/// Tokens are shown as the encoder saw them, not merged into words: each word piece has its
/// own assignment, and merging would have to hide some. They are written as the sentence
/// spells them (its own text, case and punctuation, pieces of one word without a gap), so the
/// sentence reads as written; special tokens (`[CLS]`, `[SEP]`) are shown small, since
/// they take part in the readout.
///
/// ```
/// use ddcl_readout::interpret::{text_page, AssignedText, PageInfo, Token};
/// let tok = |s: &str, k| Token { text: s.into(), piece: s.into(), special: false,
///     space_before: true, prototype: k, q: vec![0.9, 0.1] };
/// let s = AssignedText { text: "a <b>".into(), tokens: vec![tok("a", 0), tok("<b>", 1)] };
/// let html = text_page(&[s], 2, 5, &PageInfo { title: "t".into(), notes: vec![] })?;
/// assert!(html.contains("&lt;b&gt;") && !html.contains("<b>"));
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn text_page(texts: &[AssignedText], k: usize, top: usize, info: &PageInfo) -> Result<String> {
    let tokens = || texts.iter().flat_map(|s| &s.tokens);
    check(
        "text_page",
        tokens().map(|t| (t.prototype, t.q.as_slice())),
        k,
    )?;
    let total = tokens().count().max(1) as f64;
    let mut s = String::from(
        "<h2>Prototypes</h2><p class=\"note\">Each token is underlined in the colour of its \
         prototype (the largest q), its fill the stronger the more that q exceeds 1/K; hover a token for its q. Top \
         tokens: the word pieces with the highest q of the prototype over all sentences.</p>\
         <table class=\"legend\"><tr><th>prototype</th><th>share of tokens</th>\
         <th>top tokens (q)</th></tr>",
    );
    for p in 0..k {
        let n = tokens().filter(|t| t.prototype == p).count();
        let mut highest: HashMap<&str, f32> = HashMap::new();
        for t in tokens() {
            let q = highest.entry(&t.piece).or_insert(t.q[p]);
            *q = q.max(t.q[p]);
        }
        let mut best: Vec<(&str, f32)> = highest.into_iter().collect();
        best.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(b.0)));
        let _ = write!(
            s,
            "<tr class=\"proto\" id=\"p{p}\"><td>{}</td><td>{}</td><td>",
            swatch(p),
            bar(p, n as f64 / total)
        );
        for (piece, q) in best.into_iter().take(top) {
            let _ = write!(
                s,
                "<span class=\"t\" style=\"{}\">{}</span><span class=\"q\">{q:.2}</span> ",
                token_style(p, q, k),
                text(piece)
            );
        }
        s.push_str("</td></tr>");
    }
    let _ = write!(
        s,
        "</table><h2>Sentences ({})</h2><ol class=\"s\">",
        texts.len()
    );
    for sentence in texts {
        s.push_str("<li class=\"sentence\">");
        for t in &sentence.tokens {
            if t.space_before {
                s.push(' ');
            }
            let _ = write!(
                s,
                "<span class=\"{}\" style=\"{}\" title=\"{}\">{}</span>",
                if t.special { "t sp" } else { "t" },
                token_style(t.prototype, t.q[t.prototype], k),
                attr(&format!(
                    "P{} · q {:.2} · {}",
                    t.prototype, t.q[t.prototype], t.piece
                )),
                text(&t.text)
            );
        }
        s.push_str("</li>");
    }
    s.push_str("</ol>");
    Ok(page(info, &s))
}

/// The image index page: a legend with, per prototype of the K, its colour, its share of the
/// patches and the strip of its top patches (`strips[k]`, an image file beside the page, as
/// [`crate::interpret::top_patches`] draws it); then every image (`files[i]`, its overlay
/// beside the page, as [`crate::interpret::overlay`] draws it) with its name and the class
/// token's prototype.
///
/// ```
/// use ddcl_readout::interpret::{image_page, Assigned, AssignedImage, PageInfo};
/// let a = |k| Assigned { prototype: k, q: vec![0.5, 0.5] };
/// let img = AssignedImage { name: "<cat>.png".into(), picture: image::RgbImage::new(4, 4),
///     grid: 2, cls: a(0), patches: vec![a(0), a(1), a(1), a(1)] };
/// let html = image_page(&[img], &["i0.png".into()], &["p0.png".into(), "p1.png".into()], 2,
///     &PageInfo::default())?;
/// assert!(html.contains("75.0%") && html.contains("&lt;cat&gt;.png"));
/// # Ok::<(), ddcl_readout::Error>(())
/// ```
pub fn image_page(
    images: &[AssignedImage],
    files: &[String],
    strips: &[String],
    k: usize,
    info: &PageInfo,
) -> Result<String> {
    let all = || {
        images
            .iter()
            .flat_map(|im| std::iter::once(&im.cls).chain(&im.patches))
    };
    check(
        "image_page",
        all().map(|a: &Assigned| (a.prototype, a.q.as_slice())),
        k,
    )?;
    if files.len() != images.len() || strips.len() != k {
        return Err(Error::ShapeMismatch {
            name: "image_page: files per image, strips per prototype".into(),
            expected: vec![images.len(), k],
            got: vec![files.len(), strips.len()],
        });
    }
    let patches = || images.iter().flat_map(|im| &im.patches);
    let total = patches().count().max(1) as f64;
    let mut s = String::from(
        "<h2>Prototypes</h2><p class=\"note\">Each patch is tinted in the colour of its \
         prototype (the largest q), the more strongly the more that q exceeds 1/K; a line marks where neighbouring \
         patches change prototype. Top patches: those with the highest q of the prototype over \
         all images.</p><table class=\"legend\"><tr><th>prototype</th><th>share of patches</th>\
         <th>top patches</th></tr>",
    );
    for (p, strip) in strips.iter().enumerate() {
        let n = patches().filter(|a| a.prototype == p).count();
        let _ = write!(
            s,
            "<tr class=\"proto\" id=\"p{p}\"><td>{}</td><td>{}</td><td><img src=\"{}\" \
             alt=\"top patches of P{p}\"/></td></tr>",
            swatch(p),
            bar(p, n as f64 / total),
            attr(strip)
        );
    }
    let _ = write!(s, "</table><h2>Images ({})</h2><div>", images.len());
    for (im, file) in images.iter().zip(files) {
        let _ = write!(
            s,
            "<figure class=\"image\"><a href=\"{}\"><img src=\"{}\" alt=\"{}\"/></a>\
             <figcaption>{} · class token {}</figcaption></figure>",
            attr(file),
            attr(file),
            attr(&im.name),
            text(&im.name),
            swatch(im.cls.prototype)
        );
    }
    s.push_str("</div>");
    Ok(page(info, &s))
}
