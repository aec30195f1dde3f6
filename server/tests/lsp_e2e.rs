//! The language server end to end, driven over stdio like an editor: real
//! binary, real fixture, real pytest and coverage.py.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use lsp_client::{file_uri, LspClient};
use serde_json::{json, Value};

fn python_setting() -> Value {
    json!({"python": common::python(), "debounceMs": 50})
}

/// A copy of plainlib with coverage, results and contexts from a real run.
fn codes(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .map(|d| d["code"].as_str().unwrap().to_string())
        .collect()
}

fn find<'a>(diags: &'a [Value], code: &str, needle: &str) -> Option<&'a Value> {
    diags
        .iter()
        .find(|d| d["code"] == code && d["message"].as_str().unwrap().contains(needle))
}

/// The 0-based line of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u64
}

#[test]
fn editor_session_diagnostics_lenses_actions_edits_and_run_on_save() {
    let p = common::measured_copy("plainlib");
    let pricing = p.path().join("plainlib/pricing.py");
    let test_file = p.path().join("tests/test_pricing.py");
    let mut c = LspClient::start();
    c.config = python_setting();
    let init = c.initialize(p.path(), json!({}));
    assert_eq!(
        init["capabilities"]["codeLensProvider"]["resolveProvider"],
        true
    );
    assert_eq!(init["capabilities"]["positionEncoding"], "utf-16");

    // Indexing reports progress and ends.
    c.wait_for(0, "indexing progress end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });

    let uri = c.open_file(&pricing);
    let text = std::fs::read_to_string(&pricing).unwrap();
    let diags = c.diagnostics(0, &uri, |d| !d.is_empty());
    let bulk =
        find(&diags, "uncovered-function", "bulk_price").unwrap_or_else(|| panic!("{diags:#?}"));
    assert_eq!(bulk["source"], "testgen");
    assert_eq!(bulk["severity"], 3, "Information by default");
    let def_line = line_of(&text, "def bulk_price(");
    assert_eq!(bulk["range"]["start"]["line"], def_line);
    assert_eq!(bulk["range"]["start"]["character"], 4, "on the name");
    assert_eq!(bulk["range"]["end"]["character"], 14);
    // The partly covered apply_discount names its uncovered lines.
    let partial =
        find(&diags, "partially-covered", "apply_discount").unwrap_or_else(|| panic!("{diags:#?}"));
    let missing_line = line_of(&text, "percent must be between") + 1;
    assert!(
        partial["message"]
            .as_str()
            .unwrap()
            .contains(&missing_line.to_string()),
        "{partial}"
    );
    assert_eq!(partial["severity"], 4);

    // Code lenses, resolved into commands.
    let lenses = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    let lenses = lenses.as_array().unwrap();
    assert!(!lenses.is_empty());
    let mut titles = Vec::new();
    for l in lenses {
        let r = c.request("codeLens/resolve", l.clone()).unwrap();
        titles.push(r["command"]["title"].as_str().unwrap().to_string());
    }
    assert!(
        titles.iter().any(|t| t == "not covered · Generate tests"),
        "{titles:?}"
    );
    assert!(
        titles
            .iter()
            .any(|t| t.ends_with("% covered · 2 tests") || t.ends_with("% covered · 1 test")),
        "{titles:?}"
    );

    // Code actions on the diagnostic, and the file's source action.
    let actions = c
        .request(
            "textDocument/codeAction",
            json!({"textDocument": {"uri": uri}, "range": bulk["range"],
                   "context": {"diagnostics": [bulk]}}),
        )
        .unwrap();
    let titles: Vec<&str> = actions
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["title"].as_str().unwrap())
        .collect();
    assert!(
        titles.contains(&"Generate tests for bulk_price"),
        "{titles:?}"
    );
    assert!(titles.contains(&"Generate tests for uncovered code in this file"));
    let gen = &actions.as_array().unwrap()[0]["command"];
    assert_eq!(gen["command"], "testgen.generateTests");
    assert_eq!(
        gen["arguments"][0],
        json!({"uri": uri, "qualname": "bulk_price"})
    );
    let err = c
        .request(
            "workspace/executeCommand",
            json!({"command": "testgen.fixTest",
                   "arguments": [{"uri": uri, "nodeid": "tests/test_pricing.py::test_x"}]}),
        )
        .unwrap_err();
    // A test that does not exist: one clear error, the server keeps serving.
    let m = err["message"].as_str().unwrap();
    assert!(
        m.contains("cannot fix tests/test_pricing.py::test_x")
            && m.contains("pytest could not run"),
        "{err}"
    );

    // Typing three lines above moves the diagnostics with the text.
    let from = c.seen.len();
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 2},
               "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                             "end": {"line": 0, "character": 0}},
                                   "text": "# a\n# b\n# c\n"}]}),
    );
    let moved = c.diagnostics(from, &uri, |d| {
        find(d, "uncovered-function", "bulk_price")
            .is_some_and(|b| b["range"]["start"]["line"] == def_line + 3)
    });
    assert_eq!(moved.len(), diags.len());
    // Editing the def line itself withdraws what was measured there.
    let from = c.seen.len();
    let new_def = def_line + 3;
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 3},
               "contentChanges": [{"range": {"start": {"line": new_def, "character": 4},
                                             "end": {"line": new_def, "character": 14}},
                                   "text": "bulk_total"}]}),
    );
    c.diagnostics(from, &uri, |d| {
        find(d, "uncovered-function", "bulk_price").is_none()
    });
    // Undo both edits (as the editor would, then save the original text).
    let from = c.seen.len();
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 4}, "contentChanges": [{"text": text}]}),
    );
    c.diagnostics(from, &uri, |d| {
        find(d, "uncovered-function", "bulk_price")
            .is_some_and(|b| b["range"]["start"]["line"] == def_line)
    });

    // Break apply_discount, save: the failing test shows up on its name.
    let test_uri = file_uri(&test_file);
    let broken = text.replace("percent / 100), 2)", "percent / 50), 2)");
    assert_ne!(broken, text);
    std::fs::write(&pricing, &broken).unwrap();
    let from = c.seen.len();
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 5}, "contentChanges": [{"text": broken}]}),
    );
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    let failing = c.diagnostics(from, &test_uri, |d| {
        codes(d).contains(&"failing-test".to_string())
    });
    let f = &failing[0];
    assert_eq!(f["severity"], 1);
    let test_text = std::fs::read_to_string(&test_file).unwrap();
    assert_eq!(
        f["range"]["start"]["line"],
        line_of(&test_text, "def test_discount():")
    );
    assert!(
        f["message"].as_str().unwrap().contains("test_discount"),
        "{f}"
    );
    let related = &f["relatedInformation"][0];
    assert_eq!(
        related["location"]["range"]["start"]["line"],
        line_of(&test_text, "== 85.0")
    );
    // The run had progress, and lenses were refreshed.
    c.wait_for(from, "codeLens/refresh", |m| {
        m["method"] == "workspace/codeLens/refresh"
    });

    // Fix it, save: the diagnostic clears.
    std::fs::write(&pricing, &text).unwrap();
    let from = c.seen.len();
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 6}, "contentChanges": [{"text": text}]}),
    );
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    c.diagnostics(from, &test_uri, |d| {
        !codes(d).contains(&"failing-test".to_string())
    });

    let status = c.shutdown();
    assert!(status.success());
}

