//! Pull-request mode (`testgen run --diff BASE`): the Python lines changed
//! since BASE, from `git diff` (plus files git does not track yet), the
//! functions that own them (through the index, innermost first, as
//! coverage.py's regions do), and the coverage of those lines, as
//! diff-cover measures it: changed lines that are statements, covered or
//! not.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::coverage::cobertura::CoverageReport;
use crate::coverage::gaps::GapReport;
use crate::index::model::RelPath;
use crate::index::Index;

/// `git diff` of a large repository still answers in seconds.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum ChangesError {
    #[error("--diff {base}: {message}")]
    Git { base: String, message: String },
}

/// The changed lines of the project's Python files, by root-relative path
/// (new-side line numbers).
#[derive(Debug, Clone, Default)]
pub struct Changes {
    pub base: String,
    pub lines: BTreeMap<RelPath, BTreeSet<u32>>,
}

/// What the report says about the changed code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedReport {
    /// The revision compared against.
    pub base: String,
    /// Changed lines that are statements (what can be covered).
    pub statements: u32,
    pub covered_before: u32,
    pub covered_after: u32,
    /// Percent of `statements` covered; 100 when none changed.
    pub coverage_before: f64,
    pub coverage_after: f64,
    pub functions: Vec<ChangedFunction>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedFunction {
    /// `path.py::Qualname`.
    pub target: String,
    pub line: u32,
    /// Changed lines inside the function (statements or not).
    pub changed_lines: u32,
    /// The function's own line coverage, percent.
    pub coverage_before: f64,
    pub coverage_after: f64,
}

impl Changes {
    /// Reads `git diff BASE` (the base's tree against the working tree) of
    /// the repository holding `root`, and the untracked Python files, as
    /// paths relative to `root`.
    pub async fn read(root: &Path, base: &str) -> Result<Changes, ChangesError> {
        let fail = |message: String| ChangesError::Git {
            base: base.to_string(),
            message,
        };
        if base.starts_with('-') || base.trim().is_empty() {
            return Err(fail(
                "expected a git revision (a branch, tag or commit)".into(),
            ));
        }
        git(root, &["rev-parse", "--is-inside-work-tree"])
            .await
            .map_err(|_| fail(format!("{} is not inside a git repository", root.display())))?;
        git(root, &["rev-parse", "--verify", "--quiet", &format!("{base}^{{commit}}")])
            .await
            .map_err(|_| {
                fail(format!(
                    "git does not know this revision (a shallow clone may lack it: git fetch --depth=1 origin {base})"
                ))
            })?;
        let diff = git(
            root,
            &[
                "diff",
                "--no-color",
                "--no-ext-diff",
                "--no-textconv",
                "--unified=0",
                "--relative",
                base,
                "--",
                "*.py",
            ],
        )
        .await
        .map_err(fail)?;
        let mut lines = parse_diff(&diff);
        let untracked = git(
            root,
            &["ls-files", "--others", "--exclude-standard", "--", "*.py"],
        )
        .await
        .map_err(fail)?;
        for path in untracked.lines().filter(|l| !l.is_empty()) {
            let n = std::fs::read_to_string(root.join(path)).map_or(0, |t| t.lines().count());
            lines
                .entry(RelPath::new(path))
                .or_default()
                .extend(1..=n as u32);
        }
        // Tests are not the code whose coverage is gated (as in the
        // project total): a changed test neither targets nor counts.
        lines.retain(|path, _| {
            !crate::workspace::is_test_file(path) && !crate::generate::targets::is_generated(path)
        });
        Ok(Changes {
            base: base.to_string(),
            lines,
        })
    }

    /// The functions owning changed lines, each once (`path`, qualname,
    /// `def` line, changed lines in it), in path and line order. A line
    /// belongs to the innermost function around it.
    pub fn functions(&self, index: &Index) -> Vec<(RelPath, String, u32, u32)> {
        let mut owned: BTreeMap<(RelPath, u32, String), u32> = BTreeMap::new();
        for (path, lines) in &self.lines {
            let Some(file) = index.file(path) else {
                continue;
            };
            for &line in lines {
                let innermost = file
                    .functions
                    .iter()
                    .filter(|f| f.decorator_line.unwrap_or(f.line) <= line && line <= f.end_line)
                    .max_by_key(|f| f.line);
                if let Some(f) = innermost {
                    *owned
                        .entry((path.clone(), f.line, f.qualname.clone()))
                        .or_default() += 1;
                }
            }
        }
        owned
            .into_iter()
            .map(|((p, line, q), n)| (p, q, line, n))
            .collect()
    }

