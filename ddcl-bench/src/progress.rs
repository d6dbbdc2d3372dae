//! Progress of the long steps of a run (encoding, fitting, training) on stderr: a bar on a
//! terminal; elsewhere (a log file, a pipe, CI), where indicatif's bars are hidden, a line
//! when a step starts, every [`LINE_EVERY`] while it runs, and when it ends, each with the
//! run's elapsed time and an estimate of what is left:
//!
//! ```text
//! [00:03:12] encoding rotten_tomatoes: 4,000/8,000 texts, ~00:02:10 left
//! ```

use std::io::IsTerminal;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use indicatif::{FormattedDuration, HumanCount, ProgressBar, ProgressStyle};

/// How often a step prints its line when stderr is not a terminal.
pub const LINE_EVERY: Duration = Duration::from_secs(15);

/// When the run started: the first call of this function (the pipeline calls it first).
pub(crate) fn run_clock() -> Instant {
    static START: OnceLock<Instant> = OnceLock::new();
    *START.get_or_init(Instant::now)
}

/// The progress of one step over `n` items: see the module documentation.
///
/// ```
/// let pb = ddcl_bench::Progress::new(3, "encoding reviews", "texts");
/// pb.inc(1);
/// pb.finish_and_clear();
/// ```
pub struct Progress {
    what: String,
    unit: String,
    n: u64,
    kind: Kind,
}

enum Kind {
    /// An indicatif bar on a terminal.
    Bar(ProgressBar),
    /// Lines on stderr: position, when the step started, when the last line was printed.
    Lines(Mutex<LineState>),
}

struct LineState {
    pos: u64,
    started: Instant,
    printed: Instant,
}

impl LineState {
    /// Whether a line is due at `now` ([`LINE_EVERY`] after the last); if so, `now` becomes
    /// the last.
    fn due(&mut self, now: Instant) -> bool {
        let due = now.duration_since(self.printed) >= LINE_EVERY;
        if due {
            self.printed = now;
        }
        due
    }
}

/// A progress bar on stderr for `n` items (lines without a terminal; see [`Progress`]).
pub fn progress(n: usize, what: &str) -> Progress {
    Progress::new(n, what, "")
}

impl Progress {
    /// The progress of `what` over `n` items, named `unit` in the lines (`texts`, `images`).
    pub fn new(n: usize, what: &str, unit: &str) -> Self {
        let n = n as u64;
        let kind = if std::io::stderr().is_terminal() {
            let pb = ProgressBar::new(n);
            let style =
                ProgressStyle::with_template("{msg:>24} [{bar:30}] {pos}/{len} {elapsed}<{eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> ");
            pb.set_style(style);
            pb.set_message(what.to_string());
            Kind::Bar(pb)
        } else {
            let now = Instant::now();
            Kind::Lines(Mutex::new(LineState {
                pos: 0,
                started: now,
                printed: now,
            }))
        };
        let p = Self {
            what: what.to_string(),
            unit: unit.to_string(),
            n,
            kind,
        };
        p.print(0, Duration::ZERO, false);
        p
    }

    /// Advances by `delta` items.
    pub fn inc(&self, delta: u64) {
        match &self.kind {
            Kind::Bar(pb) => pb.inc(delta),
            Kind::Lines(state) => {
                let Ok(mut s) = state.lock() else { return };
                s.pos += delta;
                if s.pos < self.n && s.due(Instant::now()) {
                    self.print(s.pos, s.started.elapsed(), false);
                }
            }
        }
    }

    /// Ends the step: clears the bar, or prints the closing line.
    pub fn finish_and_clear(&self) {
        match &self.kind {
            Kind::Bar(pb) => pb.finish_and_clear(),
            Kind::Lines(state) => {
                if let Ok(s) = state.lock() {
                    self.print(s.pos, s.started.elapsed(), true);
                }
            }
        }
    }

    fn print(&self, pos: u64, spent: Duration, done: bool) {
        if let Kind::Lines(_) = self.kind {
            let line = status_line(
                run_clock().elapsed(),
                &self.what,
                pos,
                self.n,
                &self.unit,
                spent,
                done,
            );
            eprintln!("{line}");
        }
    }
}

/// One line of a step's progress: the run's clock, the step, its position, and the estimated
/// time left (from the rate so far) or, when `done`, the time it took.
pub(crate) fn status_line(
    clock: Duration,
    what: &str,
    pos: u64,
    n: u64,
    unit: &str,
    spent: Duration,
    done: bool,
) -> String {
    let unit = if unit.is_empty() {
        String::new()
    } else {
        format!(" {unit}")
    };
    let tail = if done {
        format!(", done in {}", FormattedDuration(spent))
    } else if pos == 0 {
        String::new()
    } else {
        let left = spent.mul_f64((n.saturating_sub(pos)) as f64 / pos as f64);
        format!(", ~{} left", FormattedDuration(left))
    };
    format!(
        "[{}] {what}: {}/{}{unit}{tail}",
        FormattedDuration(clock),
        HumanCount(pos),
        HumanCount(n)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_due_every_interval() {
        let t0 = Instant::now();
        let mut s = LineState {
            pos: 0,
            started: t0,
            printed: t0,
        };
        let at = |secs: u64| t0 + Duration::from_secs(secs);
        assert!(!s.due(at(14)));
        assert!(s.due(at(15)));
        assert!(!s.due(at(29)), "counted from the last line, not the start");
        assert!(s.due(at(31)));
    }

    #[test]
    fn lines_show_the_clock_the_position_and_the_time_left() {
        let s = Duration::from_secs;
        assert_eq!(
            status_line(
                s(192),
                "encoding rotten_tomatoes",
                4000,
                8000,
                "texts",
                s(130),
                false
            ),
            "[00:03:12] encoding rotten_tomatoes: 4,000/8,000 texts, ~00:02:10 left"
        );
        // a quarter done in 10 s: 30 s left
        assert_eq!(
            status_line(s(5), "joint mean", 1, 4, "", s(10), false),
            "[00:00:05] joint mean: 1/4, ~00:00:30 left"
        );
        assert_eq!(
            status_line(s(0), "sweep eps=0.1", 0, 40, "", s(0), false),
            "[00:00:00] sweep eps=0.1: 0/40"
        );
        assert_eq!(
            status_line(s(61), "cluster bbc", 12, 12, "", s(42), true),
            "[00:01:01] cluster bbc: 12/12, done in 00:00:42"
        );
    }
}