fn generate(c: &mut LspClient, uri: &str, qualname: &str) -> Result<Value, Value> {
    c.request(
        "workspace/executeCommand",
        json!({"command": "testgen.generateTests",
               "arguments": [{"uri": uri, "qualname": qualname}]}),
    )
}

/// "Generate tests" as an editor sees it: a test file nobody has open goes
/// to disk (editors would leave it in an unsaved buffer: the client model
/// applies edits as Neovim 0.11 does, which skipped the old CreateFile
/// {ignoreIfExists} and then had no directory to save into), the server
/// measures again, and a test file open in the editor is edited in its
/// buffer, for the user to save.
#[test]
fn generated_tests_reach_the_disk_or_the_open_buffer() {
    let p = common::measured_copy("plainlib");
    let pricing = p.path().join("plainlib/pricing.py");
    let generated = p.path().join("tests/generated/test_plainlib_pricing.py");
    let mut c = LspClient::start();
    c.config = python_setting();
    c.initialize(p.path(), json!({}));
    let uri = c.open_file(&pricing);
    c.diagnostics(0, &uri, |d| {
        find(d, "uncovered-function", "bulk_price").is_some()
    });

    // A new file: on disk, complete, passing; nothing left unsaved.
    let from = c.seen.len();
    let report = generate(&mut c, &uri, "bulk_price").expect("a report");
    let text = std::fs::read_to_string(&generated).unwrap_or_else(|e| {
        panic!(
            "the generated file is not on disk ({e}); unsaved buffers: {:?}; report: {report:#}",
            c.editor.unsaved()
        )
    });
    assert_eq!(report["applied"], "disk", "{report:#}");
    // The progress counted the functions as the CLI's progress lines do.
    c.pump(std::time::Duration::from_millis(300));
    let counted = c.seen[from..].iter().any(|m| {
        m["method"] == "$/progress"
            && m["params"]["value"]["kind"] == "report"
            && m["params"]["value"]["percentage"] == 100
            && m["params"]["value"]["message"]
                .as_str()
                .is_some_and(|t| t.contains("1/1 functions tried"))
    });
    assert!(counted, "{:#?}", &c.seen[from..]);
    let written = report["written"].as_array().unwrap();
    assert!(
        written.contains(&json!("tests/generated/test_plainlib_pricing.py")),
        "{report:#}"
    );
    assert_eq!(report["in_editor"], json!([]));
    assert_eq!(report["unsaved"], json!([]));
    assert!(text.starts_with("# Generated by testgen"), "{text}");
    assert!(text.contains("bulk_price("), "{text}");
    assert!(c.editor.unsaved().is_empty(), "{:?}", c.editor.unsaved());
    let out = common::pytest(p.path(), &["tests/generated"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // The server measured again: bulk_price is covered now.
    c.diagnostics(from, &uri, |d| {
        find(d, "uncovered-function", "bulk_price").is_none()
            && find(d, "uncovered-function", "price_label").is_some()
    });

    // The test file open in the editor: the new tests go into its buffer.
    let gen_uri = c.open_file(&generated);
    let report = generate(&mut c, &uri, "price_label").expect("a report");
    assert_eq!(report["applied"], "editor", "{report:#}");
    assert_eq!(
        report["in_editor"],
        json!(["tests/generated/test_plainlib_pricing.py"])
    );
    assert_eq!(report["unsaved"], report["in_editor"]);
    assert_eq!(c.editor.unsaved(), std::slice::from_ref(&gen_uri));
    let buffer = c.editor.docs[&gen_uri].text.clone();
    assert!(buffer.contains("bulk_price(") && buffer.contains("price_label("));
    assert_eq!(std::fs::read_to_string(&generated).unwrap(), text);
    c.save_all().expect(":wall");
    assert_eq!(std::fs::read_to_string(&generated).unwrap(), buffer);
    let out = common::pytest(p.path(), &["tests/generated"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // Unsaved text in the target buffer: the server refuses to write over
    // it, says why, and keeps serving.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": gen_uri, "version": 100},
               "contentChanges": [{"text": "# my draft\n"}]}),
    );
    let err = generate(&mut c, &uri, "fetch_exchange_rate").unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("unsaved changes"),
        "{err}"
    );

    // Lua's `arguments = { {} }` arrives as [[]]: "no arguments".
    let run = c
        .request(
            "workspace/executeCommand",
            json!({"command": "testgen.runTests", "arguments": [[]]}),
        )
        .expect("runTests with [[]]");
    assert!(run["counts"].is_object(), "{run:#}");
    assert!(c.shutdown().success());
}

