//! A run killed (SIGKILL) at a random point while writing its `--out` folder leaves the
//! previous run's folder at `--out`, whole, every time: 50 kills after random delays.
//!
//! The writer is this test binary itself, run again as the ignored test `writer` with the
//! folder's path in `DDCL_KILL_OUT`: it replaces the folder with generation 1, 2, ... in a loop
//! until killed, through [`ddcl_bench::replace_dir`] as `ddcl-bench --out` does. Every file of
//! a generation holds its number, so a torn file or a mix of two runs shows.

use std::path::Path;

const ENV: &str = "DDCL_KILL_OUT";
/// The files of a run, each 256 KiB, so that writing a folder takes long enough to be
/// interrupted part-way.
const FILES: [&str; 3] = ["results.json", "report.md", "accuracy.svg"];
const LEN: usize = 256 * 1024;

fn write(out: &Path, generation: u64) {
    ddcl_bench::replace_dir(out, |dir| {
        let line = format!("{generation:>15}\n");
        let body = line.repeat(LEN / line.len());
        for name in FILES {
            std::fs::write(dir.join(name), &body).expect("writing a run's file");
        }
        Ok(())
    })
    .unwrap();
}

/// The generation of the folder at `out`, after checking that every file is whole and agrees.
fn generation(out: &Path) -> u64 {
    let mut names: Vec<String> = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("--out is not there after a kill: {e}"))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = FILES.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "--out holds another set of files");
    let mut generations = FILES.iter().map(|name| {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), LEN / 16, "{name} torn");
        assert!(lines.iter().all(|l| *l == lines[0]), "{name} torn");
        lines[0].trim().parse::<u64>().unwrap()
    });
    let g = generations.next().unwrap();
    assert!(generations.all(|h| h == g), "--out mixes two runs");
    g
}

/// The child: writes generations until killed. Run only by the test below.
#[test]
#[ignore = "a helper run by killed_runs_leave_the_previous_out_folder_whole"]
fn writer() {
    ddcl_readout::kill::write_until_killed(ENV, generation, write);
}

#[test]
fn killed_runs_leave_the_previous_out_folder_whole() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    write(&out, 0);
    ddcl_readout::kill::kill_repeatedly(ENV, &out, 50, 17, generation).unwrap();
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "run")
        .collect();
    assert!(!leftovers.is_empty(), "no kill interrupted a write");
    // a kill leaves at most folders beside `--out`; with the one-step exchange (Linux) never
    // the old run renamed aside
    let aside = if cfg!(target_os = "linux") {
        vec!["run.tmp-"]
    } else {
        vec!["run.tmp-", "run.old-"]
    };
    assert!(
        leftovers
            .iter()
            .all(|n| aside.iter().any(|a| n.starts_with(a))),
        "{leftovers:?}"
    );
}
