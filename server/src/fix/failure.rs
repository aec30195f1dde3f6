//! A failing test as the fixer reads it: from the runner's JUnit result
//! (message and pytest's long representation) into the exception type, its
//! message, the traceback's frames, and where the test's function lies.

use std::path::Path;

use serde::Serialize;

use crate::index::model::RelPath;
use crate::runner::{TestOutcome, TestResult};

/// One frame of pytest's traceback: `path:line: [ExceptionType]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Frame {
    /// Relative to the workspace root when inside it, else as pytest wrote it.
    pub file: String,
    pub line: u32,
    /// The file belongs to the project (not the interpreter, not a library).
    pub in_project: bool,
    /// The file is a test module or conftest.
    pub is_test: bool,
    /// The line pytest marked with `>` in this frame, trimmed.
    pub source: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// pytest's node id, relative to the Python root.
    pub nodeid: String,
    /// The test module, relative to the workspace root.
    pub file: RelPath,
    /// The test function's name (no class, no parameters); empty for a
    /// module that does not import.
    pub function: String,
    /// Enclosing class of a method test, when any.
    pub class: Option<String>,
    /// Errored in setup (a fixture) or collection rather than failed.
    pub errored: bool,
    /// `ImportError`, `AssertionError`, ... (None when pytest did not say).
    pub exception: Option<String>,
    /// The exception's message (every `E` line, joined).
    pub message: String,
    pub frames: Vec<Frame>,
    /// pytest's text, for the model and the report.
    #[serde(skip)]
    pub traceback: String,
}

impl Failure {
    /// None for a result that did not fail.
    pub fn from_result(r: &TestResult, root: &Path, python_root: &Path) -> Option<Failure> {
        if !matches!(r.outcome, TestOutcome::Failed | TestOutcome::Error) {
            return None;
        }
        let (path, rest) = r.nodeid.split_once("::").unwrap_or((&r.nodeid, ""));
        let file =
            RelPath::from_abs(root, &python_root.join(path)).unwrap_or_else(|| RelPath::new(path));
        let mut parts: Vec<&str> = rest.split("::").filter(|p| !p.is_empty()).collect();
        let function = parts
            .pop()
            .map(|f| f.split('[').next().unwrap_or(f).to_string())
            .unwrap_or_default();
        let class = parts.last().map(|c| c.to_string());
        let traceback = r.traceback.clone().unwrap_or_default();
        let text = if traceback.is_empty() {
            r.message.clone().unwrap_or_default()
        } else {
            traceback.clone()
        };
        let (exception, message) = exception_of(&text, r.message.as_deref());
        Some(Failure {
            nodeid: r.nodeid.clone(),
            file,
            function,
            class,
            errored: r.outcome == TestOutcome::Error,
            exception,
            message,
            frames: frames(&text, root, python_root),
            traceback: text,
        })
    }

    /// The traceback's last frame (where the exception was raised).
    pub fn last_frame(&self) -> Option<&Frame> {
        self.frames.last()
    }

    /// The last frame inside the project that is not a test file.
    pub fn last_project_frame(&self) -> Option<&Frame> {
        self.frames
            .iter()
            .rev()
            .find(|f| f.in_project && !f.is_test)
    }

    /// The test's own frame (the line in the test that led to the error).
    pub fn test_frame(&self) -> Option<&Frame> {
        self.frames.iter().find(|f| f.file == self.file.as_str())
    }

    /// `ExceptionType: message`, as a user reads it.
    pub fn error_line(&self) -> String {
        let first = self.message.lines().next().unwrap_or("");
        match &self.exception {
            Some(e) if !first.starts_with(e.as_str()) => format!("{e}: {first}"),
            _ => first.to_string(),
        }
    }
}

/// The exception type and message: the `E   ` lines, or pytest's message
/// attribute. An assertion rewritten by pytest (`assert 1 == 2`) has no
/// type on its `E` line; the frame line (`file:N: AssertionError`) has it.
fn exception_of(text: &str, message: Option<&str>) -> (Option<String>, String) {
    let e_lines: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("E ").map(str::trim))
        .collect();
    let message = if e_lines.is_empty() {
        message.unwrap_or("").to_string()
    } else {
        e_lines.join("\n")
    };
    let from_frame = text
        .lines()
        .rev()
        .find_map(|l| frame_line(l).and_then(|(_, _, exc)| exc))
        .map(str::to_string);
    let from_message = message.lines().find_map(|l| {
        let (head, _) = l.split_once(':')?;
        is_exception_name(head.trim()).then(|| head.trim().to_string())
    });
    (from_frame.or(from_message), message)
}

fn is_exception_name(s: &str) -> bool {
    let last = s.rsplit('.').next().unwrap_or(s);
    !last.is_empty()
        && last.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && last.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && (last.ends_with("Error") || last.ends_with("Exception") || last.ends_with("Exit"))
}