#[test]
fn the_client_model_applies_ranges_like_an_editor() {
    use lsp_client::editor_model::{apply_one, uri_path};
    let r = |l1, c1, l2, c2| json!({"start": {"line": l1, "character": c1}, "end": {"line": l2, "character": c2}});
    // UTF-16 columns; a range past the end clamps to it.
    assert_eq!(apply_one("a€b\nc", &r(0, 2, 0, 3), "X"), "a€X\nc");
    assert_eq!(apply_one("ab\n", &r(0, 0, 5, 0), "new"), "new");
    assert_eq!(apply_one("", &r(0, 0, 0, 0), "t\n"), "t\n");
    assert_eq!(
        uri_path("file:///tmp/a%20b.py"),
        std::path::PathBuf::from("/tmp/a b.py")
    );
}

#[test]
fn bad_messages_get_json_rpc_errors_and_the_server_keeps_running() {
    let p = common::measured_copy("plainlib");
    let mut c = LspClient::start();
    c.config = python_setting();
    c.initialize(p.path(), json!({}));

    // A body that is not JSON gets a parse error.
    let from = c.seen.len();
    c.send_raw(b"{this is not json");
    c.wait_for(from, "a parse error", |m| m["error"]["code"] == -32700);
    // Valid JSON that is no JSON-RPC message: invalid request.
    c.send_raw(br#"{"jsonrpc": "2.0", "id": 99}"#);
    c.wait_for(from, "an invalid request error", |m| {
        m["error"]["code"] == -32600 && m["id"] == 99
    });
    // An unknown request method.
    let err = c.request("testgen/noSuchMethod", json!({})).unwrap_err();
    assert_eq!(err["code"], -32601, "{err}");
    // Lenses for a document that was never opened.
    let unopened = file_uri(&p.path().join("plainlib/text.py"));
    let err = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": unopened}}),
        )
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    assert!(err["message"].as_str().unwrap().contains("not open"));
    // A URI that is not a file.
    let err = c
        .request(
            "textDocument/codeAction",
            json!({
            "textDocument": {"uri": "untitled:Untitled-1"},
            "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
            "context": {"diagnostics": []}}),
        )
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    // Params of the wrong shape.
    let err = c
        .request("textDocument/codeLens", json!({"textDocument": 42}))
        .unwrap_err();
    assert_eq!(err["code"], -32602, "{err}");
    // An unknown command.
    let err = c
        .request(
            "workspace/executeCommand",
            json!({"command": "testgen.nope", "arguments": []}),
        )
        .unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("testgen.nope"));

    // Still serving.
    assert!(c.is_running());
    let uri = c.open_file(&p.path().join("plainlib/text.py"));
    let lenses = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert!(lenses.is_array());
    assert!(c.shutdown().success());
}

