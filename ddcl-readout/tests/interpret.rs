//! The interpretation pages on the tiny models: the text page's structure (every sentence,
//! one span per token, a legend row per prototype, well-formed XML, text escaped), the image
//! overlays' size and colours, and `ddcl-interpret` end to end.

use std::path::Path;
use std::process::Command;

use candle_core::{DType, Device};
use ddcl_readout::interpret::{
    assign_images, assign_texts, blend, colour, fit_readout, overlay, text_page, tint,
    write_image_pages, Assigned, AssignedImage, FitSettings, PageInfo,
};
use ddcl_readout::{tiny, ImageEncoder, ModelSource, TextEncoder, Weights};

const SENTENCES: [&str; 5] = [
    "the film was great fun",
    "a boring plot and a slow ending",
    "<script>alert('x & y')</script> \"loved\" it",
    "the cat sat on the mat",
    "not very funny but the music was good",
];

fn text_encoder(dir: &Path) -> TextEncoder {
    tiny::text_model(dir, 3).unwrap();
    let model = ModelSource::new(dir.to_str().unwrap());
    TextEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap()
}

fn settings(k: usize) -> FitSettings {
    FitSettings {
        prototypes: k,
        steps: 10,
        ..FitSettings::default()
    }
}

/// The class attribute of an element, split.
fn classes<'a>(n: &roxmltree::Node<'a, '_>) -> Vec<&'a str> {
    n.attribute("class")
        .map_or(Vec::new(), |c| c.split(' ').collect())
}

#[test]
fn text_page_has_every_sentence_one_span_per_token_and_a_legend_row_per_prototype() {
    let dir = tempfile::tempdir().unwrap();
    let enc = text_encoder(dir.path());
    let k = 4;
    let batch = enc.tokenize(&SENTENCES).unwrap();
    let h = enc.forward(&batch).unwrap();
    let readout = fit_readout(&h, Some(&batch.mask), &settings(k)).unwrap();
    // batches of 2 sorted by length: the sentences must still come back in input order
    let texts = assign_texts(&enc, &readout, &SENTENCES, 2).unwrap();
    let info = PageInfo {
        title: "tiny <model> & co".into(),
        notes: vec!["note with <b>tags</b>".into()],
    };
    let html = text_page(&texts, k, 5, &info).unwrap();
    let doc = roxmltree::Document::parse_with_options(
        &html,
        roxmltree::ParsingOptions {
            allow_dtd: true,
            ..Default::default()
        },
    )
    .expect("the page is well-formed XML");

    // nothing executable and nothing fetched
    assert!(doc
        .descendants()
        .all(|n| !matches!(n.tag_name().name(), "script" | "link" | "iframe")));
    assert!(doc.descendants().all(|n| n
        .attributes()
        .all(|a| !a.value().contains("://") && !a.name().starts_with("on"))));
    assert!(
        !html.contains("<script"),
        "the sentence's <script> is escaped"
    );

    let items: Vec<_> = doc
        .descendants()
        .filter(|n| classes(n).contains(&"sentence"))
        .collect();
    assert_eq!(items.len(), SENTENCES.len());
    let mask = batch.mask.to_vec2::<u32>().unwrap();
    for (i, li) in items.iter().enumerate() {
        let spans: Vec<_> = li.children().filter(|n| n.is_element()).collect();
        let real = mask[i].iter().filter(|&&m| m == 1).count();
        assert_eq!(spans.len(), real, "sentence {i}: one span per token");
        assert_eq!(spans.len(), texts[i].tokens.len());
        for (span, tok) in spans.iter().zip(&texts[i].tokens) {
            assert_eq!(span.tag_name().name(), "span");
            assert!(classes(span).contains(&"t"));
            assert_eq!(classes(span).contains(&"sp"), tok.special);
            let style = span.attribute("style").unwrap();
            let want = ddcl_readout::interpret::hex(colour(tok.prototype));
            assert!(style.contains(&want), "{style} is not in {want}");
            let title = span.attribute("title").unwrap();
            assert!(
                title.starts_with(&format!("P{} ", tok.prototype)),
                "{title}"
            );
            let k_max = tok.q.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1));
            assert_eq!(k_max.map(|m| m.0), Some(tok.prototype), "the hard argmax");
        }
        // the sentence's words, read back in order, are the sentence itself (lowercased by
        // the tiny tokenizer's normaliser, but the page shows the sentence's own text)
        let words: String = li
            .descendants()
            .filter(|n| n.is_element() && !classes(n).contains(&"sp"))
            .filter_map(|n| n.text())
            .collect::<Vec<_>>()
            .join("");
        let letters = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
        assert_eq!(letters(&words), letters(SENTENCES[i]), "sentence {i}");
    }
    // the <script> sentence comes back as text
    assert!(items[2]
        .descendants()
        .filter(|n| n.is_text())
        .filter_map(|n| n.text())
        .collect::<String>()
        .contains("<script>alert('x & y')</script>"));
    let legend: Vec<_> = doc
        .descendants()
        .filter(|n| classes(n).contains(&"proto"))
        .collect();
    assert_eq!(legend.len(), k);
    for (p, row) in legend.iter().enumerate() {
        assert_eq!(row.attribute("id"), Some(format!("p{p}").as_str()));
        let tops = row.descendants().filter(|n| classes(n) == ["t"]).count();
        assert!((1..=5).contains(&tops), "prototype {p}: {tops} top tokens");
    }
    let title = doc.descendants().find(|n| n.has_tag_name("title")).unwrap();
    assert_eq!(title.text(), Some("tiny <model> & co"));
}

