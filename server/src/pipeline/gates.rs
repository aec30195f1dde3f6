//! The reference's threshold checks: coverage after >= the minimum, and
//! the rise >= the minimum delta. A suite that already meets the minimum
//! needs no rise ("no generation needed" passes).

use super::report::{Gate, Stop};
use super::Options;
use crate::generate::Coverage;

pub fn check(opts: &Options, before: &Coverage, after: &Coverage, stop: Stop) -> Vec<Gate> {
    let names = ("Coverage", "Delta");
    both(opts, names, before.line_percent, after.line_percent, stop)
}

/// The coverage and delta gates over `before` -> `after`, labelled with
/// `names` (the project's, or the changed lines' in pull-request mode).
fn both(opts: &Options, names: (&str, &str), before: f64, after: f64, stop: Stop) -> Vec<Gate> {
    let delta = super::round2(after - before);
    let no_generation = stop == Stop::NoGenerationNeeded;
    let label = |name: &str, min: f64| format!("{name} >= {}%", fmt(min));
    vec![
        Gate {
            name: "coverage".into(),
            label: label(names.0, opts.min_coverage),
            threshold: opts.min_coverage,
            value: after,
            passed: after >= opts.min_coverage,
        },
        Gate {
            name: "delta".into(),
            label: label(names.1, opts.min_delta),
            threshold: opts.min_delta,
            value: delta,
            passed: no_generation || delta >= opts.min_delta,
        },
    ]
}

/// `90` rather than `90.0`, `12.5` as it is.
pub fn fmt(x: f64) -> String {
    if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x}")
    }
}

/// Pull-request mode: the same two checks on the changed lines' coverage
/// (as diff-cover gates), the project total reported beside them.
pub fn check_changed(opts: &Options, c: &super::changes::ChangedReport, stop: Stop) -> Vec<Gate> {
    let names = ("Changed lines coverage", "Changed lines delta");
    both(opts, names, c.coverage_before, c.coverage_after, stop)
}
