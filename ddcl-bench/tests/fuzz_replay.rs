//! The committed fuzz corpora of the configs and the bench's own loaders (fuzz/corpus/<target>)
//! replayed as ordinary tests: YAML configs, the feature cache and the IDX reader give results
//! or typed errors, never a panic (fuzz/checks/<target>.rs).

#[path = "../../fuzz/checks/config_yaml.rs"]
mod config_yaml;
#[path = "../../fuzz/checks/data_idx.rs"]
mod data_idx;
#[path = "../../fuzz/checks/feature_cache.rs"]
mod feature_cache;
#[path = "../../fuzz/checks/replay.rs"]
mod replay;
#[path = "../../fuzz/checks/scratch.rs"]
mod scratch;

const DIR: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn config_corpus() {
    replay::corpus(DIR, "config_yaml", config_yaml::run);
}

// the two share one scratch folder (and data_idx sets DDCL_DATA): one test runs them in turn
#[test]
fn loader_corpora() {
    replay::corpus(DIR, "feature_cache", feature_cache::run);
    replay::corpus(DIR, "data_idx", data_idx::run);
}
