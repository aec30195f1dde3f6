//! The fast rule classifier: pytest's failure text against known patterns
//! (the reference's 20-odd and more). What it cannot tell goes to the
//! model's classifier, when one is configured.
//!
//! The line between a test's mistake and a code bug: an error the
//! interpreter raised inside project code (IndexError, ZeroDivisionError,
//! KeyError, TypeError on None, ...) on a call from the test is the code's;
//! an error at the test's own line (an import, a fixture, a call with the
//! wrong arguments, a mock used wrongly) is the test's. An assertion that
//! fails at the test's line may be either: the expected value or the code
//! can be wrong, and only reading both tells (the model).

use serde::{Deserialize, Serialize};

use super::failure::Failure;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    TestMistake,
    CodeBug,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub kind: Kind,
    /// Which rule (or `llm`) decided.
    pub by: String,
    pub reason: String,
}

impl Classification {
    fn new(kind: Kind, by: &str, reason: impl Into<String>) -> Classification {
        Classification {
            kind,
            by: by.to_string(),
            reason: reason.into(),
        }
    }
}

// Errors the interpreter raises on its own (one list for generation and
// fixing): raised inside project code on a call from a test, they point
// at the code.
use crate::generate::suspected::UNINTENDED_ERRORS as CODE_BUG_ERRORS;

/// The rules, in order; the first that matches decides.
pub fn classify(f: &Failure) -> Classification {
    let exc = f.exception.as_deref().unwrap_or("");
    let msg = f.message.as_str();
    let tb = f.traceback.as_str();
    let raised_in_test = f.last_frame().is_none_or(|fr| fr.is_test || !fr.in_project);
    use Kind::*;
    if matches!(exc, "SyntaxError" | "IndentationError" | "TabError") && raised_in_test {
        return Classification::new(
            TestMistake,
            "syntax",
            format!("the test does not parse: {}", f.error_line()),
        );
    }
    if matches!(exc, "ImportError" | "ModuleNotFoundError") || msg.contains("cannot import name") {
        return Classification::new(
            TestMistake,
            "import",
            format!(
                "the test imports something that is not there: {}",
                f.error_line()
            ),
        );
    }
    if msg.contains("fixture '") && msg.contains("' not found") {
        return Classification::new(
            TestMistake,
            "missing_fixture",
            format!(
                "the test asks for a fixture that does not exist: {}",
                first(msg)
            ),
        );
    }
    if tb.contains("Database access not allowed") || tb.contains("RuntimeError: Database access") {
        return Classification::new(
            TestMistake,
            "django_db",
            "the test uses the database without pytest.mark.django_db",
        );
    }
    if tb.contains("was never awaited") || msg.contains("<coroutine object") {
        return Classification::new(
            TestMistake,
            "unawaited_coroutine",
            "the test calls a coroutine without awaiting it",
        );
    }
    if tb.contains("async def functions are not natively supported") {
        return Classification::new(
            TestMistake,
            "async_test",
            "an async test without an async plugin marker",
        );
    }
    if let Some(status) = status_mismatch(msg) {
        if status == (422, 400) {
            return Classification::new(
                TestMistake,
                "validation_status",
                "FastAPI answers a request that fails validation with 422, not 400",
            );
        }
        if status.0 == 404 {
            return Classification::new(
                TestMistake,
                "route_404",
                "the test calls a URL no route of the application serves (404)",
            );
        }
        if status.0 == 405 {
            return Classification::new(
                TestMistake,
                "route_method",
                "the route does not accept the test's HTTP method (405)",
            );
        }
    }
    if raised_in_test {
        if exc == "TypeError" && wrong_arguments(msg) {
            return Classification::new(
                TestMistake,
                "wrong_arguments",
                format!(
                    "the test calls a function with the wrong arguments: {}",
                    f.error_line()
                ),
            );
        }
        if exc == "NameError" {
            return Classification::new(
                TestMistake,
                "name_error",
                format!(
                    "the test uses a name it never defines or imports: {}",
                    f.error_line()
                ),
            );
        }
        if exc == "AttributeError" && (msg.contains("Mock") || msg.contains("assert_called")) {
            return Classification::new(
                TestMistake,
                "mock_misuse",
                format!("the test uses a mock wrongly: {}", f.error_line()),
            );
        }
        if exc == "AttributeError" && msg.contains("module ") {
            return Classification::new(
                TestMistake,
                "module_attribute",
                format!(
                    "the test uses a name its module does not have: {}",
                    f.error_line()
                ),
            );
        }
        if f.errored && f.frames.iter().all(|fr| fr.is_test || !fr.in_project) {
            return Classification::new(
                TestMistake,
                "fixture_setup",
                format!("the test's setup fails in test code: {}", f.error_line()),
            );
        }
    }
    if msg.contains("DID NOT RAISE") && raised_in_test {
        return Classification::new(Unknown, "did_not_raise", "the test expects an exception the code does not raise: the expectation or the code is wrong");
    }
    if let Some(frame) = f.last_frame().filter(|fr| fr.in_project && !fr.is_test) {
        if CODE_BUG_ERRORS.contains(&exc)
            && !(exc == "TypeError" && wrong_arguments(msg) && !msg.contains("NoneType"))
        {
            return Classification::new(CodeBug, "error_in_code", format!("{} raised inside {}:{} on the test's call: the code fails where the test's use of it looks valid", f.error_line(), frame.file, frame.line));
        }
    }
    Classification::new(
        Unknown,
        "none",
        "no rule applies: the expected value or the code may be wrong",
    )
}

