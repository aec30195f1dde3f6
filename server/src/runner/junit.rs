//! Reads pytest's JUnit XML (`--junitxml`, family xunit1, which carries each
//! test's file) into [`TestResult`]s. Collection errors (a test module that
//! does not import) are results too: outcome `error`, nodeid = the file.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestOutcome {
    Passed,
    Failed,
    Error,
    Skipped,
    Xfail,
}

/// One test as pytest reported it. `file` and `line` are filled in by the
/// runner (relative to the workspace root, line of the `def` via the index).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    /// pytest's node id, relative to pytest's rootdir (the Python root).
    pub nodeid: String,
    pub file: Option<String>,
    pub line: Option<u32>,
    pub outcome: TestOutcome,
    pub duration_s: f64,
    /// The one-line message (an assertion's text, a skip reason).
    pub message: Option<String>,
    /// The traceback / long representation pytest printed.
    pub traceback: Option<String>,
}

impl TestResult {
    /// The line that says what went wrong: the message's first line, or,
    /// when that is only "collection failure" (or missing), the last
    /// `E   SomeError: ...` line of the traceback.
    pub fn reason(&self) -> Option<String> {
        let message = self
            .message
            .as_deref()
            .and_then(|m| m.lines().next())
            .filter(|m| !m.trim().is_empty() && *m != "collection failure");
        let from_traceback = || {
            self.traceback.as_deref().and_then(|tb| {
                tb.lines()
                    .rev()
                    .map(str::trim)
                    .find_map(|l| l.strip_prefix("E ").map(str::trim))
                    .filter(|l| !l.is_empty())
            })
        };
        message
            .or_else(from_traceback)
            .or(self.message.as_deref())
            .map(|l| l.chars().take(300).collect())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("malformed JUnit XML at byte {offset}: {message}")]
pub struct JunitError {
    pub offset: u64,
    pub message: String,
}

/// The test cases of a JUnit XML document, in document order.
pub fn parse(bytes: &[u8]) -> Result<Vec<TestResult>, JunitError> {
    let mut reader = Reader::from_reader(bytes);
    reader.config_mut().check_end_names = true;
    let mut out = Vec::new();
    let mut case: Option<Case> = None;
    // Which child of <testcase> we are inside: its text is the traceback.
    let mut in_detail = false;
    loop {
        let err = |r: &Reader<&[u8]>, m: String| JunitError {
            offset: r.error_position(),
            message: m,
        };
        let event = reader
            .read_event()
            .map_err(|e| err(&reader, e.to_string()))?;
        match event {
            Event::Start(e) if e.local_name().as_ref() == b"testcase" => {
                case = Some(Case::start(&e).map_err(|m| err(&reader, m))?);
            }
            Event::Empty(e) if e.local_name().as_ref() == b"testcase" => {
                let c = Case::start(&e).map_err(|m| err(&reader, m))?;
                out.push(c.finish());
            }
            Event::Start(e) if case.is_some() => {
                if let Some(c) = case.as_mut() {
                    in_detail = c.detail(&e).map_err(|m| err(&reader, m))?;
                }
            }
            Event::Empty(e) if case.is_some() => {
                // No text, no end event: only the outcome and message count.
                if let Some(c) = case.as_mut() {
                    c.detail(&e).map_err(|m| err(&reader, m))?;
                }
            }
            Event::End(e) if e.local_name().as_ref() == b"testcase" => {
                if let Some(c) = case.take() {
                    out.push(c.finish());
                }
                in_detail = false;
            }
            Event::End(e)
                if matches!(e.local_name().as_ref(), b"failure" | b"error" | b"skipped") =>
            {
                in_detail = false;
            }
            Event::Text(t) if in_detail => {
                let s = t.decode().map_err(|e| err(&reader, e.to_string()))?;
                if let Some(c) = case.as_mut() {
                    c.text.push_str(&s);
                }
            }
            Event::CData(t) if in_detail => {
                let s = t.decode().map_err(|e| err(&reader, e.to_string()))?;
                if let Some(c) = case.as_mut() {
                    c.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) if in_detail => {
                let s = match r.resolve_char_ref() {
                    Ok(Some(ch)) => ch.to_string(),
                    _ => {
                        let name = r.decode().map_err(|e| err(&reader, e.to_string()))?;
                        quick_xml::escape::resolve_predefined_entity(&name)
                            .map_or_else(|| format!("&{name};"), str::to_string)
                    }
                };
                if let Some(c) = case.as_mut() {
                    c.text.push_str(&s);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if case.is_some() {
        return Err(JunitError {
            offset: bytes.len() as u64,
            message: "document ends inside a <testcase>".into(),
        });
    }
    Ok(out)
}

#[derive(Default)]
struct Case {
    classname: String,
    name: String,
    file: Option<String>,
    time: f64,
    outcome: Option<TestOutcome>,
    message: Option<String>,
    text: String,
}

impl Case {
    fn start(e: &BytesStart) -> Result<Case, String> {
        let mut c = Case::default();
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let v = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
            match a.key.local_name().as_ref() {
                b"classname" => c.classname = v,
                b"name" => c.name = v,
                b"file" => c.file = Some(v),
                b"time" => c.time = v.parse().unwrap_or(0.0),
                _ => {}
            }
        }
        Ok(c)
    }

    /// A child of <testcase>; true when its text is the test's detail.
    fn detail(&mut self, e: &BytesStart) -> Result<bool, String> {
        let name = e.local_name();
        let (outcome, is_detail) = match name.as_ref() {
            b"failure" => (TestOutcome::Failed, true),
            b"error" => (TestOutcome::Error, true),
            b"skipped" => (TestOutcome::Skipped, true),
            _ => return Ok(false),
        };
        let mut message = None;
        let mut xfail = false;
        for a in e.attributes() {
            let a = a.map_err(|e| e.to_string())?;
            let v = a.unescape_value().map_err(|e| e.to_string())?.into_owned();
            match a.key.local_name().as_ref() {
                b"message" => message = Some(v),
                b"type" => xfail = v == "pytest.xfail",
                _ => {}
            }
        }
        let outcome = if xfail { TestOutcome::Xfail } else { outcome };
        // A failure in the call plus an error in teardown: the failure is
        // what the user must look at; keep the first outcome seen.
        if self.outcome.is_none() {
            self.outcome = Some(outcome);
            self.message = message;
        }
        Ok(is_detail)
    }

    fn finish(self) -> TestResult {
        let nodeid = self.nodeid();
        let text = self.text.trim_end();
        TestResult {
            nodeid,
            file: self.file,
            line: None,
            outcome: self.outcome.unwrap_or(TestOutcome::Passed),
            duration_s: self.time,
            message: self.message.filter(|m| !m.is_empty()),
            traceback: (!text.is_empty()).then(|| text.to_string()),
        }
    }

    /// Rebuilds pytest's node id: `file::Class::name`. JUnit's classname is
    /// the module's dotted path followed by the classes.
    fn nodeid(&self) -> String {
        let Some(file) = &self.file else {
            return if self.classname.is_empty() {
                self.name.clone()
            } else {
                format!("{}::{}", self.classname, self.name)
            };
        };
        if self.classname.is_empty() {
            // A collection error: the "name" is the module.
            return file.clone();
        }
        let module = file.trim_end_matches(".py").replace('/', ".");
        let classes = self
            .classname
            .strip_prefix(&module)
            .map(|rest| rest.trim_start_matches('.'))
            .unwrap_or("");
        let mut id = file.clone();
        for class in classes.split('.').filter(|c| !c.is_empty()) {
            id.push_str("::");
            id.push_str(class);
        }
        id.push_str("::");
        id.push_str(&self.name);
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="2" tests="6" time="0.1">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="3" time="0.001" />
<testcase classname="tests.test_a.TestCls" name="test_p[1-2]" file="tests/test_a.py" line="9" time="0.002"><failure message="assert 1 == 2">def test_p():
&gt;       assert 1 == 2
E       assert 1 == 2 &amp; &#x41;</failure></testcase>
<testcase classname="tests.test_a" name="test_skip" file="tests/test_a.py" line="12" time="0"><skipped type="pytest.skip" message="no db">tests/test_a.py:12: no db</skipped></testcase>
<testcase classname="tests.test_a" name="test_xf" file="tests/test_a.py" line="15" time="0"><skipped type="pytest.xfail" message="known" /></testcase>
<testcase classname="" name="tests.test_broken" file="tests/test_broken.py" time="0.000"><error message="collection failure">ImportError: nope</error></testcase>
</testsuite></testsuites>"#;

    #[test]
    fn outcomes_nodeids_and_tracebacks() {
        let r = parse(DOC.as_bytes()).unwrap();
        let ids: Vec<_> = r.iter().map(|t| (t.nodeid.as_str(), t.outcome)).collect();
        assert_eq!(
            ids,
            [
                ("tests/test_a.py::test_ok", TestOutcome::Passed),
                ("tests/test_a.py::TestCls::test_p[1-2]", TestOutcome::Failed),
                ("tests/test_a.py::test_skip", TestOutcome::Skipped),
                ("tests/test_a.py::test_xf", TestOutcome::Xfail),
                ("tests/test_broken.py", TestOutcome::Error),
            ]
        );
        assert_eq!(r[1].message.as_deref(), Some("assert 1 == 2"));
        assert_eq!(
            r[1].traceback.as_deref(),
            Some("def test_p():\n>       assert 1 == 2\nE       assert 1 == 2 & A")
        );
        assert_eq!(r[4].traceback.as_deref(), Some("ImportError: nope"));
        assert_eq!(r[0].traceback, None);
    }

    #[test]
    fn truncated_is_an_error() {
        let cut = &DOC[..DOC.find("test_skip").unwrap()];
        assert!(parse(cut.as_bytes()).is_err());
    }
}
