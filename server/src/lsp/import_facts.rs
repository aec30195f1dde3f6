//! Test modules that do not import: pytest reports them as collection
//! errors (node id = the file) whose traceback walks from the test module
//! through the project's imports to the line that failed. Each frame in a
//! workspace file becomes a diagnostic on that line: the failing import in
//! the project module, and the test module's own import that led there.

use std::collections::HashMap;
use std::path::Path;

use crate::index::model::RelPath;
use crate::runner::{TestOutcome, TestResult};

/// One import error on one line (1-based, of the file as it was measured).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub line: u32,
    pub message: String,
}

/// The import errors of the latest results, by workspace file.
pub fn from_results(
    results: &[TestResult],
    root: &Path,
    python_root: &Path,
) -> HashMap<RelPath, Vec<ImportError>> {
    let mut out: HashMap<RelPath, Vec<ImportError>> = HashMap::new();
    for r in results {
        if r.outcome != TestOutcome::Error || r.nodeid.contains("::") {
            continue;
        }
        let reason = r.reason().unwrap_or_else(|| "it does not import".into());
        let test_file = RelPath::from_abs(root, &python_root.join(&r.nodeid));
        let frames: Vec<(RelPath, u32)> = r
            .traceback
            .as_deref()
            .map(|tb| frames(tb, root, python_root))
            .unwrap_or_default();
        let Some(test_file) = test_file else { continue };
        if frames.is_empty() {
            out.entry(test_file).or_default().push(ImportError {
                line: 1,
                message: format!("this test module cannot be collected: {reason}"),
            });
            continue;
        }
        let (last_file, last_line) = frames.last().cloned().expect("not empty");
        for (file, line) in &frames {
            let message = if (file, line) == (&last_file, &last_line) {
                format!("import fails: {reason}")
            } else {
                format!(
                    "importing this fails ({reason}, at {last_file}:{last_line}): the tests of {test_file} cannot run"
                )
            };
            let entry = out.entry(file.clone()).or_default();
            if !entry.iter().any(|e| e.line == *line) {
                entry.push(ImportError {
                    line: *line,
                    message,
                });
            }
        }
    }
    out
}

/// `path.py:12: in <module>` frame lines of a pytest traceback that lie in
/// the workspace, in order (outermost first).
fn frames(traceback: &str, root: &Path, python_root: &Path) -> Vec<(RelPath, u32)> {
    traceback
        .lines()
        .filter(|l| !l.starts_with(char::is_whitespace))
        .filter_map(|l| {
            let (loc, _) = l.split_once(": in ")?;
            let (path, line) = loc.rsplit_once(':')?;
            let line: u32 = line.parse().ok()?;
            let abs = python_root.join(path);
            let abs = normalize(&abs);
            RelPath::from_abs(root, &abs).map(|rel| (rel, line))
        })
        .collect()
}

/// `a/b/../c` → `a/c`, without touching the file system.
fn normalize(p: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(nodeid: &str, traceback: &str) -> TestResult {
        TestResult {
            nodeid: nodeid.into(),
            file: None,
            line: None,
            outcome: TestOutcome::Error,
            duration_s: 0.0,
            message: Some("collection failure".into()),
            traceback: Some(traceback.into()),
        }
    }

    #[test]
    fn a_broken_import_in_a_project_module_marks_both_ends() {
        let tb = "ImportError while importing test module '/p/tests/test_pricing.py'.\n\
                  Traceback:\n\
                  /usr/lib/python3.11/importlib/__init__.py:126: in import_module\n\
                  \x20   return _bootstrap._gcd_import(name[level:], package, level)\n\
                  tests/test_pricing.py:3: in <module>\n\
                  \x20   from plainlib.pricing import apply_discount\n\
                  plainlib/pricing.py:5: in <module>\n\
                  \x20   import nonexistent_module_xyz\n\
                  E   ModuleNotFoundError: No module named 'nonexistent_module_xyz'";
        let got = from_results(
            &[error("tests/test_pricing.py", tb)],
            Path::new("/p"),
            Path::new("/p"),
        );
        let module = &got[&RelPath::new("plainlib/pricing.py")];
        assert_eq!(module[0].line, 5);
        assert!(
            module[0]
                .message
                .contains("No module named 'nonexistent_module_xyz'"),
            "{module:?}"
        );
        let test = &got[&RelPath::new("tests/test_pricing.py")];
        assert_eq!(test[0].line, 3);
        assert!(
            test[0].message.contains("plainlib/pricing.py:5"),
            "{test:?}"
        );
        assert_eq!(got.len(), 2, "the stdlib frame is not the workspace's");
    }

    #[test]
    fn without_frames_the_test_file_gets_it_on_its_first_line() {
        let got = from_results(
            &[error("tests/test_x.py", "E   SyntaxError: invalid syntax")],
            Path::new("/p"),
            Path::new("/p"),
        );
        assert_eq!(got[&RelPath::new("tests/test_x.py")][0].line, 1);
    }
}