#[test]
fn text_page_refuses_assignments_that_do_not_fit_k() {
    let dir = tempfile::tempdir().unwrap();
    let enc = text_encoder(dir.path());
    let batch = enc.tokenize(&SENTENCES[..2]).unwrap();
    let h = enc.forward(&batch).unwrap();
    let readout = fit_readout(&h, Some(&batch.mask), &settings(3)).unwrap();
    let texts = assign_texts(&enc, &readout, &SENTENCES[..2], 8).unwrap();
    let err = text_page(&texts, 2, 5, &PageInfo::default()).unwrap_err();
    assert!(
        matches!(err, ddcl_readout::Error::ShapeMismatch { .. }),
        "{err}"
    );
    assert!(text_page(&texts, 0, 5, &PageInfo::default()).is_err());
}

/// A picture of one grey level with a grid of 4×4 patches of 7 px, each its own assignment.
fn grey_image() -> AssignedImage {
    let patches = (0..16)
        .map(|i| {
            let k = i % 3;
            let mut q = vec![0.1f32; 3];
            q[k] = 0.8 - 0.05 * (i / 3) as f32;
            Assigned { prototype: k, q }
        })
        .collect();
    AssignedImage {
        name: "grey".into(),
        picture: image::RgbImage::from_pixel(28, 28, image::Rgb([128; 3])),
        grid: 4,
        cls: Assigned {
            prototype: 0,
            q: vec![1.0, 0.0, 0.0],
        },
        patches,
    }
}

#[test]
fn overlay_is_the_picture_scaled_with_each_patch_in_its_prototypes_colour() {
    let img = grey_image();
    let scale = 3;
    let out = overlay(&img, scale).unwrap();
    assert_eq!(out.dimensions(), (28 * scale, 28 * scale));
    let cell = 7 * scale;
    for (i, p) in img.patches.iter().enumerate() {
        let (x, y) = (
            (i % 4) as u32 * cell + cell / 2,
            (i / 4) as u32 * cell + cell / 2,
        );
        let want = blend([128; 3], colour(p.prototype), tint(p.q[p.prototype], 3));
        assert_eq!(out.get_pixel(x, y).0, want, "patch {i}");
    }
    // a boundary between patches of different prototypes is drawn in the right one's colour
    assert_eq!(
        out.get_pixel(cell, cell / 2).0,
        colour(img.patches[1].prototype)
    );
    let mut bad = img.clone();
    bad.patches.pop();
    assert!(overlay(&bad, 1).is_err());
}

