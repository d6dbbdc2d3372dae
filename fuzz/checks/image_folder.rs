//! The image-folder reader on arbitrary bytes: one class holds the input as a PNG or JPEG
//! file (the first byte picks the name), the other a valid image. Any input gives images or a
//! typed error naming the file.

/// Reads a class folder holding `data` as one image file.
pub fn run(data: &[u8]) {
    let Some((&which, bytes)) = data.split_first() else {
        return;
    };
    let dir = super::scratch::dir().join("images");
    std::fs::remove_dir_all(&dir).ok();
    let name = if which % 2 == 0 {
        "images/a/x.png"
    } else {
        "images/a/x.jpg"
    };
    let bad = super::scratch::file(name, bytes);
    super::scratch::file("images/b/y.png", TINY_PNG);
    match ddcl_readout::data::read_image_folder(&dir) {
        Ok(set) => assert_eq!(set.inputs.len(), 2),
        Err(e) => assert!(e.to_string().contains(bad.to_str().unwrap_or("")), "{e}"),
    }
}

/// A 1 x 1 grey PNG.
const TINY_PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x00, 0x00, 0x00, 0x3a, 0x7e, 0x9b,
    0x55, 0x00, 0x00, 0x00, 0x0a, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x60, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x01, 0x48, 0xaf, 0xa4, 0x71, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];
