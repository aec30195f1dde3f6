//! Progress of a long command on stderr: a live line with counts on a
//! terminal (indicatif), plain timestamped lines in a CI log or a pipe
//! (when stderr is not a terminal, or `CI` is set), so logs stay readable.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use testgen::pipeline::Event;

pub struct Progress {
    bar: Option<indicatif::ProgressBar>,
    /// Tests kept so far, coverage now: shown with each step.
    counts: Mutex<(usize, f64)>,
}

impl Progress {
    pub fn new() -> Progress {
        let live = std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
        let bar = live.then(|| {
            let b = indicatif::ProgressBar::new_spinner();
            b.set_style(
                indicatif::ProgressStyle::with_template("{spinner} [{elapsed}] {msg}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
            );
            b.enable_steady_tick(Duration::from_millis(120));
            b
        });
        Progress {
            bar,
            counts: Mutex::new((0, 0.0)),
        }
    }

    pub fn step(&self, what: &str) {
        match &self.bar {
            Some(b) => b.set_message(what.to_string()),
            None => eprintln!(
                "[{}] {what}",
                humantime::format_rfc3339_seconds(SystemTime::now())
            ),
        }
    }

    /// A line that stays (a round's result), above the live line.
    fn line(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(text),
            None => self.step(text),
        }
    }

    pub fn event(&self, e: Event) {
        match e {
            Event::Step(s) => self.step(&s),
            Event::Round {
                round,
                of,
                coverage,
            } => {
                let kept = {
                    let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
                    c.1 = coverage;
                    c.0
                };
                self.step(&format!(
                    "round {round}/{of}: generating (coverage {coverage:.2}%, {kept} tests kept so far)"
                ));
            }
            Event::Progress(p) => self.step(&p.line()),
            Event::RoundDone(r) => {
                let kept = {
                    let mut c = self.counts.lock().unwrap_or_else(|p| p.into_inner());
                    c.0 += r.tests_written;
                    c.1 = r.coverage_after;
                    c.0
                };
                let note = r.note.map(|n| format!("; {n}")).unwrap_or_default();
                self.line(&format!(
                    "round {}: coverage {:.2}% -> {:.2}%, {} targets, {} tests kept ({kept} in all), {} dropped, {:.0} s{note}",
                    r.round,
                    r.coverage_before,
                    r.coverage_after,
                    r.targets,
                    r.tests_written,
                    r.tests_dropped,
                    r.duration_s
                ));
            }
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
