//! `testgen generate --engine llm|auto` end to end against the local
//! OpenAI-compatible stub: the real binary, real pytest and coverage.py on
//! copies of the plainlib, flaskapp and fastapiapp fixtures. The stub's
//! script answers like a model would: prose around fenced code, a syntax
//! error, a get_info tool call, a wrong import, a failing test repaired in
//! the next round, a fake Flask app, conftest fixtures redefined, HTML
//! assertions, FastAPI's 400 for a validation error. Checks: what is
//! written passes 3 runs, coverage rises, nothing invalid is written, the
//! cache makes a re-run call nothing, the key appears in no output.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::llm_run;
use common::llm_stub::{Recorded, Reply, Stub};
use serde_json::Value;

const KEY: &str = "sk-e2e-SECRET-9f8e7d6c5b4a39281706";

fn generate(project: &Path, stub: &Stub, extra: &[&str]) -> (Value, Output) {
    llm_run::testgen_llm("generate", project, stub, KEY, extra)
}

/// The key in no output: stdout, stderr (at -vv), and no file of the
/// project (manifest, report, cache, generated tests).
fn key_nowhere(root: &Path, outs: &[&Output]) {
    llm_run::assert_key_nowhere(KEY, root, outs, None);
}

fn passes_three_times(root: &Path) {
    for run in 1..=3 {
        let out = common::pytest(root, &[]);
        assert!(
            out.status.success(),
            "run {run}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

fn generated(root: &Path, file: &str) -> String {
    std::fs::read_to_string(root.join("tests/generated").join(file)).unwrap_or_default()
}

fn coverage(report: &Value, which: &str) -> f64 {
    report[which]["line_percent"].as_f64().unwrap()
}

fn wants(r: &Recorded, name: &str) -> bool {
    r.body["messages"][1]["content"]
        .as_str()
        .is_some_and(|t| t.contains(&format!("Write tests for `{name}`")))
}

fn plainlib_script(r: &Recorded, _: usize) -> Reply {
    let text = r.text();
    if wants(r, "bulk_price") {
        if text.contains("failed validation") {
            return Reply::text("Fixed:\n```python\nfrom plainlib.pricing import bulk_price\n\ndef test_bulk_price_tier():\n    assert bulk_price(1.0, 10) == 9.5\n```\n");
        }
        return Reply::text(
            "Here are tests for the missing branches.\n\n```python\nimport pytest\nfrom pricing import bulk_price\n\n\ndef test_bulk_price_zero_quantity():\n    assert bulk_price(5.0, 0) == 0.0\n\n\ndef test_bulk_price_tier():\n    assert bulk_price(1.0, 10) == 10.0\n```\n\nThe second one checks the first tier.",
        );
    }
    if wants(r, "price_label") {
        if r.last_role() == "tool" {
            return Reply::text("```python\nfrom plainlib.pricing import price_label\n\ndef test_price_label_eur():\n    assert price_label(2.5) == \"2.50 €\"\n\ndef test_price_label_usd():\n    assert price_label(2.5, \"USD\") == \"$2.50\"\n\ndef test_price_label_unknown():\n    assert price_label(2.5, \"JPY\") == \"2.50 JPY\"\n```");
        }
        if text.contains("could not be used") {
            return Reply::tool_call("price_label");
        }
        return Reply::text("```python\ndef test_price_label(:\n    assert price_label(1)\n```");
    }
    Reply::text("I cannot help with that.")
}

#[test]
fn plainlib_repair_tool_call_cache_and_no_key() {
    let stub = Stub::start(plainlib_script);
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let targets = [
        "--engine",
        "llm",
        "--target",
        "plainlib/pricing.py::bulk_price",
        "plainlib/pricing.py::price_label",
    ];
    let (report, out) = generate(p.path(), &stub, &targets);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = generated(p.path(), "test_plainlib_pricing.py");
    // The failing test was repaired in the same conversation.
    assert!(file.contains("== 9.5"), "{file}");
    assert!(
        !file.contains("== 10.0"),
        "the failing version is not written: {file}"
    );
    assert_eq!(report["repair_rounds"], 1, "{report}");
    let repair = stub
        .recorded()
        .into_iter()
        .find(|r| r.text().contains("failed validation"))
        .expect("a repair request");
    assert!(repair.text().contains("test_bulk_price_tier"));
    assert!(
        repair.body["messages"].as_array().unwrap().len() >= 4,
        "the repair continues the conversation"
    );
    // The wrong import points at the real module.
    assert!(
        file.contains("from plainlib.pricing import bulk_price"),
        "{file}"
    );
    assert!(!file.contains("from pricing import"), "{file}");
    // The syntax error was asked again, then get_info answered with the source.
    let tool = stub
        .recorded()
        .into_iter()
        .find(|r| r.last_role() == "tool")
        .expect("a get_info answer");
    assert!(tool.text().contains("def price_label"), "{}", tool.text());
    for t in [
        "test_price_label_eur",
        "test_price_label_usd",
        "test_price_label_unknown",
        "test_bulk_price_zero_quantity",
    ] {
        assert!(file.contains(t), "{t} missing:\n{file}");
    }
    passes_three_times(p.path());
    assert!(
        coverage(&report, "coverage_after") > coverage(&report, "coverage_before"),
        "{report}"
    );
    let calls = stub.count();
    assert_eq!(
        report["llm"]["calls"].as_u64().unwrap() as usize,
        calls,
        "{report}"
    );
    assert!(report["llm"]["prompt_tokens"].as_u64().unwrap() > 0);
    let manifest =
        std::fs::read_to_string(p.path().join("tests/generated/_manifest.json")).unwrap();
    assert!(
        manifest.contains("\"llm\""),
        "tokens and cost in the manifest: {manifest}"
    );

    // Unchanged project (the generated tests removed): all from the cache.
    std::fs::remove_dir_all(p.path().join("tests/generated")).unwrap();
    let (again, out2) = generate(p.path(), &stub, &targets);
    assert!(out2.status.success());
    assert_eq!(
        stub.count(),
        calls,
        "a re-run of an unchanged project calls nothing"
    );
    assert_eq!(again["llm"]["calls"], 0);
    assert!(again["llm"]["cached"].as_u64().unwrap() > 0);
    assert_eq!(again["tests_written"], report["tests_written"]);
    key_nowhere(p.path(), &[&out, &out2]);
}

#[test]
fn a_401_stops_the_run_with_one_message() {
    let stub = Stub::start(|_, _| {
        Reply::error(
            401,
            &format!("Incorrect API key provided: {KEY}"),
            "invalid_api_key",
        )
    });
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let py = common::python();
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args([
            "generate",
            p.path().to_str().unwrap(),
            "--python",
            py.to_str().unwrap(),
            "--engine",
            "llm",
            "--target",
            "plainlib/pricing.py::bulk_price",
        ])
        .env("OPENAI_API_KEY", KEY)
        .env("TESTGEN_LLM_PROVIDER", "openai")
        .env("TESTGEN_LLM_MODEL", "gpt-4o-mini")
        .env("OPENAI_BASE_URL", stub.url("/v1"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("OPENAI_API_KEY") && err.contains("401"),
        "{err}"
    );
    assert!(!err.contains(KEY), "{err}");
    assert_eq!(stub.count(), 1, "fail fast: one request");
    assert!(
        !p.path().join("tests/generated").exists(),
        "nothing written"
    );
}

fn flask_script(r: &Recorded, _: usize) -> Reply {
    if !wants(r, "complete_task") {
        return Reply::text("no");
    }
    Reply::text(
        r#"```python
import pytest
from flask import Flask
from app.store import store

app = Flask(__name__)


@pytest.fixture
def client():
    return app.test_client()


def test_complete_missing_task(client):
    r = client.post("/tasks/99/complete")
    assert r.status_code == 404
    assert r.get_json() == {"error": "no such task"}
    assert "<html>" not in r.get_data(as_text=True)


def test_complete_twice(client):
    u = store.add_user("Ada", "ada@example.com")
    t = store.add_task(u["id"], "write")
    assert client.post(f"/tasks/{t['id']}/complete").status_code == 200
    assert client.post(f"/tasks/{t['id']}/complete").status_code == 409


def test_only_markup(client):
    assert "<div>" in client.get("/health").get_data(as_text=True)
```"#,
    )
}

#[test]
fn flaskapp_fake_app_and_fixtures_removed() {
    let stub = Stub::start(flask_script);
    let p = common::copy_to_temp(&common::fixture("flaskapp"));
    let (report, out) = generate(
        p.path(),
        &stub,
        &[
            "--engine",
            "llm",
            "--target",
            "app/routes/tasks.py::complete_task",
        ],
    );
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = generated(p.path(), "test_app_routes_tasks.py");
    assert!(
        file.contains("def test_complete_missing_task"),
        "{report}\n{file}"
    );
    assert!(file.contains("def test_complete_twice"), "{file}");
    assert!(!file.contains("Flask(__name__)"), "no fake app: {file}");
    assert!(
        !file.contains("def client"),
        "the conftest's fixture is not redefined: {file}"
    );
    assert!(
        !file.contains("<html>") && !file.contains("test_only_markup"),
        "no HTML assertions: {file}"
    );
    passes_three_times(p.path());
    assert!(
        coverage(&report, "coverage_after") > coverage(&report, "coverage_before"),
        "{report}"
    );
    key_nowhere(p.path(), &[&out]);
}

fn fastapi_script(r: &Recorded, _: usize) -> Reply {
    if !wants(r, "get_order") {
        return Reply::text("no");
    }
    Reply::text(
        "```python\ndef test_get_order_bad_id(client):\n    assert client.get(\"/orders/abc\").status_code == 400\n\n\ndef test_get_order_missing(client):\n    r = client.get(\"/orders/12345\")\n    assert r.status_code == 404\n    assert r.json() == {\"detail\": \"order not found\"}\n\n\ndef test_get_order_found(client):\n    client.post(\"/products/\", json={\"name\": \"Lamp\", \"price\": 10.0, \"stock\": 5})\n    made = client.post(\"/orders/\", json={\"product_id\": 1, \"quantity\": 2})\n    assert made.status_code == 201\n    got = client.get(f\"/orders/{made.json()['id']}\")\n    assert got.status_code == 200\n    assert got.json()[\"total\"] == 20.0\n```",
    )
}

#[test]
fn fastapiapp_validation_status_is_422() {
    let stub = Stub::start(fastapi_script);
    let p = common::copy_to_temp(&common::fixture("fastapiapp"));
    let (report, out) = generate(
        p.path(),
        &stub,
        &[
            "--engine",
            "llm",
            "--target",
            "app/routers/orders.py::get_order",
        ],
    );
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = generated(p.path(), "test_app_routers_orders.py");
    // Rewritten to 422 it passed validation (kept as 400 it would have
    // failed and been sent back): only its coverage keeps it out, since a
    // rejected path parameter never enters the function.
    let bad_id: Vec<&Value> = report["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["test"] == "test_get_order_bad_id")
        .collect();
    assert_eq!(bad_id.len(), 1, "{report}");
    assert_eq!(
        bad_id[0]["reason"], "adds no coverage the suite lacks",
        "{report}"
    );
    assert_eq!(report["repair_rounds"], 0, "{report}");
    assert_eq!(stub.count(), 1);
    assert!(!file.contains("== 400"), "{file}");
    assert!(file.contains("def test_get_order_found"), "{file}");
    passes_three_times(p.path());
    assert!(
        coverage(&report, "coverage_after") > coverage(&report, "coverage_before"),
        "{report}"
    );
    key_nowhere(p.path(), &[&out]);
}

#[test]
fn prompt_prints_the_exact_request_without_sending() {
    let stub = Stub::start(|_, _| Reply::text("never asked"));
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let py = common::python();
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .args([
            "prompt",
            p.path().to_str().unwrap(),
            "--python",
            py.to_str().unwrap(),
            "--target",
            "plainlib/pricing.py::bulk_price",
        ])
        .env("OPENAI_API_KEY", KEY)
        .env("TESTGEN_LLM_PROVIDER", "openai")
        .env("TESTGEN_LLM_MODEL", "gpt-4o-mini")
        .env("OPENAI_BASE_URL", stub.url("/v1"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stub.count(), 0, "nothing sent");
    assert!(text.contains("/v1/chat/completions"), "{text}");
    assert!(text.contains("headers: authorization"), "{text}");
    assert!(text.contains("Write tests for `bulk_price`"), "{text}");
    assert!(text.contains("# MISSING"), "{text}");
    assert!(text.contains("\"get_info\""), "{text}");
    assert!(text.contains("\"model\": \"gpt-4o-mini\""), "{text}");
    assert!(!text.contains(KEY) && !String::from_utf8_lossy(&out.stderr).contains(KEY));
    // The body printed is the one generate sends first.
    let json_start = text.find('{').unwrap();
    let end = text.rfind('}').unwrap();
    let body: Value = serde_json::from_str(&text[json_start..=end]).unwrap();
    assert_eq!(body["messages"][0]["role"], "system");
}

fn statelib_bug_script(r: &Recorded, _: usize) -> Reply {
    if !wants(r, "Cart.average_price") {
        return Reply::text("no");
    }
    Reply::text(
        "```python\nfrom statelib.cart import Cart\n\n\ndef test_average_price_of_two_lines():\n    cart = Cart(\"ada\")\n    cart.add(\"a\", 2, 100)\n    cart.add(\"b\", 2, 300)\n    assert cart.average_price() == 200\n\n\ndef test_average_price_of_an_empty_cart_is_zero():\n    assert Cart(\"ada\").average_price() == 0\n```",
    )
}

/// A test the model argues is valid (an empty cart's average price is 0)
/// fails because the code divides by zero: reported as a suspected bug with
/// the test, the call and the project frame, never sent back to be bent
/// into `pytest.raises(ZeroDivisionError)`, and not written.
#[test]
fn a_test_exposing_a_code_bug_is_reported_not_dropped() {
    let stub = Stub::start(statelib_bug_script);
    let p = common::copy_to_temp(&common::fixture("statelib"));
    let (report, out) = generate(
        p.path(),
        &stub,
        &[
            "--engine",
            "llm",
            "--target",
            "statelib/cart.py::Cart.average_price",
        ],
    );
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bugs = report["suspected_bugs"].as_array().unwrap();
    assert_eq!(bugs.len(), 1, "{report:#}");
    let b = &bugs[0];
    assert_eq!(b["found_by"], "llm", "{b}");
    assert_eq!(b["target"], "statelib/cart.py::Cart.average_price");
    assert_eq!(b["test"], "test_average_price_of_an_empty_cart_is_zero");
    let source = std::fs::read_to_string(p.path().join("statelib/cart.py")).unwrap();
    let line = source
        .lines()
        .position(|l| l.contains("return self.total() //"))
        .unwrap()
        + 1;
    assert_eq!(b["file"], "statelib/cart.py", "{b}");
    assert_eq!(b["line"], line, "the traceback's project frame: {b}");
    assert!(
        b["error"]
            .as_str()
            .unwrap()
            .starts_with("ZeroDivisionError"),
        "{b}"
    );
    assert_eq!(b["input"], "assert Cart(\"ada\").average_price() == 0");
    // One call: the bug was not sent back for repair.
    assert_eq!(stub.count(), 1, "{:#?}", stub.recorded());
    assert_eq!(report["repair_rounds"], 0, "{report:#}");
    // Its valid neighbour is written; the failing test is not.
    let file = generated(p.path(), "test_statelib_cart.py");
    assert!(
        file.contains("def test_average_price_of_two_lines"),
        "{file}"
    );
    assert!(!file.contains("empty_cart_is_zero"), "{file}");
    passes_three_times(p.path());
    key_nowhere(p.path(), &[&out]);
}

fn statelib_hybrid_script(r: &Recorded, _: usize) -> Reply {
    if wants(r, "each_even") {
        return Reply::text("```python\nfrom statelib.sinks import each_even\n\n\ndef test_each_even_calls_back_for_even_numbers():\n    assert each_even([1, 2, 3, 4], lambda n: n * 10) == [20, 40]\n```");
    }
    if wants(r, "email_problem") {
        return Reply::text("```python\nfrom statelib.validate import email_problem\n\n\ndef test_email_problem_empty_local_part():\n    assert email_problem(\"@example.com\") == \"empty local part\"\n```");
    }
    Reply::text("no")
}

/// The line numbers a request lists as still missing (`3-5, 9`), or None
/// when it says no line of the target ran.
fn listed_missing(user: &str) -> Option<Vec<u32>> {
    let line = user
        .lines()
        .find(|l| l.starts_with("Lines the existing tests do not run"))?;
    let list = line.rsplit(": ").next()?.trim_end_matches('.');
    let mut out = Vec::new();
    for part in list.split(", ") {
        match part.split_once('-') {
            Some((a, b)) => out.extend(a.parse::<u32>().ok()?..=b.parse().ok()?),
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// `auto` with the LLM configured: explore runs first; the LLM is asked
/// only about the targets explore left lines of, only about those lines,
/// with explore's tests for the target in the prompt.
#[test]
fn auto_gives_the_llm_only_what_explore_left_with_its_findings() {
    let stub = Stub::start(statelib_hybrid_script);
    let p = common::copy_to_temp(&common::fixture("statelib"));
    let targets = [
        "statelib/sinks.py::each_even",
        "statelib/validate.py::email_problem",
        "statelib/cart.py::Cart.add",
    ];
    let mut args = vec!["--engine", "auto", "--target"];
    args.extend(targets);
    let (report, out) = generate(p.path(), &stub, &args);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["engine"], "explore+llm", "{report:#}");
    let reqs = stub.recorded();
    assert!(
        !reqs.is_empty(),
        "explore leaves lines the LLM is asked for"
    );
    let source = |rel: &str| std::fs::read_to_string(p.path().join(rel)).unwrap();
    for r in &reqs {
        let user = r.body["messages"][1]["content"].as_str().unwrap();
        // Cart.add: explore's tests reach all of it, so the LLM never sees it.
        assert!(!wants(r, "Cart.add"), "{user}");
        let (rel, first_statement) = if wants(r, "each_even") {
            ("statelib/sinks.py", "    out = []")
        } else {
            assert!(wants(r, "email_problem"), "{user}");
            ("statelib/validate.py", "    if address.count(\"@\") != 1:")
        };
        // Only the remaining lines: not the whole function the baseline
        // missed (no test ran it before), not its first statement, which
        // explore's calls ran.
        let left = listed_missing(user)
            .unwrap_or_else(|| panic!("the request lists what is left: {user}"));
        let first = source(rel)
            .lines()
            .position(|l| l == first_statement)
            .unwrap() as u32
            + 1;
        assert!(
            !left.is_empty() && !left.contains(&first),
            "{left:?}\n{user}"
        );
        // Explore's findings for that target.
        let findings = user
            .split("Tests explore already wrote for it")
            .nth(1)
            .unwrap_or_else(|| panic!("explore's findings in the prompt: {user}"));
        assert!(findings.contains("def test_"), "{user}");
    }
    assert_eq!(
        report["llm"]["calls"].as_u64().unwrap() as usize,
        reqs.len(),
        "{report}"
    );
    assert!(reqs.len() <= 2, "one call per target left: {reqs:#?}");
    // The LLM's tests reach what explore could not and are written.
    let sinks = generated(p.path(), "test_statelib_sinks.py");
    let validate = generated(p.path(), "test_statelib_validate.py");
    let asked = |name: &str| reqs.iter().any(|r| wants(r, name));
    if asked("each_even") {
        assert!(
            sinks.contains("test_each_even_calls_back_for_even_numbers"),
            "{sinks}"
        );
    }
    if asked("email_problem") {
        assert!(
            validate.contains("test_email_problem_empty_local_part"),
            "{validate}"
        );
    }
    passes_three_times(p.path());
    assert!(
        coverage(&report, "coverage_after") > coverage(&report, "coverage_before"),
        "{report}"
    );
}
