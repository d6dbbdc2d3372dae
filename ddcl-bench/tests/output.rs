//! The output folder: checked before any work, replaced whole (the old run or the new one,
//! never a mix), a user's folder never replaced.

use std::path::Path;
use std::process::Command;

use ddcl_bench::{check_out, replace_dir, Error};

fn put(dir: &Path, name: &str, text: &str) -> ddcl_bench::Result<()> {
    std::fs::write(dir.join(name), text).map_err(|e| Error::Config(e.to_string()))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_run_replaces_the_old_one_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    replace_dir(&out, |d| {
        put(d, "results.json", "old")?;
        put(d, "sweep.svg", "<svg/>")
    })
    .unwrap();
    replace_dir(&out, |d| put(d, "results.json", "new")).unwrap();
    assert_eq!(names(&out), ["results.json"], "no plot of the old run left");
    assert_eq!(
        std::fs::read_to_string(out.join("results.json")).unwrap(),
        "new"
    );
    assert_eq!(names(dir.path()), ["run"], "nothing left beside it");
}

#[test]
fn a_failure_while_writing_leaves_the_old_run() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    replace_dir(&out, |d| {
        put(d, "results.json", "old")?;
        put(d, "report.md", "old")
    })
    .unwrap();
    let err = replace_dir(&out, |d| {
        put(d, "results.json", "new")?;
        Err(Error::Config("the plots failed".into()))
    })
    .unwrap_err();
    assert!(err.to_string().contains("the plots failed"));
    assert_eq!(names(&out), ["report.md", "results.json"]);
    assert_eq!(
        std::fs::read_to_string(out.join("results.json")).unwrap(),
        "old"
    );
    assert_eq!(names(dir.path()), ["run"], "the new folder is removed");
}

#[test]
fn unusable_or_foreign_folders_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    // under a regular file
    std::fs::write(dir.path().join("file"), "x").unwrap();
    let err = check_out(&dir.path().join("file/run"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("cannot write in"), "{err}");
    // a file
    let err = check_out(&dir.path().join("file")).unwrap_err().to_string();
    assert!(err.contains("exists and is not a folder"), "{err}");
    // no folder named
    assert!(check_out(Path::new(".")).is_err());
    // a folder holding something no run writes: refused, and left as it was
    let mine = dir.path().join("mine");
    std::fs::create_dir_all(&mine).unwrap();
    std::fs::write(mine.join("notes.txt"), "keep").unwrap();
    std::fs::write(mine.join("results.json"), "{}").unwrap();
    let err = replace_dir(&mine, |d| put(d, "results.json", "new"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("notes.txt"), "{err}");
    assert_eq!(names(&mine), ["notes.txt", "results.json"]);
    assert_eq!(names(dir.path()), ["file", "mine"]);
    // an empty folder, or none yet, is fine
    check_out(&dir.path().join("new/deeper/run")).unwrap();
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    check_out(&dir.path().join("empty")).unwrap();
}

#[test]
fn the_command_checks_out_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("file"), "x").unwrap();
    // a config whose data does not exist: the unusable --out is reported first
    let cfg = dir.path().join("bench.yaml");
    std::fs::write(
        &cfg,
        "seeds: [0]\ntrain_share: 0.7\ntext_model: m\nimage_model: m\nbatch_size: 4\n\
         cache: cache\ndatasets:\n  - { name: a, source: text_file, path: missing.csv, limit: 0 }\n\
         methods: [mean]\nfit: { steps: 1, lr: 0.1, batch: 2 }\nprobe: { c: 1.0 }\n\
         kmeans_restarts: 1\n",
    )
    .unwrap();
    let run = |out: &Path| {
        Command::new(env!("CARGO_BIN_EXE_ddcl-bench"))
            .arg("--config")
            .arg(&cfg)
            .arg("--out")
            .arg(out)
            .output()
            .unwrap()
    };
    let o = run(&dir.path().join("file/run"));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success());
    assert!(
        err.contains("--out") && err.contains("file/run") && !err.contains("missing.csv"),
        "{err}"
    );
    // with a usable --out, the missing data is the error, and no output is written
    let out = dir.path().join("run");
    let o = run(&out);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success() && err.contains("missing.csv"), "{err}");
    assert!(!out.exists());
}
