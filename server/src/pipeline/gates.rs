//! The reference's threshold checks: coverage after >= the minimum, and
//! the rise >= the minimum delta. A suite that already meets the minimum
//! needs no rise ("no generation needed" passes).

use super::report::{Gate, Stop};
use super::Options;
use crate::generate::Coverage;

pub fn check(opts: &Options, before: &Coverage, after: &Coverage, stop: Stop) -> Vec<Gate> {
    let delta = super::round2(after.line_percent - before.line_percent);
    let no_generation = stop == Stop::NoGenerationNeeded;
    vec![
        Gate {
            name: "coverage".into(),
            label: format!("Coverage >= {}%", fmt(opts.min_coverage)),
            threshold: opts.min_coverage,
            value: after.line_percent,
            passed: after.line_percent >= opts.min_coverage,
        },
        Gate {
            name: "delta".into(),
            label: format!("Delta >= {}%", fmt(opts.min_delta)),
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
    let delta = super::round2(c.coverage_after - c.coverage_before);
    let no_generation = stop == Stop::NoGenerationNeeded;
    vec![
        Gate {
            name: "coverage".into(),
            label: format!("Changed lines coverage >= {}%", fmt(opts.min_coverage)),
            threshold: opts.min_coverage,
            value: c.coverage_after,
            passed: c.coverage_after >= opts.min_coverage,
        },
        Gate {
            name: "delta".into(),
            label: format!("Changed lines delta >= {}%", fmt(opts.min_delta)),
            threshold: opts.min_delta,
            value: delta,
            passed: no_generation || delta >= opts.min_delta,
        },
    ]
}