#[test]
fn a_burst_of_edits_is_applied_in_order() {
    let p = common::measured_copy("plainlib");
    let pricing = p.path().join("plainlib/pricing.py");
    let text = std::fs::read_to_string(&pricing).unwrap();
    let def_line = line_of(&text, "def bulk_price(");
    let mut c = LspClient::start();
    c.config = json!({"python": common::python(), "runOnSave": false});
    c.initialize(p.path(), json!({}));
    let uri = c.open_file(&pricing);
    c.diagnostics(0, &uri, |d| !d.is_empty());
    let from = c.seen.len();
    for v in 2..=61 {
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                                 "end": {"line": 0, "character": 0}},
                                       "text": format!("# {v}\n")}]}),
        );
    }
    // A stale version (older than what the server has) must be ignored.
    c.notify(
        "textDocument/didChange",
        json!({"textDocument": {"uri": uri, "version": 30},
               "contentChanges": [{"text": "garbage\n"}]}),
    );
    let diags = c.diagnostics(from, &uri, |d| {
        find(d, "uncovered-function", "bulk_price")
            .is_some_and(|b| b["range"]["start"]["line"] == def_line + 60)
    });
    assert!(!diags.is_empty());
    let lenses = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert!(lenses
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["range"]["start"]["line"] == def_line + 60));
    assert!(c.shutdown().success());
}

#[test]
fn a_missing_interpreter_is_shown_and_the_server_keeps_serving() {
    let p = common::measured_copy("plainlib");
    let mut c = LspClient::start();
    c.config = json!({"python": "/no/such/python3", "debounceMs": 10});
    c.initialize(p.path(), json!({}));
    let pricing = p.path().join("plainlib/pricing.py");
    let uri = c.open_file(&pricing);
    let from = c.seen.len();
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    let msg = c.wait_for(from, "an error message", |m| {
        m["method"] == "window/showMessage" && m["params"]["type"] == 1
    });
    assert!(
        msg["params"]["message"]
            .as_str()
            .unwrap()
            .contains("/no/such/python3"),
        "{msg}"
    );
    let lenses = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert!(!lenses.as_array().unwrap().is_empty());
    assert!(c.shutdown().success());
}

