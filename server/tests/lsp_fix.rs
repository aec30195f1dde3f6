//! "Fix failing test" in the editor: the real server over stdio on a copy
//! of the `fixer` fixture, real pytest. The fix arrives through
//! `workspace/applyEdit` in the open buffer (the client model applies it
//! as an editor does), the test runs again once saved and its diagnostic
//! clears; a code bug becomes a `suspected-bug` diagnostic on the source
//! line and its test stays as it is.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use lsp_client::{file_uri, LspClient};
use serde_json::{json, Value};

fn failing<'a>(diags: &'a [Value], test: &str) -> Option<&'a Value> {
    diags.iter().find(|d| {
        d["code"] == "failing-test" && d["data"]["key"].as_str().is_some_and(|k| k.ends_with(test))
    })
}

fn fix_test(c: &mut LspClient, uri: &str, nodeid: &str) -> Result<Value, Value> {
    c.request(
        "workspace/executeCommand",
        json!({"command": "testgen.fixTest", "arguments": [{"uri": uri, "nodeid": nodeid}]}),
    )
}

/// Waits for a message containing `needle` (notifications may arrive
/// after the command's answer).
fn shown(c: &mut LspClient, from: usize, needle: &str) -> bool {
    c.wait_for(from, needle, |m| {
        m["method"] == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .is_some_and(|t| t.contains(needle))
    });
    true
}

#[test]
fn fix_failing_test_applies_through_the_editor_and_reports_code_bugs() {
    let p = common::copy_to_temp(&common::fixture("fixer"));
    let py = common::python();
    // Results to show (the suite fails: exit 1 is expected).
    let out = common::testgen(&[
        "test",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The module-level import error keeps pytest from running the rest:
    // fix it from the command line first, then measure the whole suite.
    let out = common::testgen(&[
        "fix",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
        "--test",
        "tests/test_text.py",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = common::testgen(&[
        "test",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));

    let broken = p.path().join("tests/test_broken.py");
    let before = std::fs::read_to_string(&broken).unwrap();
    let mut c = LspClient::start();
    c.config = json!({"python": py, "debounceMs": 50});
    c.initialize(p.path(), json!({}));
    let uri = c.open_file(&broken);
    let diags = c.diagnostics(0, &uri, |d| failing(d, "test_total_of_sample").is_some());
    let d = failing(&diags, "test_total_of_sample").unwrap().clone();

    // The action says that only deterministic fixes are offered.
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": d["range"], "context": {"diagnostics": [d]}}),
        )
        .unwrap();
    let action = actions
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Fix failing test test_total_of_sample")
        })
        .unwrap_or_else(|| panic!("{actions:#}"))
        .clone();
    assert!(
        action["title"]
            .as_str()
            .unwrap()
            .contains("deterministic fixes only: no LLM configured"),
        "{action:#}"
    );
    let cmd = &action["command"];
    assert_eq!(cmd["command"], "testgen.fixTest");

    // Run it: the edit lands in the open buffer, only the test's function changed.
    let from = c.seen.len();
    let answer = c
        .request(
            "workspace/executeCommand",
            json!({"command": cmd["command"], "arguments": cmd["arguments"]}),
        )
        .expect("the fix");
    assert_eq!(answer["outcome"], "fixed", "{answer:#}");
    assert_eq!(answer["applied"], "editor", "{answer:#}");
    assert_eq!(
        answer["record"]["attempts"][0]["by"],
        "rule:missing_fixture"
    );
    let buffer = c.editor.docs[&uri].text.clone();
    assert_eq!(
        buffer,
        before
            .replace(
                "def test_total_of_sample(sample_item):",
                "def test_total_of_sample(sample_items):"
            )
            .replace(
                "assert total(sample_item) == 13.5",
                "assert total(sample_items) == 13.5"
            )
    );
    assert_eq!(
        std::fs::read_to_string(&broken).unwrap(),
        before,
        "not saved yet"
    );
    assert!(shown(&mut c, from, "not saved yet"));
    // Saved: the test runs again and its diagnostic clears.
    let from = c.seen.len();
    c.save(&uri).unwrap();
    let diags = c.diagnostics(from, &uri, |d| {
        failing(d, "test_total_of_sample").is_none() && failing(d, "test_add_tax").is_some()
    });
    assert!(failing(&diags, "test_last_price").is_some(), "{diags:#?}");

    // A code bug: nothing applied, the buffer stays, the source line is marked.
    let from = c.seen.len();
    let answer =
        fix_test(&mut c, &uri, "tests/test_broken.py::test_last_price").expect("an answer");
    assert_eq!(answer["outcome"], "code_bug", "{answer:#}");
    assert_eq!(answer["applied"], "nothing");
    assert_eq!(
        answer["suspected_bugs"][0]["target"],
        "shop/pricing.py::last_price"
    );
    assert!(shown(&mut c, from, "exposes a suspected bug"));
    let saved = c.editor.docs[&uri].text.clone();
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), saved);
    let pricing = p.path().join("shop/pricing.py");
    let puri = c.open_file(&pricing);
    let diags = c.diagnostics(from, &puri, |d| {
        d.iter().any(|d| d["code"] == "suspected-bug")
    });
    let bug = diags.iter().find(|d| d["code"] == "suspected-bug").unwrap();
    assert_eq!(bug["range"]["start"]["line"], 16, "{bug:#}");
    assert_eq!(bug["severity"], 2);
    let m = bug["message"].as_str().unwrap();
    assert!(
        m.contains("IndexError") && m.contains("last_price([('pen', 1.5), ('book', 12.0)])"),
        "{m}"
    );

    // A wrong expected value needs the LLM: said so, nothing changed.
    let from = c.seen.len();
    let answer = fix_test(&mut c, &uri, "tests/test_broken.py::test_add_tax").expect("an answer");
    assert_eq!(answer["outcome"], "needs_model", "{answer:#}");
    assert!(shown(&mut c, from, "no LLM is configured"));
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), saved);
    assert!(c.editor.unsaved().is_empty());

    // A test module nobody has open: written to disk, run again.
    std::fs::write(
        p.path().join("tests/test_more.py"),
        "def test_status(client):\n    assert client.post('/items', json={}).status_code == 400\n",
    )
    .unwrap();
    let more = p.path().join("tests/test_more.py");
    let answer =
        fix_test(&mut c, &file_uri(&more), "tests/test_more.py::test_status").expect("an answer");
    assert_eq!(answer["outcome"], "fixed", "{answer:#}");
    assert_eq!(answer["applied"], "disk", "{answer:#}");
    assert_eq!(answer["rerun"], "passed", "{answer:#}");
    assert!(std::fs::read_to_string(&more).unwrap().contains("== 422"));
    assert!(c.shutdown().success());
}
