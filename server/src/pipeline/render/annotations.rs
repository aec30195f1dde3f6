//! `--format github`: workflow commands that GitHub Actions shows as
//! annotations on the changed files: uncovered functions (notice) and
//! suspected bugs (warning), plus failed gates (error).

use std::fmt::Write;

use super::super::report::RunReport;

/// At most this many uncovered-function annotations: GitHub shows only the
/// first few per step anyway, and the summary lists the rest.
const MAX_GAPS: usize = 50;

pub fn commands(r: &RunReport) -> String {
    let mut s = String::new();
    for g in r.remaining_gaps.iter().take(MAX_GAPS) {
        let why = g
            .reason
            .as_deref()
            .map(|w| format!(" Not generated: {w}."))
            .unwrap_or_default();
        let _ = writeln!(
            s,
            "::notice file={},line={},title={}::{}",
            property(&g.file),
            g.line,
            property("Uncovered function"),
            data(&format!(
                "{} has {} statements no test runs.{why}",
                g.target,
                g.missing_lines.len()
            ))
        );
    }
    for b in &r.suspected_bugs {
        let _ = writeln!(
            s,
            "::warning file={},line={},title={}::{}",
            property(&b.file),
            b.line,
            property("Suspected bug"),
            data(&format!("{} raised {}: {}", b.input, b.error, b.reason))
        );
    }
    for g in r.gates.iter().filter(|g| !g.passed) {
        let _ = writeln!(
            s,
            "::error title={}::{}",
            property("testgen gate failed"),
            data(&format!(
                "{}: {}%",
                g.label,
                super::super::gates::fmt(g.value)
            ))
        );
    }
    s
}

/// The escaping of a command's message (GitHub's toolkit `escapeData`).
fn data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The escaping of a command's property (`escapeProperty`).
fn property(s: &str) -> String {
    data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(data("50%\nnext"), "50%25%0Anext");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