#[test]
fn coverage_written_outside_the_editor_is_picked_up() {
    // No coverage yet: nothing to show.
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let pricing = p.path().join("plainlib/pricing.py");
    let mut c = LspClient::start();
    c.config = json!({"python": common::python(), "runOnSave": false});
    c.initialize(p.path(), json!({}));
    let uri = c.open_file(&pricing);
    let from = c.seen.len();
    let lenses = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert!(lenses.as_array().unwrap().is_empty());
    // A terminal run writes .testgen/coverage.xml and the results.
    let py = common::python();
    let out = common::testgen(&[
        "test",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert!(out.status.success());
    c.diagnostics(from, &uri, |d| {
        find(d, "uncovered-function", "bulk_price").is_some()
    });
    c.wait_for(from, "codeLens/refresh", |m| {
        m["method"] == "workspace/codeLens/refresh"
    });
    let lenses = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert!(!lenses.as_array().unwrap().is_empty());
    assert!(c.shutdown().success());
}

#[test]
fn reading_workspace_files_is_not_a_change() {
    // The watcher sees opens and reads too (inotify IN_OPEN); the server
    // reads files to publish their diagnostics, which used to be taken for
    // changes: every file was re-indexed and re-published, forever.
    let p = common::measured_copy("plainlib");
    let mut c = LspClient::start();
    c.config = json!({"python": common::python(), "runOnSave": false});
    c.initialize(p.path(), json!({}));
    c.wait_for(0, "indexing progress end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    let published = |c: &LspClient| {
        c.seen
            .iter()
            .filter(|m| m["method"] == "textDocument/publishDiagnostics")
            .count()
    };
    // The publication that follows indexing, then quiet.
    c.pump(std::time::Duration::from_millis(1500));
    let after_start = published(&c);
    assert!(after_start > 0, "no diagnostics after indexing");
    // Someone (grep, an editor, the server itself) reads every file.
    for f in [
        "plainlib/pricing.py",
        "plainlib/inventory.py",
        "plainlib/text.py",
    ] {
        std::fs::read(p.path().join(f)).unwrap();
    }
    c.pump(std::time::Duration::from_millis(1500));
    assert_eq!(
        published(&c),
        after_start,
        "diagnostics re-published although nothing changed"
    );
    assert!(c.shutdown().success());
}

#[test]
fn a_newer_save_cancels_the_run_in_flight() {
    // A suite that takes long: the first run must be killed by the second save.
    let p = tempfile::tempdir().unwrap();
    let marker = p.path().join("runs.log");
    std::fs::write(p.path().join("mod.py"), "def f():\n    return 1\n").unwrap();
    std::fs::write(
        p.path().join("test_slow.py"),
        format!(
            "import os, time\nfrom mod import f\n\ndef test_slow():\n    with open({m:?}, 'a') as fh:\n        fh.write(f'start {{os.getpid()}}\\n')\n    time.sleep(30)\n    assert f() == 1\n",
            m = marker.to_str().unwrap()
        ),
    )
    .unwrap();
    let mut c = LspClient::start();
    c.config = json!({"python": common::python(), "debounceMs": 10});
    c.initialize(p.path(), json!({}));
    // Keep answering the server's requests (configuration, progress) until
    // it has indexed, as an editor's event loop would.
    c.wait_for(0, "indexing progress end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    let uri = c.open_file(&p.path().join("mod.py"));
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    // Wait until the first pytest is inside the slow test.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !std::fs::read_to_string(&marker).is_ok_and(|t| t.contains("start")) {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never started"
        );
        c.pump(std::time::Duration::from_millis(100));
    }
    let first_pid: u32 = std::fs::read_to_string(&marker)
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    c.notify(
        "textDocument/didSave",
        json!({"textDocument": {"uri": uri}}),
    );
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::path::Path::new(&format!("/proc/{first_pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{first_pid}/stat"))
            .is_ok_and(|s| s.contains(") Z "))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the run in flight was not killed"
        );
        c.pump(std::time::Duration::from_millis(100));
    }
    // The second run starts (a second "start" line) while requests are still answered.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::fs::read_to_string(&marker).unwrap().lines().count() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the second run never started"
        );
        c.pump(std::time::Duration::from_millis(100));
    }
    let lenses = c
        .request(
            "textDocument/codeLens",
            json!({"textDocument": {"uri": uri}}),
        )
        .unwrap();
    assert!(lenses.is_array());
    assert!(c.shutdown().success());
}
