//! The YAML configs: the first byte picks the type, the rest is the document. Any input gives
//! a config or a typed error, never a panic.

/// Parses `data` as one of the configs a user writes.
pub fn run(data: &[u8]) {
    let Some((&which, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match which % 6 {
        0 => drop(ddcl_readout::RunConfig::from_yaml(text)),
        1 => drop(ddcl_readout::ReadoutConfig::from_yaml(text)),
        2 => drop(ddcl_bench::BenchConfig::from_yaml(text)),
        3 => drop(ddcl_bench::CodebookConfig::from_yaml(text)),
        4 => drop(ddcl_bench::HierConfig::from_yaml(text)),
        _ => drop(ddcl_hier::HierConfig::from_yaml(text)),
    }
}
