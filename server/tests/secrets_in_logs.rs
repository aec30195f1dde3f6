//! The environment's secrets stay out of testgen's logs and traces too:
//! `-vvv` and `RUST_LOG=trace` (every crate's trace, the HTTP client's
//! included) join the outputs scanned for the API key, besides stdout, the
//! files under the project and the model's request bodies.

mod common;

use std::process::Command;

use common::llm_run;
use common::llm_stub::{Reply, Stub};

const KEY: &str = "sk-trace-SECRET-0a1b2c3d4e5f6a7b8c9d";

/// A project-side secret the explored code's environment must not get
/// either, nor any log.
const DB_URL: &str = "postgres://admin:hunter2-SECRET-77@db.internal/prod";

#[test]
fn the_key_is_in_no_trace_of_a_generation() {
    let stub = Stub::start(|_, _| {
        Reply::text("```python\nfrom plainlib.pricing import bulk_price\n\n\ndef test_bulk_price():\n    assert bulk_price(1.0, 10) == 9.5\n```")
    });
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let py = common::python();
    let out = Command::new(common::testgen_bin())
        .arg("generate")
        .arg(p.path())
        .arg("--python")
        .arg(&py)
        .args([
            "--json",
            "-vvv",
            "--engine",
            "llm",
            "--target",
            "plainlib/pricing.py::bulk_price",
        ])
        .env("OPENAI_API_KEY", KEY)
        .env("DATABASE_URL", DB_URL)
        .env("TESTGEN_LLM_PROVIDER", "openai")
        .env("TESTGEN_LLM_MODEL", "gpt-4o-mini")
        .env("OPENAI_BASE_URL", stub.url("/v1"))
        .env("RUST_LOG", "trace")
        .env_remove("AZURE_OPENAI_ENDPOINT")
        .env_remove("TESTGEN_ENGINE")
        .env_remove("GITHUB_STEP_SUMMARY")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", common::output_text(&out));
    // The trace really ran: the HTTP client's and the children's lines.
    assert!(stderr.contains("TRACE"), "no trace lines: {stderr}");
    assert!(!stub.recorded().is_empty(), "the model was asked: {stderr}");
    llm_run::assert_key_nowhere(KEY, p.path(), &[&out], Some(&stub));
    // DATABASE_URL's password.
    let password = "hunter2-SECRET-77";
    assert!(!stderr.contains(password), "a password is in the trace");
    assert!(!String::from_utf8_lossy(&out.stdout).contains(password));
}

#[path = "common/lsp_client.rs"]
mod lsp_client;

/// The language server's log at `RUST_LOG=trace` through a generation
/// with the model: the key (from the environment, as an editor's user sets
/// it) is in no line.
#[test]
fn the_key_is_in_no_trace_of_the_language_server() {
    let stub = Stub::start(|_, _| {
        Reply::text("```python\nfrom plainlib.pricing import bulk_price\n\n\ndef test_bulk_price():\n    assert bulk_price(1.0, 10) == 9.5\n```")
    });
    let p = common::measured_copy("plainlib");
    let mut c = lsp_client::LspClient::start_with_env(
        "trace",
        &[("OPENAI_API_KEY", KEY), ("DATABASE_URL", DB_URL)],
    );
    c.config = serde_json::json!({
        "python": common::python(),
        "engine": "llm",
        "llm": {"provider": "openai", "model": "gpt-4o-mini", "baseUrl": stub.url("/v1"), "cache": false}
    });
    c.initialize(p.path(), serde_json::json!({}));
    let uri = c.open_file(&p.path().join("plainlib/pricing.py"));
    let report = c
        .request(
            "workspace/executeCommand",
            serde_json::json!({"command": "testgen.generateTests",
                   "arguments": [{"uri": uri, "qualname": "bulk_price"}]}),
        )
        .expect("a report");
    assert_eq!(report["engine"], "llm", "{report:#}");
    assert!(!stub.recorded().is_empty());
    let log = c.log.clone();
    c.shutdown();
    let lines = log.lock().unwrap().join("\n");
    assert!(lines.contains("TRACE"), "no trace lines: {lines}");
    assert!(!lines.contains(KEY), "the key is in the server's log");
    assert!(
        !lines.contains("hunter2-SECRET-77"),
        "DATABASE_URL's password is in the server's log"
    );
    llm_run::assert_key_nowhere(KEY, p.path(), &[], Some(&stub));
}
