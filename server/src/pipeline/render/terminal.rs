//! What `testgen run` prints at the end on a terminal or in a CI log.

use std::io::Write;

use super::super::report::RunReport;

pub fn summary(
    w: &mut impl Write,
    r: &RunReport,
    artifacts: &std::path::Path,
) -> std::io::Result<()> {
    let min = r.gates.first().map_or(90.0, |g| g.threshold);
    if r.baseline == crate::generate::BaselineKind::NoTests {
        writeln!(w, "no tests found: baseline 0%")?;
    }
    for x in &r.rounds {
        writeln!(
            w,
            "round {}: {:.2}% -> {:.2}% ({} targets, {} tests kept, {} dropped, {:.0} s)",
            x.round,
            x.coverage_before,
            x.coverage_after,
            x.targets,
            x.tests_written,
            x.tests_dropped,
            x.duration_s
        )?;
    }
    writeln!(w, "{}", r.stop.describe(min))?;
    const SHOWN: usize = 5;
    for g in r.remaining_gaps.iter().take(SHOWN) {
        let why = g.reason.as_deref().unwrap_or("no passing test reached it");
        writeln!(
            w,
            "gap: {} ({} lines missing): {why}",
            g.target,
            g.missing_lines.len()
        )?;
    }
    if r.remaining_gaps.len() > SHOWN {
        writeln!(
            w,
            "... and {} more gaps (summary.md, report.html)",
            r.remaining_gaps.len() - SHOWN
        )?;
    }
    for b in &r.suspected_bugs {
        writeln!(
            w,
            "suspected bug: {}:{}: {} raised {}",
            b.file, b.line, b.input, b.error
        )?;
    }
    for f in &r.failing_tests {
        writeln!(w, "FAILED {}: {}", f.nodeid, f.message)?;
    }
    writeln!(
        w,
        "coverage {:.2}% -> {:.2}% ({:+.2}); {} generated tests; {} passed, {} failed",
        r.coverage_before.line_percent,
        r.coverage_after.line_percent,
        r.delta,
        r.tests_generated(),
        r.final_tests.passed,
        r.final_tests.failed + r.final_tests.error
    )?;
    if let Some(c) = &r.changed {
        for f in &c.functions {
            writeln!(
                w,
                "changed: {} ({} lines changed): {}% -> {}%",
                f.target,
                f.changed_lines,
                super::super::gates::fmt(f.coverage_before),
                super::super::gates::fmt(f.coverage_after)
            )?;
        }
        writeln!(
            w,
            "changed lines since {}: {:.2}% -> {:.2}% ({} of {} statements covered)",
            c.base, c.coverage_before, c.coverage_after, c.covered_after, c.statements
        )?;
    }
    for g in &r.gates {
        let verdict = if g.passed { "PASS" } else { "FAIL" };
        writeln!(
            w,
            "{verdict} {} (value {}%)",
            g.label,
            super::super::gates::fmt(g.value)
        )?;
    }
    writeln!(
        w,
        "reports: {}/summary.md, {}/report.html",
        artifacts.display(),
        artifacts.display()
    )
}
