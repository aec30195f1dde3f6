//! Which tests a run runs: all, the given node ids, or the tests whose
//! recorded coverage contexts touch changed lines (what run-on-save uses).

use std::collections::BTreeSet;
use std::ops::RangeInclusive;
use std::path::Path;

use crate::index::model::RelPath;
use crate::workspace;

use super::contexts::TestContexts;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Selection {
    #[default]
    All,
    /// pytest node ids, relative to the Python root.
    Only(Vec<String>),
    Affected(Vec<Change>),
}

/// Changed lines of one file (the whole file when `lines` is None).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// Relative to the workspace root.
    pub file: RelPath,
    pub lines: Option<RangeInclusive<u32>>,
}

impl Change {
    /// Parses `FILE[:A-B]` / `FILE[:N]`; FILE is absolute, or relative to the
    /// current directory when it exists there, else to the workspace root.
    pub fn parse(spec: &str, root: &Path) -> Result<Change, String> {
        let (file, lines) = match spec.rsplit_once(':') {
            Some((f, range))
                if !range.is_empty() && range.chars().all(|c| c.is_ascii_digit() || c == '-') =>
            {
                (
                    f,
                    Some(parse_range(range).ok_or_else(|| {
                        format!(
                            "--affected {spec}: expected FILE:FIRST-LAST with 1 <= FIRST <= LAST"
                        )
                    })?),
                )
            }
            _ => (spec, None),
        };
        let p = Path::new(file);
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else if p.exists() {
            std::path::absolute(p).map_err(|e| format!("--affected {file}: {e}"))?
        } else {
            root.join(p)
        };
        let abs = abs.canonicalize().unwrap_or(abs);
        let rel = RelPath::from_abs(root, &abs)
            .ok_or_else(|| format!("--affected {file}: not inside {}", root.display()))?;
        Ok(Change { file: rel, lines })
    }
}

fn parse_range(s: &str) -> Option<RangeInclusive<u32>> {
    let (a, b) = match s.split_once('-') {
        Some((a, b)) => (a.parse().ok()?, b.parse().ok()?),
        None => {
            let n = s.parse().ok()?;
            (n, n)
        }
    };
    (a >= 1 && a <= b).then_some(a..=b)
}

/// What to pass to pytest for a selection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// The whole suite; `note` says why when something narrower was asked.
    Full { note: Option<String> },
    /// These pytest arguments (node ids or test files), a strict subset.
    Partial { args: Vec<String> },
    /// Nothing covers the changed lines: no run is needed.
    Nothing { note: String },
}

/// Resolves a selection against the recorded contexts. `python_prefix` is
/// the Python root relative to the workspace root ("" when they are equal):
/// node ids and pytest arguments are relative to the Python root.
/// `failing`: node ids that failed or errored last time; an affected run
/// always re-runs them (as pytest-testmon does), so a failure clears as soon
/// as it is fixed even when its coverage was never recorded (a collection
/// error records none).
pub fn plan(
    selection: &Selection,
    contexts: Option<&TestContexts>,
    python_prefix: &str,
    failing: &[String],
) -> Plan {
    match selection {
        Selection::All => Plan::Full { note: None },
        Selection::Only(ids) if ids.is_empty() => Plan::Full { note: None },
        Selection::Only(ids) => Plan::Partial { args: ids.clone() },
        Selection::Affected(changes) => {
            let Some(ctx) = contexts.filter(|c| !c.is_empty()) else {
                return Plan::Full {
                    note: Some("no per-test coverage recorded yet: running the whole suite".into()),
                };
            };
            let mut args: BTreeSet<String> = BTreeSet::new();
            for c in changes {
                let touching = ctx.tests_touching(&c.file, c.lines.clone());
                // A source file no test has ever executed (new, renamed, or
                // only imported by tests that no longer collect): which tests
                // depend on it is unknown, so everything runs.
                if touching.is_empty()
                    && !workspace::is_test_file(&c.file)
                    && !ctx.knows_file(&c.file)
                {
                    return Plan::Full {
                        note: Some(format!(
                            "no recorded test executes {}: running the whole suite",
                            c.file
                        )),
                    };
                }
                args.extend(touching);
                // An edited test file runs whole: it may hold new tests that
                // no context knows yet.
                if workspace::is_test_file(&c.file) && c.file.file_name() != "conftest.py" {
                    if let Some(rel) = strip_prefix(c.file.as_str(), python_prefix) {
                        args.retain(|a| !a.starts_with(&format!("{rel}::")));
                        args.insert(rel.to_string());
                    }
                }
            }
            args.extend(failing.iter().cloned());
            // A failing file's whole-file entry covers its node ids.
            let files: Vec<String> = args.iter().filter(|a| !a.contains("::")).cloned().collect();
            args.retain(|a| !files.iter().any(|f| a.starts_with(&format!("{f}::"))));
            if args.is_empty() {
                Plan::Nothing {
                    note: "no recorded test executes the changed lines".into(),
                }
            } else {
                Plan::Partial {
                    args: args.into_iter().collect(),
                }
            }
        }
    }
}

