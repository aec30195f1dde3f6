//! The language server while it is busy: codeLens and hover latency (and
//! shutdown) while long work runs, where the first wave's server froze.
//!
//!     cargo bench --bench lsp_busy     # Django fetched once into target/bench-cache/
//!
//! Three phases, each timing codeLens, hover and an unknown method (answered
//! MethodNotFound) one after another:
//! 1. the first index of Django (plus its coverage.xml) with 6 didOpen and
//!    20 didChange sent right after `initialized`;
//! 2. a full test run of plainlib with a test that sleeps 8 s;
//! 3. five "Generate tests" commands in flight on plainlib, then the
//!    shutdown latency with them still running.
//!
//! Target (issue 22): every request < 10 ms p99 in every phase (issue 11's
//! was 50 ms), shutdown < 100 ms. Each phase prints `meets_10ms=` per kind.
//! Figures: docs/performance.md.

mod common;
#[path = "../tests/common/lsp_client.rs"]
mod lsp_client;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_client::{file_uri, LspClient};
use serde_json::{json, Value};

fn main() {
    if !common::run_by_cargo_bench() {
        return;
    }
    let python = common::repo_root().join(".venv-test/bin/python");
    assert!(python.exists(), "run bash tests/setup.sh first");
    first_index_of_django();
    during_a_full_run(&python);
    with_generations_in_flight(&python);
}

fn open(c: &mut LspClient, path: &Path) -> String {
    let uri = file_uri(path);
    let text = std::fs::read_to_string(path).unwrap();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
    uri
}

/// The latencies of one phase, by kind of request.
#[derive(Default)]
struct Probes {
    lens: Vec<Duration>,
    hover: Vec<Duration>,
    unknown: Vec<Duration>,
}

impl Probes {
    fn count(&self) -> usize {
        self.lens.len() + self.hover.len() + self.unknown.len()
    }

    /// Prints each kind's percentiles and whether its p99 is under 10 ms.
    fn report(mut self, phase: &str) {
        for (kind, d) in [
            ("codelens", &mut self.lens),
            ("hover", &mut self.hover),
            ("unknown", &mut self.unknown),
        ] {
            common::report(&format!("busy_{phase}_{kind}"), d);
            let p99 = common::quantile_ms(d, 0.99);
            println!("busy_{phase}_{kind} meets_10ms={}", p99 < 10.0);
        }
    }
}

/// One codeLens, one hover and one request of a method the server does not
/// know on `uri`, each timed.
fn probe(c: &mut LspClient, uri: &str, p: &mut Probes) {
    let t = Instant::now();
    c.request(
        "textDocument/codeLens",
        json!({"textDocument": {"uri": uri}}),
    )
    .expect("codeLens");
    p.lens.push(t.elapsed());
    let t = Instant::now();
    c.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 10, "character": 4}}),
    )
    .expect("hover");
    p.hover.push(t.elapsed());
    let t = Instant::now();
    let err = c
        .request("testgen/noSuchMethod", json!({}))
        .expect_err("an unknown method");
    assert_eq!(err["code"], -32601, "{err}");
    p.unknown.push(t.elapsed());
}

fn indexing_ended(c: &LspClient) -> bool {
    c.seen
        .iter()
        .any(|m| m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end")
}

fn first_index_of_django() {
    let src = common::django_source();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("ws");
    assert!(Command::new("cp")
        .arg("-r")
        .arg(&src)
        .arg(&root)
        .status()
        .unwrap()
        .success());
    common::write_coverage(&root, &root.join("coverage.xml"));
    let files: Vec<_> = [
        "django/db/models/query.py",
        "django/http/request.py",
        "django/forms/forms.py",
        "django/urls/resolvers.py",
        "django/utils/text.py",
        "django/template/base.py",
    ]
    .iter()
    .map(|f| root.join(f))
    .collect();
    let mut c = LspClient::start_quiet();
    c.config = json!({"runOnSave": false});
    let t0 = Instant::now();
    c.initialize(&root, json!({}));
    let uris: Vec<String> = files.iter().map(|f| open(&mut c, f)).collect();
    for v in 2..22 {
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uris[0], "version": v},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                                 "end": {"line": 0, "character": 0}},
                                       "text": "# edit\n"}]}),
        );
    }
    let mut probes = Probes::default();
    while !indexing_ended(&c) {
        probe(&mut c, &uris[1], &mut probes);
    }
    println!(
        "phase 1: first index of Django took {:.0} ms; {} requests answered meanwhile",
        t0.elapsed().as_secs_f64() * 1e3,
        probes.count()
    );
    probes.report("index");
    shutdown_latency(c, "busy_index_shutdown_ms");
}

fn plainlib_copy(python: &Path, slow: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let src = common::repo_root().join("tests/fixtures/plainlib");
    assert!(Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", src.display()))
        .arg(dir.path())
        .status()
        .unwrap()
        .success());
    if slow {
        std::fs::write(
            dir.path().join("tests/test_slow.py"),
            "import time\n\ndef test_slow():\n    time.sleep(8)\n",
        )
        .unwrap();
    }
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args([
            "test",
            dir.path().to_str().unwrap(),
            "--python",
            python.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    dir
}

fn started(c: &mut LspClient, p: &Path, python: &Path) -> String {
    c.config = json!({"python": python, "runOnSave": false});
    c.initialize(p, json!({}));
    c.wait_for(0, "indexing end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    open(c, &p.join("plainlib/pricing.py"))
}

fn during_a_full_run(python: &Path) {
    let p = plainlib_copy(python, true);
    let mut c = LspClient::start_quiet();
    let uri = started(&mut c, p.path(), python);
    let run = c.send_request(
        "workspace/executeCommand",
        json!({"command": "testgen.runTests", "arguments": [{}]}),
    );
    let mut probes = Probes::default();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(6) {
        probe(&mut c, &uri, &mut probes);
    }
    probes.report("run");
    let answer: Value = c.response(run).expect("runTests");
    println!("phase 2: the run ended: {}", answer["outcome"]);
    shutdown_latency(c, "busy_run_shutdown_ms");
}

fn with_generations_in_flight(python: &Path) {
    let p = plainlib_copy(python, false);
    let mut c = LspClient::start_quiet();
    let uri = started(&mut c, p.path(), python);
    let targets = [
        ("plainlib/pricing.py", Some("bulk_price")),
        ("plainlib/pricing.py", Some("price_label")),
        ("plainlib/text.py", None),
        ("plainlib/inventory.py", None),
        ("plainlib/pricing.py", None),
    ];
    for (file, qualname) in targets {
        let mut arg = json!({"uri": file_uri(&p.path().join(file))});
        if let Some(q) = qualname {
            arg["qualname"] = json!(q);
        }
        c.send_request(
            "workspace/executeCommand",
            json!({"command": "testgen.generateTests", "arguments": [arg]}),
        );
    }
    let mut probes = Probes::default();
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(5) {
        probe(&mut c, &uri, &mut probes);
    }
    probes.report("generate");
    shutdown_latency(c, "busy_generate_shutdown_ms");
}

/// From `shutdown` to its answer, whatever still runs.
fn shutdown_latency(mut c: LspClient, name: &str) {
    let t = Instant::now();
    c.request("shutdown", Value::Null).expect("shutdown");
    println!("{name}={:.1}", t.elapsed().as_secs_f64() * 1e3);
    c.notify("exit", Value::Null);
}
