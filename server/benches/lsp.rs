//! Language-server latency on a large workspace: Django's source (sdist from
//! PyPI) plus a synthetic coverage.xml and a 2,000-line module, driven over
//! stdio by the same client the end-to-end tests use.
//!
//!     cargo bench --bench lsp            # downloads Django once into target/bench-cache/
//!     DJANGO_SRC=/path/to/django cargo bench --bench lsp
//!
//! The corpus and the coverage report come from `common/` (shared with the
//! other benches and bench/bench.sh). Figures: docs/performance.md.
//!
//! Prints: initial index time (initialize → indexing progress end, with
//! coverage loaded), how long the diagnostics burst after it lasts, then,
//! with the server quiet, codeLens p50/p99 on the 2,000-line file (1,000
//! requests) and didChange → refreshed diagnostics p50/p99 (500 edits).

mod common;
#[path = "../tests/common/lsp_client.rs"]
mod lsp_client;

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_client::{file_uri, LspClient};
use serde_json::json;

fn main() {
    if !common::run_by_cargo_bench() {
        return;
    }
    let src = common::django_source();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("ws");
    copy_dir(&src, &root);
    let big = root.join("django/big_module.py");
    std::fs::write(&big, big_module()).unwrap();
    let files = common::write_coverage(&root, &root.join("coverage.xml"));
    println!(
        "workspace: {} ({} Python files in coverage.xml)",
        root.display(),
        files
    );

    let mut c = LspClient::start_quiet();
    c.config = json!({"runOnSave": false});
    let t = Instant::now();
    c.initialize(&root, json!({}));
    c.wait_for(0, "indexing end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    let index_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("lsp_initial_index_ms={index_ms:.0}");
    // After the progress ends the server still starts its file watcher and
    // publishes diagnostics for every file with coverage (~2,800 here).
    // Requests sent meanwhile wait behind that burst: measure how long it
    // lasts, and measure latencies only once the server is quiet, as an
    // editor's steady state is.
    let t = Instant::now();
    loop {
        let before = c.seen.len();
        c.pump(Duration::from_millis(300));
        if c.seen.len() == before {
            break;
        }
    }
    let settle_ms = t.elapsed().as_secs_f64() * 1e3 - 300.0;
    let published = c
        .seen
        .iter()
        .filter(|m| m["method"] == "textDocument/publishDiagnostics")
        .count();
    println!("lsp_post_index_publish_ms={settle_ms:.0} ({published} files' diagnostics published)");

    let uri = file_uri(&big);
    let text = std::fs::read_to_string(&big).unwrap();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
    c.diagnostics(0, &uri, |d| !d.is_empty());

    let mut lens = Vec::new();
    for _ in 0..1000 {
        let t = Instant::now();
        let r = c
            .request(
                "textDocument/codeLens",
                json!({"textDocument": {"uri": uri}}),
            )
            .unwrap();
        lens.push(t.elapsed());
        assert!(r.as_array().unwrap().len() >= 100);
    }
    common::report("codelens_2000_lines", &mut lens);

    let mut change = Vec::new();
    for v in 2..=501 {
        let from = c.seen.len();
        let t = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                                 "end": {"line": 0, "character": 0}},
                                       "text": "# edit\n"}]}),
        );
        c.wait_for(from, "diagnostics after the edit", |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == v
        });
        change.push(t.elapsed());
    }
    common::report("didchange_to_diagnostics", &mut change);
    c.shutdown();
}

/// 100 functions of 20 lines: with branches, so coverage is partial.
fn big_module() -> String {
    let mut s = String::from("\"\"\"A large module for the LSP benchmark.\"\"\"\n\n");
    let mut n = 0;
    while s.lines().count() < 1990 {
        write!(
            s,
            "def function_{n}(a, b=1):\n    \"\"\"Doc.\"\"\"\n    total = 0\n    for i in range(a):\n        if i % 2:\n            total += i\n        else:\n            total -= b\n    if total > 10:\n        return total\n    elif total < -10:\n        return -total\n    values = [total, a, b]\n    values.sort()\n    result = sum(values)\n    if result:\n        result += 1\n    return result\n\n\n"
        )
        .unwrap();
        n += 1;
    }
    s
}

fn copy_dir(src: &Path, dst: &Path) {
    let ok = Command::new("cp")
        .arg("-r")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(ok.success());
}
