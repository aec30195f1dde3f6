//! Cancelling long work from the editor, over a real stdio session: a
//! generation over a module of many slow functions (the explore harness
//! busy for minutes) is stopped by the progress's cancel button
//! (`window/workDoneProgress/cancel`) and by `$/cancelRequest`, each within
//! 2 s: no harness or pytest process of the server is left, nothing is
//! written (no `workspace/applyEdit`, no tests/generated file) and the
//! coverage view is left as it was (no `testgen/coverageChanged`, the
//! measured files untouched).

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use std::path::Path;
use std::time::{Duration, Instant};

use lsp_client::LspClient;
use serde_json::{json, Value};

/// Cancel to silence: the acceptance limit.
const LIMIT: Duration = Duration::from_secs(2);
/// Live (not zombie) processes descending from `pid`, with their command
/// lines, from /proc.
fn descendants(pid: u32) -> Vec<(u32, String)> {
    let mut parent = std::collections::HashMap::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parens.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut fields = after.split_whitespace();
        let state = fields.next().unwrap_or("");
        let ppid: u32 = fields.next().and_then(|f| f.parse().ok()).unwrap_or(0);
        if state != "Z" {
            parent.insert(p, ppid);
        }
    }
    let cmdline = |p: u32| std::fs::read(format!("/proc/{p}/cmdline")).unwrap_or_default();
    // testgen's reaper (runner/reaper.rs) is a fork of the server without
    // exec, alive as long as the server: the one child with its command line.
    let server = cmdline(pid);
    let mut out = Vec::new();
    for (&p, _) in parent.iter() {
        let mut cur = p;
        while let Some(&pp) = parent.get(&cur) {
            if pp == pid {
                let cmd = cmdline(p);
                if !(cur == p && cmd == server) {
                    out.push((p, String::from_utf8_lossy(&cmd).replace('\0', " ")));
                }
                break;
            }
            cur = pp;
        }
    }
    out
}

/// The measured files the coverage view is built from.
fn measured(root: &Path) -> Vec<(String, Option<Vec<u8>>)> {
    ["coverage.xml", "test-results.json", "contexts.json"]
        .iter()
        .map(|f| {
            (
                f.to_string(),
                std::fs::read(root.join(".testgen").join(f)).ok(),
            )
        })
        .collect()
}

fn generated_files(root: &Path) -> Vec<String> {
    std::fs::read_dir(root.join("tests/generated"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

enum Cancel {
    /// The editor's cancel button on the progress.
    Progress,
    /// The client gives up the request.
    Request,
}

fn cancels_generation(how: Cancel) {
    let p = common::slow_project();
    let root = p.path();
    let before = measured(root);
    assert!(before[0].1.is_some(), "the project was measured");
    let mut c = LspClient::start();
    c.config = json!({"python": common::python()});
    c.initialize(root, json!({}));
    c.wait_for(0, "indexing progress end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    let uri = c.open_file(&root.join("slowlib/work.py"));
    let from = c.seen.len();
    let id = c.send_request(
        "workspace/executeCommand",
        json!({"command": "testgen.generateTests", "arguments": [{"uri": uri}]}),
    );
    let begin = c.wait_for(from, "the generation's progress", |m| {
        m["method"] == "$/progress"
            && m["params"]["value"]["kind"] == "begin"
            && m["params"]["value"]["title"]
                .as_str()
                .is_some_and(|t| t.contains("generating tests"))
    });
    assert_eq!(
        begin["params"]["value"]["cancellable"], true,
        "the editor shows a cancel button: {begin}"
    );
    let token = begin["params"]["token"].clone();
    // Wait until the harness explores (a process of the server naming the
    // project), then let it work a moment: cancel must stop it mid-target.
    let server = c.pid();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !descendants(server)
        .iter()
        .any(|(_, cmd)| cmd.contains("--seed") && cmd.contains(root.to_str().unwrap()))
    {
        assert!(Instant::now() < deadline, "the harness never started");
        c.pump(Duration::from_millis(100));
    }
    c.pump(Duration::from_millis(1500));
    assert!(
        !descendants(server).is_empty(),
        "the generation is still running before the cancel"
    );
    let at_cancel = c.seen.len();
    let cancelled_at = Instant::now();
    match how {
        Cancel::Progress => c.notify("window/workDoneProgress/cancel", json!({"token": token})),
        Cancel::Request => c.notify("$/cancelRequest", json!({"id": id})),
    }
    // The request is answered as cancelled: RequestCancelled when the
    // client gave it up, a result saying so when the user pressed cancel
    // (the client still waits for it)...
    let answer = c.response(id);
    match how {
        Cancel::Progress => {
            let r = answer.expect("the command's answer");
            assert_eq!(r["cancelled"], true, "{r}");
            assert_eq!(r["applied"], "nothing", "{r}");
        }
        Cancel::Request => {
            let err = answer.expect_err("a cancelled request is not a success");
            assert_eq!(err["code"], -32800, "RequestCancelled: {err}");
        }
    }
    // ...and every process of the generation is gone within the limit.
    loop {
        let left = descendants(server);
        let orphans = common::processes_naming(root, server);
        if left.is_empty() && orphans.is_empty() {
            break;
        }
        assert!(
            cancelled_at.elapsed() < LIMIT,
            "still running {:?} after cancel: {left:?} {orphans:?}",
            cancelled_at.elapsed()
        );
        c.pump(Duration::from_millis(20));
    }
    let stopped = cancelled_at.elapsed();
    eprintln!("generation stopped {stopped:?} after the cancel");
    // Nothing comes later: no edit, no file, no coverage change.
    c.pump(Duration::from_secs(3));
    let after: Vec<&Value> = c.seen[at_cancel..].iter().collect();
    for m in &after {
        assert_ne!(
            m["method"], "workspace/applyEdit",
            "an edit after cancel: {m}"
        );
        assert_ne!(
            m["method"], "testgen/coverageChanged",
            "the coverage view changed after cancel: {m}"
        );
    }
    assert!(
        after.iter().any(|m| m["method"] == "$/progress"
            && m["params"]["token"] == token
            && m["params"]["value"]["kind"] == "end"),
        "the progress ends: {after:#?}"
    );
    assert_eq!(
        generated_files(root),
        Vec::<String>::new(),
        "nothing written"
    );
    assert!(measured(root) == before, "the measured files are unchanged");
    // The server goes on serving.
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
fn the_progress_cancel_button_stops_a_generation() {
    cancels_generation(Cancel::Progress);
}

#[test]
fn cancel_request_stops_a_generation() {
    cancels_generation(Cancel::Request);
}
