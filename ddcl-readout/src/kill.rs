//! The harness of the kill tests (feature `test-utils`): a writer process, the calling test
//! binary run again as one of its ignored tests, is killed with SIGKILL after seeded random
//! delays, again and again, while it rewrites a target in a loop; after every kill the target
//! must still hold one whole generation, and generations never go back.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use rand::{rngs::StdRng, Rng, SeedableRng};

/// The writer's side: when the environment variable `env` names a target, reads its current
/// generation and writes generations after it until the process is killed; returns at once
/// when `env` is unset (a plain `cargo test --ignored` run).
///
/// ```no_run
/// // in an `#[ignore]`d test named `writer`
/// ddcl_readout::kill::write_until_killed(
///     "MY_KILL_TARGET",
///     |p| std::fs::read_to_string(p).unwrap().trim().parse().unwrap(),
///     |p, g| std::fs::write(p, g.to_string()).unwrap(),
/// );
/// ```
pub fn write_until_killed(
    env: &str,
    generation: impl Fn(&Path) -> u64,
    write: impl Fn(&Path, u64),
) {
    let Ok(target) = std::env::var(env) else {
        return;
    };
    let target = Path::new(&target);
    let mut g = generation(target);
    loop {
        g += 1;
        write(target, g);
    }
}

/// The killer's side: `rounds` times, runs this test binary's ignored test `writer` with `env`
/// set to `target`, kills it after a delay of 2-40 ms drawn from `seed`, and reads the
/// generation `generation` finds at `target` (which checks the target is whole). Returns the
/// number of kills after which the generation had advanced; an error when a generation went
/// back, a writer could not be started, or no writer ever finished a write.
///
/// ```no_run
/// # let target = std::path::Path::new("run/ckpt");
/// let advanced = ddcl_readout::kill::kill_repeatedly("MY_KILL_TARGET", target, 50, 17, |p| {
///     std::fs::read_to_string(p).unwrap().trim().parse().unwrap()
/// })?;
/// assert!(advanced > 0);
/// # Ok::<(), String>(())
/// ```
pub fn kill_repeatedly(
    env: &str,
    target: &Path,
    rounds: usize,
    seed: u64,
    generation: impl Fn(&Path) -> u64,
) -> Result<usize, String> {
    let exe = std::env::current_exe().map_err(|e| format!("the test binary: {e}"))?;
    let mut rng = StdRng::seed_from_u64(seed);
    let (mut last, mut advanced) = (generation(target), 0);
    for _ in 0..rounds {
        let mut child = Command::new(&exe)
            .args(["--ignored", "--exact", "writer", "--test-threads", "1"])
            .env(env, target)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("starting the writer: {e}"))?;
        std::thread::sleep(Duration::from_micros(rng.random_range(2_000..40_000)));
        child
            .kill()
            .map_err(|e| format!("killing the writer: {e}"))?; // SIGKILL on Unix
        child
            .wait()
            .map_err(|e| format!("reaping the writer: {e}"))?;
        let g = generation(target);
        if g < last {
            return Err(format!("generation went back from {last} to {g}"));
        }
        advanced += usize::from(g > last);
        last = g;
    }
    if advanced == 0 {
        return Err("no writer ever finished a write".into());
    }
    Ok(advanced)
}