/// `path.py:12: ExcType` / `path.py:12: ` / `path.py:12: in func` /
/// `path.py:12` (pytest's fixture-lookup errors) → (path, line, ExcType).
fn frame_line(l: &str) -> Option<(&str, u32, Option<&str>)> {
    let l = l.trim_end();
    let py = l.find(".py:")?;
    let path = &l[..py + 3];
    if path.contains(' ') && !path.starts_with('/') {
        return None;
    }
    let rest = &l[py + 4..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let line: u32 = digits.parse().ok()?;
    let after = &rest[digits.len()..];
    let exc = match after.strip_prefix(':') {
        Some(a) => {
            let a = a.trim();
            (!a.is_empty() && !a.starts_with("in ") && is_exception_name(a)).then_some(a)
        }
        None if after.is_empty() => None,
        None => return None,
    };
    Some((path.trim(), line, exc))
}

fn frames(text: &str, root: &Path, python_root: &Path) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut marked: Option<String> = None;
    for l in text.lines() {
        if let Some(src) = l.strip_prefix('>') {
            marked = Some(src.trim().to_string());
            continue;
        }
        let Some((path, line, _)) = frame_line(l) else {
            continue;
        };
        let abs = if Path::new(path).is_absolute() {
            Path::new(path).to_path_buf()
        } else {
            python_root.join(path)
        };
        let rel = RelPath::from_abs(root, &abs);
        let in_project = rel.as_ref().is_some_and(|r| !is_outside_code(r));
        let is_test = rel
            .as_ref()
            .is_some_and(|r| crate::workspace::is_test_file(r) || r.file_name() == "conftest.py");
        out.push(Frame {
            file: rel.map_or_else(|| path.to_string(), |r| r.to_string()),
            line,
            in_project,
            is_test,
            source: marked.take(),
        });
    }
    out
}

/// A virtualenv or site-packages inside the project is not the project.
fn is_outside_code(r: &RelPath) -> bool {
    r.as_str().split('/').any(|part| {
        matches!(
            part,
            "site-packages" | "dist-packages" | ".venv" | "venv" | ".tox"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(nodeid: &str, message: &str, tb: &str) -> TestResult {
        TestResult {
            nodeid: nodeid.into(),
            file: None,
            line: None,
            outcome: TestOutcome::Failed,
            duration_s: 0.0,
            message: Some(message.into()),
            traceback: Some(tb.into()),
        }
    }

    #[test]
    fn frames_exception_and_the_project_frame_of_a_bug() {
        let tb = "sample_items = [1]\n\n    def test_last_price(sample_items):\n>       assert last_price(sample_items) == 12.0\n\ntests/test_b.py:32: \n_ _ _ _\n\n    def last_price(items):\n>       return items[len(items)][1]\nE       IndexError: list index out of range\n\nshop/pricing.py:17: IndexError";
        let r = result(
            "tests/test_b.py::TestX::test_last_price[1]",
            "IndexError: list index out of range",
            tb,
        );
        let root = Path::new("/p");
        let f = Failure::from_result(&r, root, root).unwrap();
        assert_eq!(f.function, "test_last_price");
        assert_eq!(f.class.as_deref(), Some("TestX"));
        assert_eq!(f.exception.as_deref(), Some("IndexError"));
        assert_eq!(f.message, "IndexError: list index out of range");
        assert_eq!(f.frames.len(), 2);
        assert!(f.frames[0].is_test && !f.frames[1].is_test);
        let p = f.last_project_frame().unwrap();
        assert_eq!((p.file.as_str(), p.line), ("shop/pricing.py", 17));
        assert_eq!(
            f.test_frame().unwrap().source.as_deref(),
            Some("assert last_price(sample_items) == 12.0")
        );
    }

    #[test]
    fn absolute_paths_and_setup_errors() {
        let tb = "file /p/tests/test_b.py, line 14\n  def test_t(sample_item):\nE       fixture 'sample_item' not found\n>       available fixtures: capsys, sample_items\n\n/p/tests/test_b.py:14";
        let mut r = result("tests/test_b.py::test_t", "failed on setup", tb);
        r.outcome = TestOutcome::Error;
        let f = Failure::from_result(&r, Path::new("/p"), Path::new("/p")).unwrap();
        assert!(f.errored);
        assert_eq!(f.frames[0].file, "tests/test_b.py");
        assert_eq!(f.message, "fixture 'sample_item' not found");
        assert_eq!(f.exception, None);
        let asserted = result(
            "t.py::test_a",
            "assert 1 == 2",
            ">       assert 1 == 2\nE       assert 1 == 2\n\nt.py:3: AssertionError",
        );
        let f = Failure::from_result(&asserted, Path::new("/p"), Path::new("/p")).unwrap();
        assert_eq!(f.exception.as_deref(), Some("AssertionError"));
        assert_eq!(f.error_line(), "AssertionError: assert 1 == 2");
    }
}
