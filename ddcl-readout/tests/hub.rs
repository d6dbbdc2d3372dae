//! Hub repo ids resolve through the local hf-hub cache ($HF_HOME/hub) without the network.
//! One test in its own binary: it sets HF_HOME and HF_HUB_OFFLINE for the whole process.

use ddcl_readout::ModelSource;

#[test]
fn repo_ids_resolve_through_the_cache_offline() {
    let home = tempfile::tempdir().unwrap();
    std::env::set_var("HF_HOME", home.path());
    std::env::set_var("HF_HUB_OFFLINE", "1");
    let repo = home.path().join("hub/models--org--tiny");
    let snap = repo.join("snapshots/abc123");
    std::fs::create_dir_all(snap.join("1_Pooling")).unwrap();
    std::fs::create_dir_all(repo.join("refs")).unwrap();
    std::fs::write(snap.join("config.json"), "{}").unwrap();
    std::fs::write(snap.join("1_Pooling/config.json"), "{}").unwrap();
    std::fs::write(repo.join("refs/main"), "abc123").unwrap();

    let model = ModelSource::new("org/tiny");
    assert_eq!(model.file("config.json").unwrap(), snap.join("config.json"));
    assert_eq!(
        model.file("1_Pooling/config.json").unwrap(),
        snap.join("1_Pooling/config.json")
    );
    // a trailing newline in refs/main (which hf-hub 0.5 itself misses) still resolves
    std::fs::write(repo.join("refs/main"), "abc123\n").unwrap();
    assert_eq!(model.file("config.json").unwrap(), snap.join("config.json"));
    // a missing file is an error that says where it looked and how to fill the cache
    let err = model.file("model.safetensors").unwrap_err().to_string();
    assert!(
        err.contains("HF_HUB_OFFLINE") && err.contains("setup.sh"),
        "{err}"
    );
    assert!(model.optional_file("model.safetensors").is_none());
    let err = ModelSource::new("org/absent")
        .file("config.json")
        .unwrap_err()
        .to_string();
    assert!(err.contains("org/absent"), "{err}");
}