#[test]
fn image_pages_on_the_tiny_dinov2() {
    let dir = tempfile::tempdir().unwrap();
    let model_dir = dir.path().join("model");
    std::fs::create_dir(&model_dir).unwrap();
    tiny::image_model(&model_dir, 2).unwrap();
    let model = ModelSource::new(model_dir.to_str().unwrap());
    let enc = ImageEncoder::load(&model, Weights::Frozen, DType::F32, &Device::Cpu).unwrap();
    let images: Vec<(String, image::DynamicImage)> = (0..3u8)
        .map(|i| {
            let im = image::RgbImage::from_fn(40, 30, |x, y| {
                image::Rgb([(x * 6) as u8, (y * 8) as u8, 80 * i])
            });
            (format!("im<{i}>.png"), image::DynamicImage::ImageRgb8(im))
        })
        .collect();
    let decoded: Vec<_> = images.iter().map(|(_, im)| im.clone()).collect();
    let h = enc.forward(&enc.pixels(&decoded).unwrap()).unwrap();
    let readout = fit_readout(&h, None, &settings(3)).unwrap();
    let assigned = assign_images(&enc, &readout, &images, 2).unwrap();
    assert_eq!(assigned.len(), 3);
    for a in &assigned {
        assert_eq!((a.grid, a.patches.len()), (2, 4));
        assert_eq!(a.picture.dimensions(), (28, 28));
    }
    let out = dir.path().join("pages");
    let index = write_image_pages(&out, &assigned, 3, 4, 4, &PageInfo::default()).unwrap();
    let html = std::fs::read_to_string(&index).unwrap();
    assert!(html.contains("im&lt;1&gt;.png"));
    for (i, a) in assigned.iter().enumerate() {
        let png = image::open(out.join(format!("image-{i:03}.png"))).unwrap();
        assert_eq!((png.width(), png.height()), (112, 112));
        // the PNG written is the overlay, pixel for pixel
        assert_eq!(png.to_rgb8(), overlay(a, 4).unwrap());
        assert!(html.contains(&format!("src=\"image-{i:03}.png\"")));
    }
    for p in 0..3 {
        assert!(out.join(format!("prototype-{p}.png")).exists());
    }
    let leftovers: Vec<_> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "no temporary files left");
}

#[test]
fn ddcl_interpret_writes_a_text_page_and_image_pages() {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("text");
    std::fs::create_dir(&model).unwrap();
    text_encoder(&model);
    let input = dir.path().join("sentences.txt");
    std::fs::write(&input, SENTENCES.join("\n\n")).unwrap();
    let page = dir.path().join("page.html");
    let bin = env!("CARGO_BIN_EXE_ddcl-interpret");
    let out = Command::new(bin)
        .args(["--model", model.to_str().unwrap(), "--prototypes", "3"])
        .args(["--steps", "5", "--text", input.to_str().unwrap()])
        .args(["--output", page.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("class=\"sentence\"").count(), SENTENCES.len());
    assert_eq!(html.matches("class=\"proto\"").count(), 3);

    let vit = dir.path().join("vit");
    std::fs::create_dir(&vit).unwrap();
    tiny::image_model(&vit, 1).unwrap();
    let pics = dir.path().join("pics").join("class");
    std::fs::create_dir_all(&pics).unwrap();
    for i in 0..2u8 {
        image::GrayImage::from_pixel(30, 30, image::Luma([100 * i]))
            .save(pics.join(format!("{i}.png")))
            .unwrap();
    }
    let pages = dir.path().join("pages");
    let out = Command::new(bin)
        .args(["--model", vit.to_str().unwrap(), "--prototypes", "2"])
        .args(["--images", dir.path().join("pics").to_str().unwrap()])
        .args(["--output", pages.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(pages.join("index.html").exists() && pages.join("image-001.png").exists());

    // a missing input is an error naming it, and writes nothing
    let out = Command::new(bin)
        .args(["--model", model.to_str().unwrap(), "--text", "no-such.txt"])
        .args(["--output", dir.path().join("none.html").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such.txt"));
    assert!(!dir.path().join("none.html").exists());
}
