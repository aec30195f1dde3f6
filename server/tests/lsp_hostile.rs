//! The language server under hostile input, in a real stdio session (the
//! server half of case 10 of the hostile-project issue): deeply nested
//! code, a 100 MB didOpen, `$/` requests, a URI that climbs out of the
//! workspace, and `exit` without `shutdown`. Before the change it aborted
//! on the first two, never answered the third, answered the fourth with an
//! empty success and exited 0 on the last.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use std::time::{Duration, Instant};

use lsp_client::{file_uri, LspClient};
use serde_json::{json, Value};

fn started() -> (tempfile::TempDir, LspClient) {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let mut c = LspClient::start_quiet();
    c.config = json!({"python": common::python().to_str().unwrap()});
    c.initialize(p.path(), json!({}));
    (p, c)
}

fn open(c: &mut LspClient, uri: &str, text: &str) {
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
}

/// The server still answers a request about a normal document.
fn still_serving(c: &mut LspClient, p: &std::path::Path) {
    assert!(c.is_running(), "the server ended");
    let uri = file_uri(&p.join("plainlib/text.py"));
    let text = std::fs::read_to_string(p.join("plainlib/text.py")).unwrap();
    open(c, &uri, &text);
    let lenses = c.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    );
    assert!(
        lenses.is_ok_and(|l| l.is_array()),
        "no answer after the hostile input"
    );
}

#[test]
fn deeply_nested_code_and_a_huge_document_do_not_end_the_server() {
    let (p, mut c) = started();
    let deep = p.path().join("plainlib/deep.py");
    let text = format!("x = {}{}\n", "[".repeat(150_000), "]".repeat(150_000));
    std::fs::write(&deep, &text).unwrap();
    let uri = file_uri(&deep);
    open(&mut c, &uri, &text);
    // Answered (lenses or an error), not an abort.
    let _ = c.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    );
    still_serving(&mut c, p.path());

    // 100 MB in one didOpen: refused with an error and a message the
    // user sees, and the stream goes on.
    let from = c.seen.len();
    let huge = json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
        "textDocument": {"uri": file_uri(&p.path().join("plainlib/huge.py")),
                         "languageId": "python", "version": 1,
                         "text": "#".repeat(100 << 20)}}});
    c.send_raw(huge.to_string().as_bytes());
    let shown = c.wait_for(from, "a message saying the document was refused", |m| {
        m["method"] == "window/showMessage"
            && m["params"]["message"]
                .as_str()
                .unwrap_or("")
                .contains("was refused")
    });
    assert!(
        shown["params"]["message"]
            .as_str()
            .unwrap()
            .contains("--max-message-mb"),
        "{shown}"
    );
    still_serving(&mut c, p.path());
    assert!(c.shutdown().success());
}

#[test]
fn dollar_requests_get_method_not_found() {
    let (p, mut c) = started();
    let err = c
        .request("$/testgen/unknown", json!({}))
        .expect_err("a $/ request is answered with an error");
    assert_eq!(err["code"], -32601, "{err}");
    still_serving(&mut c, p.path());
    assert!(c.shutdown().success());
}

#[test]
fn a_uri_that_climbs_out_of_the_workspace_is_an_error() {
    let (p, mut c) = started();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("outside.py"),
        "def f():\n    return 1\n",
    )
    .unwrap();
    // <workspace>/../<other dir>/outside.py, written as the client sent it.
    let uri = format!(
        "{}/../{}/outside.py",
        file_uri(p.path()),
        outside.path().file_name().unwrap().to_str().unwrap()
    );
    let outside_parent = outside.path().parent().unwrap();
    assert_eq!(
        outside_parent,
        p.path().parent().unwrap(),
        "both in the temp dir"
    );
    let err: Value = c
        .request(
            "workspace/executeCommand",
            json!({"command": "testgen.generateTests", "arguments": [{"uri": uri, "qualname": "f"}]}),
        )
        .expect_err("a file outside the workspace is refused");
    assert!(
        err["message"].as_str().unwrap_or("").contains("outside"),
        "{err}"
    );
    assert!(
        !outside.path().join("tests").exists(),
        "nothing written beside the outside file"
    );
    still_serving(&mut c, p.path());
    assert!(c.shutdown().success());
}

#[test]
fn exit_without_shutdown_exits_1() {
    let (_p, mut c) = started();
    c.notify("exit", Value::Null);
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = c.try_status() {
            break s;
        }
        assert!(Instant::now() < deadline, "no exit after `exit`");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(1), "the spec says 1 without shutdown");
}