    /// Changed statement lines of `report`, and how many of them ran.
    pub fn covered(&self, report: &CoverageReport) -> (u32, u32) {
        let (mut statements, mut covered) = (0, 0);
        for f in &report.files {
            let Some(changed) = self.lines.get(&f.path) else {
                continue;
            };
            for hit in f.lines.iter().filter(|h| changed.contains(&h.line)) {
                statements += 1;
                covered += u32::from(hit.is_covered());
            }
        }
        (statements, covered)
    }

    /// The report's figures: changed lines before and after, and each
    /// changed function's coverage before and after (from the gap reports).
    pub fn report(
        &self,
        index: &Index,
        before: (&CoverageReport, &GapReport),
        after: (&CoverageReport, &GapReport),
    ) -> ChangedReport {
        let (statements, covered_before) = self.covered(before.0);
        let (_, covered_after) = self.covered(after.0);
        let function_percent = |gaps: &GapReport, path: &RelPath, q: &str, line: u32| {
            gaps.functions
                .iter()
                .find(|r| &r.path == path && r.qualname == q && r.line == line)
                .map_or(100.0, |r| r.coverage_percentage)
        };
        let functions = self
            .functions(index)
            .into_iter()
            .map(|(path, q, line, n)| ChangedFunction {
                target: format!("{path}::{q}"),
                line,
                changed_lines: n,
                coverage_before: function_percent(before.1, &path, &q, line),
                coverage_after: function_percent(after.1, &path, &q, line),
            })
            .collect();
        ChangedReport {
            base: self.base.clone(),
            statements,
            covered_before,
            covered_after,
            coverage_before: ChangedReport::percent(statements, covered_before),
            coverage_after: ChangedReport::percent(statements, covered_after),
            functions,
        }
    }
}

impl ChangedReport {
    /// Percent of `statements` covered; 100 when no statement changed.
    pub fn percent(statements: u32, covered: u32) -> f64 {
        if statements == 0 {
            return 100.0;
        }
        super::round2(100.0 * f64::from(covered) / f64::from(statements))
    }
}

/// The new-side lines of a `--unified=0` diff, by path. A hunk that only
/// deletes marks the line after the deletion, so the function it was cut
/// from counts as changed (it owns no statement the gate counts unless the
/// line is one).
pub fn parse_diff(diff: &str) -> BTreeMap<RelPath, BTreeSet<u32>> {
    let mut out: BTreeMap<RelPath, BTreeSet<u32>> = BTreeMap::new();
    let mut current: Option<RelPath> = None;
    for line in diff.lines() {
        if let Some(path) = line.strip_prefix("+++ ") {
            current = path.strip_prefix("b/").map(RelPath::new);
            continue;
        }
        let (Some(path), Some(hunk)) = (&current, line.strip_prefix("@@ ")) else {
            continue;
        };
        let Some(new) = hunk.split_whitespace().find(|p| p.starts_with('+')) else {
            continue;
        };
        let mut parts = new[1..].splitn(2, ',');
        let start: u32 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let count: u32 = parts
            .next()
            .map_or(Some(1), |s| s.parse().ok())
            .unwrap_or(1);
        let set = out.entry(path.clone()).or_default();
        if count == 0 {
            set.insert(start + 1);
        } else {
            set.extend(start..start + count);
        }
    }
    out
}

async fn git(root: &Path, args: &[&str]) -> Result<String, String> {
    let mut cmd = tokio::process::Command::new("git");
    cmd.arg("-C")
        .arg(root)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .env("GIT_PAGER", "cat")
        .env("LC_ALL", "C")
        .stdin(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let out = tokio::time::timeout(GIT_TIMEOUT, cmd.output())
        .await
        .map_err(|_| format!("git {} took more than {} s", args[0], GIT_TIMEOUT.as_secs()))?
        .map_err(|e| format!("git could not be started: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "git {} failed: {}",
            args[0],
            err.lines().next().unwrap_or("no message")
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunks_give_new_side_lines_and_deletions_mark_the_next_line() {
        let diff = "diff --git a/pkg/a.py b/pkg/a.py\n--- a/pkg/a.py\n+++ b/pkg/a.py\n@@ -3 +3 @@ def f():\n-    return 1\n+    return 2\n@@ -10,2 +10,0 @@\n-x\n-y\n@@ -20,0 +19,3 @@\n+a\n+b\n+c\ndiff --git a/gone.py b/gone.py\n--- a/gone.py\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n";
        let got = parse_diff(diff);
        assert_eq!(got.len(), 1, "{got:?}");
        let lines: Vec<u32> = got[&RelPath::new("pkg/a.py")].iter().copied().collect();
        assert_eq!(lines, [3, 11, 19, 20, 21]);
    }
}
