//! One colour per prototype.

/// Kelly's 22 colours of maximum contrast without white and black (K. L. Kelly, "Twenty-two
/// colors of maximum contrast", 1965), in his order, so that the first prototypes get the
/// most distinct hues. Twenty colours fit in a constant; a colour crate would add a
/// dependency for a table.
const KELLY: [[u8; 3]; 20] = [
    [0xF3, 0xC3, 0x00],
    [0x87, 0x56, 0x92],
    [0xF3, 0x84, 0x00],
    [0xA1, 0xCA, 0xF1],
    [0xBE, 0x00, 0x32],
    [0xC2, 0xB2, 0x80],
    [0x84, 0x84, 0x82],
    [0x00, 0x88, 0x56],
    [0xE6, 0x8F, 0xAC],
    [0x00, 0x67, 0xA5],
    [0xF9, 0x93, 0x79],
    [0x60, 0x4E, 0x97],
    [0xF6, 0xA6, 0x00],
    [0xB3, 0x44, 0x6C],
    [0xDC, 0xD3, 0x00],
    [0x88, 0x2D, 0x17],
    [0x8D, 0xB6, 0x00],
    [0x65, 0x45, 0x22],
    [0xE2, 0x58, 0x22],
    [0x2B, 0x3D, 0x26],
];

/// The colour (RGB) of prototype `k`: Kelly's colours for the first twenty, then hues a golden
/// angle apart (so that any K gets colours, though past twenty some are close).
///
/// ```
/// use ddcl_readout::interpret::colour;
/// assert_eq!(colour(0), [0xF3, 0xC3, 0x00]);
/// assert_ne!(colour(20), colour(21));
/// ```
pub fn colour(k: usize) -> [u8; 3] {
    match KELLY.get(k) {
        Some(&c) => c,
        None => hsv((k as f64 * 137.507_764).rem_euclid(360.0), 0.65, 0.85),
    }
}

/// `#rrggbb` of a colour.
///
/// ```
/// assert_eq!(ddcl_readout::interpret::hex([0, 0x88, 0x56]), "#008856");
/// ```
pub fn hex(c: [u8; 3]) -> String {
    format!("#{:02x}{:02x}{:02x}", c[0], c[1], c[2])
}

/// RGB of hue `h` (degrees), saturation `s` and value `v` in [0, 1].
fn hsv(h: f64, s: f64, v: f64) -> [u8; 3] {
    let c = v * s;
    let x = c * (1.0 - ((h / 60.0).rem_euclid(2.0) - 1.0).abs());
    let (r, g, b) = match (h / 60.0) as u32 {
        0 => (c, x, 0.0),
        1 => (x, c, 0.0),
        2 => (0.0, c, x),
        3 => (0.0, x, c),
        4 => (x, 0.0, c),
        _ => (c, 0.0, x),
    };
    let m = v - c;
    [r, g, b].map(|u| ((u + m) * 255.0).round() as u8)
}