fn first(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// `assert 422 == 400` → (actual, expected), for status codes.
fn status_mismatch(msg: &str) -> Option<(u16, u16)> {
    let l = msg.lines().next()?;
    let l = l.trim();
    let rest = l
        .strip_prefix("AssertionError: ")
        .unwrap_or(l)
        .strip_prefix("assert ")?;
    let (a, b) = rest.split_once(" == ")?;
    let (a, b): (u16, u16) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    ((100..600).contains(&a) && (100..600).contains(&b) && msg.contains("status_code"))
        .then_some((a, b))
}

fn wrong_arguments(msg: &str) -> bool {
    [
        "required positional argument",
        "unexpected keyword argument",
        "positional argument but",
        "positional arguments but",
        "got multiple values for argument",
        "required keyword-only argument",
    ]
    .iter()
    .any(|p| msg.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::failure::Frame;

    fn failure(exc: Option<&str>, msg: &str, frames: &[(&str, bool)]) -> Failure {
        Failure {
            nodeid: "tests/test_a.py::test_x".into(),
            file: crate::index::model::RelPath::new("tests/test_a.py"),
            function: "test_x".into(),
            class: None,
            errored: false,
            exception: exc.map(str::to_string),
            message: msg.into(),
            frames: frames
                .iter()
                .map(|(f, is_test)| Frame {
                    file: f.to_string(),
                    line: 3,
                    in_project: !f.starts_with('/'),
                    is_test: *is_test,
                    source: None,
                })
                .collect(),
            traceback: msg.into(),
        }
    }

    #[test]
    fn rules() {
        let t = ("tests/test_a.py", true);
        let code = ("shop/p.py", false);
        let lib = ("/usr/lib/python3/x.py", false);
        let kind = |f: Failure| classify(&f).kind;
        assert_eq!(
            kind(failure(
                Some("ImportError"),
                "ImportError: cannot import name 'x'",
                &[t]
            )),
            Kind::TestMistake
        );
        assert_eq!(
            kind(failure(None, "fixture 'sample_item' not found", &[t])),
            Kind::TestMistake
        );
        assert_eq!(
            kind(failure(
                Some("AssertionError"),
                "assert 422 == 400\n + where 422 = <Response>.status_code",
                &[t]
            )),
            Kind::TestMistake
        );
        assert_eq!(
            kind(failure(
                Some("IndexError"),
                "IndexError: list index out of range",
                &[t, code]
            )),
            Kind::CodeBug
        );
        assert_eq!(
            kind(failure(
                Some("ZeroDivisionError"),
                "ZeroDivisionError: division by zero",
                &[t, code]
            )),
            Kind::CodeBug
        );
        assert_eq!(
            kind(failure(
                Some("TypeError"),
                "TypeError: f() missing 1 required positional argument: 'b'",
                &[t]
            )),
            Kind::TestMistake
        );
        assert_eq!(
            kind(failure(
                Some("NameError"),
                "NameError: name 'x' is not defined",
                &[t]
            )),
            Kind::TestMistake
        );
        assert_eq!(
            kind(failure(Some("AssertionError"), "assert 12.0 == 11.0", &[t])),
            Kind::Unknown
        );
        // Raised in a library the project calls: not evidence against the code.
        assert_eq!(
            kind(failure(Some("KeyError"), "KeyError: 'a'", &[t, lib])),
            Kind::Unknown
        );
        assert_eq!(
            kind(failure(Some("ValueError"), "ValueError: bad", &[t, code])),
            Kind::Unknown
        );
    }
}
