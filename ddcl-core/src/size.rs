//! The largest sizes ddcl-core allocates for, checked before any allocation so that a size
//! read from a config is a typed error, not an aborted process.

use crate::{Error, Result};

/// The most prototypes (K) of a bank: 2^20. Far above any useful K (the soft assignment costs
/// K distances per token), far below what would exhaust memory by itself.
///
/// ```
/// assert!(ddcl_core::check_prototypes(ddcl_core::MAX_PROTOTYPES).is_ok());
/// assert!(ddcl_core::check_prototypes(1_000_000_000_000).is_err());
/// ```
pub const MAX_PROTOTYPES: usize = 1 << 20;

/// The most elements of one prototype bank K x D: 2^30 (4 GiB of f32).
///
/// ```
/// assert!(ddcl_core::check_bank(1024, 1 << 20).is_ok());
/// assert!(ddcl_core::check_bank(1 << 20, 1 << 20).is_err());
/// ```
pub const MAX_ELEMENTS: usize = 1 << 30;

/// `k`, if between 1 and [`MAX_PROTOTYPES`]: [`Error::NoPrototypes`] for 0, else
/// [`Error::TooLarge`].
///
/// ```
/// use ddcl_core::{check_prototypes, Error};
/// assert_eq!(check_prototypes(16)?, 16);
/// assert!(matches!(check_prototypes(0), Err(Error::NoPrototypes)));
/// # Ok::<(), Error>(())
/// ```
pub fn check_prototypes(k: usize) -> Result<usize> {
    if k == 0 {
        return Err(Error::NoPrototypes);
    }
    if k > MAX_PROTOTYPES {
        return Err(Error::TooLarge {
            name: "prototypes (K)",
            value: k as u128,
            max: MAX_PROTOTYPES as u128,
        });
    }
    Ok(k)
}

/// The number of elements of a `k` x `d` bank, checked: K as [`check_prototypes`] wants it,
/// D >= 1, and K * D (computed without overflow) at most [`MAX_ELEMENTS`].
///
/// ```
/// use ddcl_core::{check_bank, Error};
/// assert_eq!(check_bank(16, 384)?, 6144);
/// assert!(matches!(check_bank(16, usize::MAX), Err(Error::TooLarge { .. })));
/// # Ok::<(), Error>(())
/// ```
pub fn check_bank(k: usize, d: usize) -> Result<usize> {
    check_prototypes(k)?;
    if d == 0 {
        return Err(Error::Shape {
            name: "prototypes",
            expected: "(K, D) with D >= 1".into(),
            got: vec![k, d],
        });
    }
    let elements = k as u128 * d as u128;
    if elements > MAX_ELEMENTS as u128 {
        return Err(Error::TooLarge {
            name: "prototype bank K x D",
            value: elements,
            max: MAX_ELEMENTS as u128,
        });
    }
    Ok(elements as usize)
}