fn strip_prefix<'a>(path: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(prefix)?.strip_prefix('/')
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn change_specs() {
        let root = Path::new("/nonexistent-root");
        let c = Change::parse("pkg/a.py:3-7", root).unwrap();
        assert_eq!(c.file, RelPath::new("pkg/a.py"));
        assert_eq!(c.lines, Some(3..=7));
        assert_eq!(
            Change::parse("pkg/a.py:5", root).unwrap().lines,
            Some(5..=5)
        );
        assert_eq!(Change::parse("pkg/a.py", root).unwrap().lines, None);
        assert!(Change::parse("pkg/a.py:9-3", root).is_err());
        assert!(Change::parse("pkg/a.py:0-3", root).is_err());
        assert!(Change::parse("/elsewhere/a.py", root).is_err());
    }

    #[test]
    fn affected_without_contexts_runs_everything_and_says_so() {
        let sel = Selection::Affected(vec![Change {
            file: RelPath::new("a.py"),
            lines: None,
        }]);
        match plan(&sel, None, "", &[]) {
            Plan::Full { note: Some(n) } => assert!(n.contains("whole suite")),
            other => panic!("{other:?}"),
        }
    }

    fn contexts() -> TestContexts {
        let j = serde_json::json!({"files": {"pkg/a.py": {"contexts": {
            "3": ["tests/test_a.py::test_one|run"]
        }}}});
        TestContexts::from_coverage_json(&j, Path::new("/p"), Path::new("/p")).0
    }

    fn change(file: &str) -> Selection {
        Selection::Affected(vec![Change {
            file: RelPath::new(file),
            lines: None,
        }])
    }

    #[test]
    fn last_failures_always_rerun() {
        let ctx = contexts();
        let failing = vec!["tests/test_b.py::test_two".to_string()];
        match plan(&change("pkg/a.py"), Some(&ctx), "", &failing) {
            Plan::Partial { args } => assert_eq!(
                args,
                ["tests/test_a.py::test_one", "tests/test_b.py::test_two"]
            ),
            other => panic!("{other:?}"),
        }
        // A collection error (the file as node id) runs the whole file.
        let failing = vec!["tests/test_a.py".to_string()];
        match plan(&change("pkg/a.py"), Some(&ctx), "", &failing) {
            Plan::Partial { args } => assert_eq!(args, ["tests/test_a.py"]),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_source_file_no_test_ever_ran_runs_everything() {
        let ctx = contexts();
        match plan(&change("pkg/renamed.py"), Some(&ctx), "", &[]) {
            Plan::Full { note: Some(n) } => assert!(n.contains("pkg/renamed.py"), "{n}"),
            other => panic!("{other:?}"),
        }
    }
}
