//! Exact snapshots of a `VarMap` for tests (feature `test-utils`): every variable's name and
//! the bits of its values, so that two runs compare bit for bit (NaN equal to itself).

use candle_nn::VarMap;

/// Every f32 variable of `varmap` by name, in name order, with the bits of its values.
///
/// ```
/// use candle_core::{DType, Device};
/// let varmap = candle_nn::VarMap::new();
/// let vb = candle_nn::VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
/// vb.get_with_hints(2, "w", candle_nn::Init::Const(1.0))?;
/// assert_eq!(
///     ddcl_readout::snapshot::bits(&varmap),
///     [("w".to_string(), vec![1f32.to_bits(); 2])]
/// );
/// # Ok::<(), candle_core::Error>(())
/// ```
///
/// # Panics
/// When a variable is not f32 or the map's lock is poisoned: a test helper, for test code.
pub fn bits(varmap: &VarMap) -> Vec<(String, Vec<u32>)> {
    let mut out: Vec<_> = varmap
        .data()
        .lock()
        .expect("the varmap's lock")
        .iter()
        .map(|(name, var)| {
            let values = var
                .as_tensor()
                .flatten_all()
                .and_then(|t| t.to_vec1::<f32>())
                .expect("an f32 variable");
            (name.clone(), values.iter().map(|x| x.to_bits()).collect())
        })
        .collect();
    out.sort();
    out
}
