//! Suspected bugs: a call of project code that raised an error the code did
//! not raise on purpose (ZeroDivisionError, IndexError, KeyError, TypeError
//! on None, ... raised by the interpreter inside project code) on inputs
//! that look valid. Engines (explore, llm) and the fixer report them; the
//! pipeline's reports, the editor's `suspected-bug` diagnostics and CI
//! summaries show them. A suspected bug is never "fixed" by bending a test.

use serde::{Deserialize, Serialize};

/// Who found it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Finder {
    Explore,
    Llm,
    Fixer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuspectedBug {
    /// `path/to/module.py::Qualname` of the function that misbehaves.
    pub target: String,
    /// The project file and 1-based line where the error was raised (the
    /// traceback's last project frame), relative to the project root.
    pub file: String,
    pub line: u32,
    /// The call that raised, as Python source (`divide(1, 0)`).
    pub input: String,
    /// Exception type and message (`ZeroDivisionError: division by zero`).
    pub error: String,
    /// Why it looks like a bug rather than a test's mistake, in words.
    pub reason: String,
    /// The test that shows it, when one exists (node id or test name).
    pub test: Option<String>,
    pub found_by: Finder,
}

/// Errors the interpreter raises on its own: raised inside project code on
/// a call a test makes, they point at the code, not the test. The fixer's
/// classifier (fix/classify.rs) uses the same list.
pub const UNINTENDED_ERRORS: [&str; 9] = [
    "ZeroDivisionError",
    "IndexError",
    "KeyError",
    "UnboundLocalError",
    "RecursionError",
    "OverflowError",
    "TypeError",
    "AttributeError",
    "NameError",
];

/// A failed test's exception is one the project's code did not mean to
/// raise.
pub fn is_unintended(raised: &super::validate::Raised) -> bool {
    UNINTENDED_ERRORS.contains(&raised.kind())
}
