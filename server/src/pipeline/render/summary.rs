//! `summary.md`: the reference's job summary / PR comment (its metric and
//! threshold tables, same rows and layout), then what the reference did not
//! say: the rounds, the top remaining gaps with their reasons, and the
//! suspected bugs.

use std::fmt::Write;

use super::super::gates::fmt;
use super::super::report::RunReport;

/// How many remaining gaps the summary lists (report.html lists all).
const TOP_GAPS: usize = 10;

pub fn markdown(r: &RunReport) -> String {
    let mut s = String::new();
    let _ = write_all(&mut s, r);
    s
}

fn write_all(s: &mut String, r: &RunReport) -> std::fmt::Result {
    writeln!(s, "## AI Test Generation Results")?;
    writeln!(s)?;
    if let Some(shard) = r.shard {
        writeln!(s, "Shard {shard} of the project's targets.")?;
        writeln!(s)?;
    }
    writeln!(s, "| Metric | Value |")?;
    writeln!(s, "|--------|-------|")?;
    writeln!(
        s,
        "| Coverage Before | {:.2}% |",
        r.coverage_before.line_percent
    )?;
    writeln!(
        s,
        "| Coverage After | {:.2}% |",
        r.coverage_after.line_percent
    )?;
    writeln!(s, "| Coverage Delta | {:+.2}% |", r.delta)?;
    if let Some(c) = &r.changed {
        writeln!(
            s,
            "| Changed Lines Coverage | {:.2}% → {:.2}% ({} of {} lines) |",
            c.coverage_before, c.coverage_after, c.covered_after, c.statements
        )?;
    }
    writeln!(s, "| Tests Generated | {} |", r.tests_generated())?;
    writeln!(s, "| Tests Passed | {} |", r.final_tests.passed)?;
    writeln!(
        s,
        "| Tests Failed | {} |",
        r.final_tests.failed + r.final_tests.error
    )?;
    writeln!(s)?;
    writeln!(s, "### Threshold Check")?;
    writeln!(s, "| Check | Result |")?;
    writeln!(s, "|-------|--------|")?;
    for g in &r.gates {
        let verdict = if g.passed { "PASS" } else { "FAIL" };
        writeln!(s, "| {} | {verdict} |", g.label)?;
    }
    writeln!(s)?;
    about_the_run(s, r)?;
    changed(s, r)?;
    rounds(s, r)?;
    gaps(s, r)?;
    bugs(s, r)?;
    failing(s, r)
}

fn about_the_run(s: &mut String, r: &RunReport) -> std::fmt::Result {
    let min = r.gates.first().map_or(90.0, |g| g.threshold);
    let baseline = match r.baseline {
        crate::generate::BaselineKind::NoTests => "no tests found: baseline 0%".to_string(),
        _ => format!(
            "{} test files of the project's own measured",
            r.manual_tests.test_files_count
        ),
    };
    writeln!(
        s,
        "Engine `{}`; {baseline}; {}; {} tests written this run in {:.0} s.",
        r.engine,
        r.stop.describe(min),
        r.tests_written(),
        r.duration_s
    )?;
    if let Some(note) = crate::pipeline::report::capped_note(&r.capped) {
        writeln!(s, "\nNote: {note}.")?;
    }
    writeln!(s)
}

/// Pull-request mode: the changed functions, before and after.
fn changed(s: &mut String, r: &RunReport) -> std::fmt::Result {
    let Some(c) = &r.changed else {
        return Ok(());
    };
    writeln!(s, "### Changed since `{}`", cell(&c.base))?;
    writeln!(
        s,
        "The gate is the coverage of the {} changed statement lines: {:.2}% before, {:.2}% after (the project: {:.2}% → {:.2}%).",
        c.statements,
        c.coverage_before,
        c.coverage_after,
        r.coverage_before.line_percent,
        r.coverage_after.line_percent
    )?;
    writeln!(s)?;
    if c.functions.is_empty() {
        writeln!(s, "No function changed.\n")?;
        return Ok(());
    }
    writeln!(
        s,
        "| Changed function | Changed lines | Coverage before | Coverage after |"
    )?;
    writeln!(s, "|---|---|---|---|")?;
    for f in &c.functions {
        writeln!(
            s,
            "| `{}` | {} | {}% | {}% |",
            cell(&f.target),
            f.changed_lines,
            fmt(f.coverage_before),
            fmt(f.coverage_after)
        )?;
    }
    writeln!(s)
}

fn rounds(s: &mut String, r: &RunReport) -> std::fmt::Result {
    if r.rounds.is_empty() {
        return Ok(());
    }
    writeln!(s, "### Rounds")?;
    writeln!(
        s,
        "| Round | Coverage before | Coverage after | Targets | Tests kept | Tests dropped | LLM calls | Tokens | Time |"
    )?;
    writeln!(s, "|---|---|---|---|---|---|---|---|---|")?;
    for x in &r.rounds {
        writeln!(
            s,
            "| {} | {:.2}% | {:.2}% | {} | {} | {} | {} | {} | {:.0} s |",
            x.round,
            x.coverage_before,
            x.coverage_after,
            x.targets,
            x.tests_written,
            x.tests_dropped,
            x.llm_calls,
            x.llm_tokens,
            x.duration_s
        )?;
    }
    writeln!(s)
}

fn gaps(s: &mut String, r: &RunReport) -> std::fmt::Result {
    if r.remaining_gaps.is_empty() {
        return Ok(());
    }
    writeln!(s, "### Top remaining gaps")?;
    if let Some(note) = super::super::report::not_tried_note(&r.remaining_gaps) {
        writeln!(s, "{note}.\n")?;
    }
    writeln!(
        s,
        "| Function | Missing lines | Coverage | Why no test covers it |"
    )?;
    writeln!(s, "|---|---|---|---|")?;
    for g in r.remaining_gaps.iter().take(TOP_GAPS) {
        writeln!(
            s,
            "| `{}` | {} | {}% | {} |",
            g.target,
            g.missing_lines.len(),
            fmt(g.coverage),
            cell(g.reason.as_deref().unwrap_or("no passing test reached it"))
        )?;
    }
    if r.remaining_gaps.len() > TOP_GAPS {
        writeln!(
            s,
            "\n… and {} more (report.html lists every one).",
            r.remaining_gaps.len() - TOP_GAPS
        )?;
    }
    writeln!(s)
}

fn bugs(s: &mut String, r: &RunReport) -> std::fmt::Result {
    if r.suspected_bugs.is_empty() {
        return Ok(());
    }
    writeln!(s, "### Suspected bugs")?;
    writeln!(s, "| Where | Call | Error | Why it looks like a bug |")?;
    writeln!(s, "|---|---|---|---|")?;
    for b in &r.suspected_bugs {
        writeln!(
            s,
            "| `{}:{}` | `{}` | {} | {} |",
            b.file,
            b.line,
            cell(&b.input),
            cell(&b.error),
            cell(&b.reason)
        )?;
    }
    writeln!(s)
}

fn failing(s: &mut String, r: &RunReport) -> std::fmt::Result {
    if r.failing_tests.is_empty() {
        return Ok(());
    }
    writeln!(s, "### Failing tests")?;
    for f in &r.failing_tests {
        writeln!(s, "- `{}`: {}", f.nodeid, cell(&f.message))?;
    }
    if let super::super::report::FixerStep::Ran { note, .. } = &r.fixer {
        writeln!(s, "\n{note}.")?;
    }
    writeln!(s)
}

/// One line, no table-breaking pipes.
fn cell(text: &str) -> String {
    let one = text.lines().next().unwrap_or_default();
    super::escape_html(one).replace('|', "\\|")
}
