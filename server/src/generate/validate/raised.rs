//! Where a failing test's exception came from, read from pytest's long
//! representation: when the traceback's last frame is project code (not the
//! test, not a library), the engine that wrote the test can tell a code bug
//! from its own mistake (generate/suspected.rs). The fixer reads tracebacks
//! in more detail for its own needs (fix/failure.rs); this is the little
//! validation needs.

use std::path::Path;

use serde::Serialize;

use crate::index::model::RelPath;

/// An exception raised inside the project's code during a test.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Raised {
    /// The project file of the traceback's last frame, relative to the root.
    pub file: String,
    pub line: u32,
    /// `ZeroDivisionError: integer division or modulo by zero`.
    pub error: String,
    /// The test's line that led there (pytest's `>` line in the test's own
    /// frame): the input, as Python source.
    pub call: String,
}

impl Raised {
    /// The exception's type name (`ZeroDivisionError`).
    pub fn kind(&self) -> &str {
        self.error.split(':').next().unwrap_or_default().trim()
    }
}

/// The project frame that raised, if the last frame of `traceback` is one.
pub fn from_traceback(traceback: &str, root: &Path, python_root: &Path) -> Option<Raised> {
    let mut frames: Vec<(Option<RelPath>, u32, Option<String>)> = Vec::new();
    let mut marked: Option<String> = None;
    for l in traceback.lines() {
        if let Some(src) = l.strip_prefix('>') {
            marked = Some(src.trim().to_string());
            continue;
        }
        if let Some((path, line)) = frame_line(l) {
            let abs = if Path::new(path).is_absolute() {
                Path::new(path).to_path_buf()
            } else {
                python_root.join(path)
            };
            frames.push((RelPath::from_abs(root, &abs), line, marked.take()));
        }
    }
    let (last, line, _) = frames.last()?;
    let file = last.as_ref().filter(|r| is_project_code(r))?;
    let call = frames
        .iter()
        .find(|(p, _, _)| p.as_ref().is_some_and(crate::workspace::is_test_file))
        .and_then(|(_, _, src)| src.clone())
        .unwrap_or_default();
    let error = last_error(traceback)?;
    Some(Raised {
        file: file.to_string(),
        line: *line,
        error,
        call,
    })
}

/// The first `E` line of the last group of them: the exception that ended
/// the test (earlier groups are the ones it was raised while handling).
fn last_error(traceback: &str) -> Option<String> {
    let mut first_of_group: Option<&str> = None;
    let mut in_group = false;
    for l in traceback.lines() {
        match l.strip_prefix("E ").map(str::trim) {
            Some(e) if !in_group => {
                first_of_group = Some(e);
                in_group = true;
            }
            Some(_) => {}
            None => in_group = false,
        }
    }
    first_of_group.filter(|e| !e.is_empty()).map(str::to_string)
}

/// `path.py:12: ExcType` or `path.py:12: ` → (path, 12).
fn frame_line(l: &str) -> Option<(&str, u32)> {
    let l = l.trim_end();
    let py = l.find(".py:")?;
    let path = l[..py + 3].trim();
    if path.contains(' ') {
        return None;
    }
    let rest = &l[py + 4..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let line = digits.parse().ok()?;
    rest[digits.len()..]
        .starts_with(':')
        .then_some((path, line))
}

/// Not a test module or conftest, not an environment inside the project.
fn is_project_code(r: &RelPath) -> bool {
    !crate::workspace::is_test_file(r)
        && r.file_name() != "conftest.py"
        && !r.as_str().split('/').any(|p| {
            matches!(
                p,
                "site-packages" | "dist-packages" | ".venv" | "venv" | ".tox"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TB: &str = "    def test_average_price_of_empty_cart():\n>       assert Cart(\"ada\").average_price() == 0\n\ntests/.testgen-staging-1-x/test_statelib_cart.py:4: \n_ _ _ _ _ _\n\nself = <statelib.cart.Cart object at 0x7f>\n\n    def average_price(self) -> int:\n>       return self.total() // sum(count for count, _ in self.items.values())\nE       ZeroDivisionError: integer division or modulo by zero\n\nstatelib/cart.py:46: ZeroDivisionError";

    #[test]
    fn the_project_frame_error_and_call_of_a_bug() {
        let r = from_traceback(TB, Path::new("/p"), Path::new("/p")).unwrap();
        assert_eq!((r.file.as_str(), r.line), ("statelib/cart.py", 46));
        assert_eq!(
            r.error,
            "ZeroDivisionError: integer division or modulo by zero"
        );
        assert_eq!(r.kind(), "ZeroDivisionError");
        assert_eq!(r.call, "assert Cart(\"ada\").average_price() == 0");
    }

    #[test]
    fn an_error_in_the_test_or_a_library_is_not_the_projects() {
        let own =
            ">       assert f(1) == 3\nE       assert 2 == 3\n\ntests/test_x.py:3: AssertionError";
        assert_eq!(from_traceback(own, Path::new("/p"), Path::new("/p")), None);
        let lib = ">       f()\n\ntests/test_x.py:3: \n>   raise ValueError\nE   ValueError\n\n/usr/lib/python3.11/json/decoder.py:355: ValueError";
        assert_eq!(from_traceback(lib, Path::new("/p"), Path::new("/p")), None);
    }
}
