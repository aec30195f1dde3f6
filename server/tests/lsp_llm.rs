//! "Generate tests" in the editor with the llm engine configured through
//! the server's settings: a real stdio LSP session (the client answers the
//! server's requests and applies `workspace/applyEdit` to its buffers as an
//! editor does), the real binary, pytest and coverage.py on plainlib, and
//! the local OpenAI-compatible stub as the model. The progress the editor
//! shows counts the model's calls and tokens.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use std::time::Duration;

use common::llm_stub::{Recorded, Reply, Stub};
use lsp_client::LspClient;
use serde_json::{json, Value};

fn wants(r: &Recorded, name: &str) -> bool {
    r.body["messages"][1]["content"]
        .as_str()
        .is_some_and(|t| t.contains(&format!("Write tests for `{name}`")))
}

/// Answers a little late, so calls are in flight while the editor watches.
fn script(r: &Recorded, _: usize) -> Reply {
    let reply = if wants(r, "bulk_price") {
        Reply::text("```python\nfrom plainlib.pricing import bulk_price\n\n\ndef test_bulk_price_tier():\n    assert bulk_price(1.0, 10) == 9.5\n\n\ndef test_bulk_price_zero_quantity():\n    assert bulk_price(5.0, 0) == 0.0\n```")
    } else if wants(r, "price_label") {
        Reply::text("```python\nfrom plainlib.pricing import price_label\n\n\ndef test_price_label_usd():\n    assert price_label(2.5, \"USD\") == \"$2.50\"\n\n\ndef test_price_label_unknown():\n    assert price_label(2.5, \"JPY\") == \"2.50 JPY\"\n```")
    } else {
        Reply::text("no")
    };
    reply.after(Duration::from_millis(1500))
}

fn generate(c: &mut LspClient, uri: &str, qualname: &str) -> Result<Value, Value> {
    c.request(
        "workspace/executeCommand",
        json!({"command": "testgen.generateTests",
               "arguments": [{"uri": uri, "qualname": qualname}]}),
    )
}

/// The `$/progress` messages seen since `from`.
fn progress(c: &LspClient, from: usize) -> Vec<(String, String)> {
    c.seen[from..]
        .iter()
        .filter(|m| m["method"] == "$/progress")
        .map(|m| {
            let v = &m["params"]["value"];
            (
                v["kind"].as_str().unwrap_or_default().to_string(),
                v["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// "N LLM calls..., M tokens" with N, M > 0.
fn counts_calls_and_tokens(message: &str) -> bool {
    let number_before = |word: &str| {
        message
            .split(word)
            .next()
            .and_then(|head| head.split_whitespace().last())
            .and_then(|n| n.parse::<u64>().ok())
    };
    message.contains("LLM calls")
        && message.contains("tokens")
        && number_before(" LLM calls").is_some_and(|n| n > 0)
        && number_before(" tokens").is_some_and(|n| n > 0)
}

#[test]
fn generate_tests_with_the_llm_shows_calls_and_tokens_in_progress() {
    let stub = Stub::start(script);
    let p = common::measured_copy("plainlib");
    let pricing = p.path().join("plainlib/pricing.py");
    let generated = p.path().join("tests/generated/test_plainlib_pricing.py");
    let mut c = LspClient::start();
    c.config = json!({
        "python": common::python(),
        "debounceMs": 50,
        "engine": "llm",
        "llm": {"provider": "openai-compatible", "model": "stub-model", "baseUrl": stub.url("/v1"), "cache": false}
    });
    c.initialize(p.path(), json!({}));
    let uri = c.open_file(&pricing);
    c.diagnostics(0, &uri, |d| {
        d.iter().any(|x| {
            x["code"] == "uncovered-function"
                && x["message"].as_str().unwrap().contains("bulk_price")
        })
    });

    // A new test file: written to disk; progress while the model works.
    let from = c.seen.len();
    let report = generate(&mut c, &uri, "bulk_price").expect("a report");
    assert_eq!(report["engine"], "llm", "{report:#}");
    assert_eq!(report["applied"], "disk", "{report:#}");
    let seen = progress(&c, from);
    assert!(
        seen.iter()
            .any(|(kind, m)| kind == "report" && counts_calls_and_tokens(m)),
        "a progress report counts the calls and tokens: {seen:#?}"
    );
    let end = seen
        .iter()
        .rfind(|(kind, _)| kind == "end")
        .expect("the progress ends");
    assert!(counts_calls_and_tokens(&end.1), "{seen:#?}");
    assert!(end.1.starts_with("2 tests"), "{seen:#?}");
    let text = std::fs::read_to_string(&generated).unwrap();
    assert!(text.contains("def test_bulk_price_tier"), "{text}");
    assert_eq!(
        stub.recorded()
            .iter()
            .filter(|r| wants(r, "bulk_price"))
            .count(),
        1
    );

    // The test file open in the editor: the model's tests arrive through
    // workspace/applyEdit into its buffer, which the user saves.
    let gen_uri = c.open_file(&generated);
    let from = c.seen.len();
    let report = generate(&mut c, &uri, "price_label").expect("a report");
    assert_eq!(report["applied"], "editor", "{report:#}");
    assert!(
        c.seen[from..]
            .iter()
            .any(|m| m["method"] == "workspace/applyEdit"),
        "the edit came as workspace/applyEdit"
    );
    let seen = progress(&c, from);
    let end = seen
        .iter()
        .rfind(|(kind, _)| kind == "end")
        .expect("the progress ends");
    assert!(counts_calls_and_tokens(&end.1), "{seen:#?}");
    let buffer = c.editor.docs[&gen_uri].text.clone();
    assert!(
        buffer.contains("def test_bulk_price_tier") && buffer.contains("def test_price_label_usd"),
        "{buffer}"
    );
    c.save_all().expect(":wall");
    assert_eq!(std::fs::read_to_string(&generated).unwrap(), buffer);
    let out = common::pytest(p.path(), &["tests/generated"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(c.shutdown().success());
}
