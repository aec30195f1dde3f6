//! What the server knows about one file, computed once when coverage or test
//! results are loaded, against the file's text at that moment (the anchor).
//! Rendering maps these facts onto the buffer through a [`LineMap`].
//!
//! [`LineMap`]: super::line_map::LineMap

use std::sync::Arc;

use crate::coverage::cobertura::{FileCoverage, LineHit};
use crate::coverage::gaps;
use crate::index::model::{FileIndex, RelPath};
use crate::runner::{TestContexts, TestOutcome, TestResult};

/// Coverage of one file: its functions and its measured lines.
#[derive(Debug, Clone)]
pub struct CoverageFacts {
    pub anchor: Arc<str>,
    pub functions: Vec<FunctionFact>,
    /// Every statement line coverage.py measured (1-based, anchor).
    pub lines: Vec<LineHit>,
}

impl CoverageFacts {
    /// (covered, total) statements.
    pub fn statements(&self) -> (u32, u32) {
        let covered = self.lines.iter().filter(|l| l.hits > 0).count() as u32;
        (covered, self.lines.len() as u32)
    }

    /// (covered, total) branches, None without branch data.
    pub fn branches(&self) -> Option<(u32, u32)> {
        let mut any = false;
        let (mut c, mut t) = (0, 0);
        for b in self.lines.iter().filter_map(|l| l.branches.as_ref()) {
            any = true;
            c += b.covered;
            t += b.total;
        }
        any.then_some((c, t))
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct FunctionFact {
    pub qualname: String,
    pub name: String,
    /// 1-based line of the `def` keyword, in the anchor.
    pub line: u32,
    pub end_line: u32,
    /// Byte columns of the name on the def line.
    pub name_cols: (usize, usize),
    pub statements: u32,
    pub covered: u32,
    /// Statements and branches, as coverage.py counts "percent covered".
    pub percent: f64,
    /// Uncovered statement lines, as 1-based inclusive ranges of the anchor.
    pub missing: Vec<(u32, u32)>,
    /// Number of tests whose contexts executed the function's lines.
    pub tests: usize,
}

impl FunctionFact {
    pub fn is_uncovered(&self) -> bool {
        self.statements > 0 && self.covered == 0
    }
}

/// Results of the tests defined in one file.
#[derive(Debug, Clone)]
pub struct ResultFacts {
    pub anchor: Arc<str>,
    pub tests: Vec<TestFact>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TestFact {
    pub nodeid: String,
    pub name: String,
    pub line: u32,
    pub name_cols: (usize, usize),
    pub outcome: TestOutcome,
    pub message: Option<String>,
    /// Line (1-based, anchor) of the failing assertion in this same file.
    pub failing_line: Option<u32>,
}

impl TestFact {
    pub fn is_failing(&self) -> bool {
        matches!(self.outcome, TestOutcome::Failed | TestOutcome::Error)
    }
}

pub fn coverage_facts(
    path: &RelPath,
    anchor: Arc<str>,
    index: &FileIndex,
    cov: &FileCoverage,
    contexts: Option<&TestContexts>,
) -> CoverageFacts {
    let lines: Vec<&str> = anchor.lines().collect();
    let functions = gaps::function_coverage(cov, index)
        .into_iter()
        .map(|fc| {
            let f = fc.function;
            let tests = contexts.map_or(0, |c| {
                c.tests_touching(path, Some(f.body_line..=f.end_line)).len()
            });
            FunctionFact {
                qualname: f.qualname.clone(),
                name: f.name.clone(),
                line: f.line,
                end_line: f.end_line,
                name_cols: name_cols(&lines, f.line, &f.name),
                statements: fc.counts.statements,
                covered: fc.counts.covered,
                percent: fc.counts.percent(),
                missing: ranges(&fc.missing_lines),
                tests,
            }
        })
        .collect();
    CoverageFacts {
        anchor,
        functions,
        lines: cov.lines.clone(),
    }
}

pub fn result_facts(anchor: Arc<str>, results: &[&TestResult]) -> ResultFacts {
    let lines: Vec<&str> = anchor.lines().collect();
    let tests = results
        .iter()
        .filter_map(|r| {
            let line = r.line?;
            let name = r
                .nodeid
                .rsplit("::")
                .next()
                .unwrap_or(&r.nodeid)
                .split('[')
                .next()
                .unwrap_or_default()
                .to_string();
            let failing_line = r
                .traceback
                .as_deref()
                .and_then(|tb| failing_line(tb, r.file.as_deref()?));
            Some(TestFact {
                nodeid: r.nodeid.clone(),
                name_cols: name_cols(&lines, line, &name),
                name,
                line,
                outcome: r.outcome,
                message: r.message.clone(),
                failing_line,
            })
        })
        .collect();
    ResultFacts { anchor, tests }
}

/// Columns of `name` after `def` on a 1-based line; the whole line's
/// indentation-free text when the name cannot be found.
fn name_cols(lines: &[&str], line: u32, name: &str) -> (usize, usize) {
    let Some(text) = line.checked_sub(1).and_then(|i| lines.get(i as usize)) else {
        return (0, 0);
    };
    if let Some(def) = text.find("def ") {
        if let Some(at) = text[def + 4..].find(name) {
            let start = def + 4 + at;
            return (start, start + name.len());
        }
    }
    let start = text.len() - text.trim_start().len();
    (start, text.len())
}

/// pytest's long tracebacks end each entry with `path/to/file.py:LINE: Exc`;
/// the last entry in the test's own file is the failing assertion.
fn failing_line(traceback: &str, file: &str) -> Option<u32> {
    let base = file.rsplit('/').next()?;
    traceback.lines().rev().find_map(|l| {
        let (loc, _) = l.split_once(": ")?;
        let (path, line) = loc.rsplit_once(':')?;
        let line: u32 = line.parse().ok()?;
        (path.ends_with(base) && (file.ends_with(path) || path.ends_with(file))).then_some(line)
    })
}

/// [3,4,5,9] -> [(3,5),(9,9)]
fn ranges(lines: &[u32]) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for &l in lines {
        match out.last_mut() {
            Some((_, end)) if *end + 1 == l => *end = l,
            _ => out.push((l, l)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_of_lines() {
        assert_eq!(ranges(&[3, 4, 5, 9]), [(3, 5), (9, 9)]);
        assert!(ranges(&[]).is_empty());
    }

    #[test]
    fn failing_line_from_a_pytest_traceback() {
        let tb = "def test_x():\n>       assert f(2) == 5\nE       assert 4 == 5\n\ntests/test_a.py:7: AssertionError";
        assert_eq!(failing_line(tb, "tests/test_a.py"), Some(7));
        assert_eq!(failing_line(tb, "tests/test_b.py"), None);
        // Run from a Python root below the workspace root.
        assert_eq!(failing_line(tb, "backend/tests/test_a.py"), Some(7));
    }

    #[test]
    fn name_columns() {
        let lines = ["    async def fetch_all(self):"];
        assert_eq!(name_cols(&lines, 1, "fetch_all"), (14, 23));
    }
}
