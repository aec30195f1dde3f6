//! Real providers as they answer, from the corpus in `llm_corpus/` (OpenAI,
//! Azure OpenAI, Ollama, vLLM, llama.cpp's server, and compatible servers
//! that leave fields out or answer in parts) replayed by the local stub:
//! - every entry through the client: the request shape each one needs
//!   (reasoning models, servers without tools), the answer read whatever
//!   it adds or leaves out, refusals with one message and no key;
//! - `testgen generate --engine llm` end to end on plainlib (real pytest
//!   and coverage.py): an OpenAI key alone, a reasoning model, servers
//!   without tools and answers with missing or extra fields all end in
//!   kept tests, with the model's helper fixture and constant in them;
//! - a 401 on a project with 20 targets sends one request.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::corpus::Entry;
use common::llm_stub::{Recorded, Stub};
use serde_json::Value;
use testgen::config::{LlmConfig, Provider};
use testgen::generate::llm::client::{Client, LlmError, Message};
use testgen::generate::llm::get_info_tool;
use testgen::generate::llm::settings::Settings;
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-corpus-SECRET-5a4b3c2d1e0f9a8b";

/// The model's answer for plainlib's `bulk_price`: prose around the code,
/// a constant and a fixture beside the tests (kept with the test using
/// them), a helper no test uses (dropped).
const ANSWER: &str = "Here are tests for the missing lines.\n\n```python\nimport pytest\nfrom plainlib.pricing import bulk_price\n\nUNIT = 1.0\n\n\n@pytest.fixture\ndef first_tiers():\n    return ((10, 5.0), (50, 10.0))\n\n\ndef unused_helper():\n    return 42\n\n\ndef test_bulk_price_zero_quantity():\n    assert bulk_price(5.0, 0) == 0.0\n\n\ndef test_bulk_price_first_tier(first_tiers):\n    assert bulk_price(UNIT, 10, tiers=first_tiers) == 9.5\n```\n";

const TARGET: &str = "plainlib/pricing.py::bulk_price";

fn settings(e: &Entry, base: &str) -> Settings {
    let provider = match e.provider() {
        "openai" => Provider::Openai,
        "azure" => Provider::Azure,
        _ => Provider::OpenaiCompatible,
    };
    let c = LlmConfig {
        provider: Some(provider),
        model: Some(e.model().into()),
        base_url: Some(base.into()),
        cache: false,
        ..LlmConfig::default()
    };
    Settings::resolve(&c, Path::new("/nonexistent"), |k| {
        (provider != Provider::OpenaiCompatible
            && matches!(k, "OPENAI_API_KEY" | "AZURE_OPENAI_API_KEY"))
        .then(|| KEY.to_string())
    })
    .unwrap()
}

fn stub_for(e: &Entry) -> Stub {
    let e = e.clone();
    Stub::start(move |r, _| e.reply(r, ANSWER, KEY))
}

fn base(e: &Entry, stub: &Stub) -> String {
    if e.provider() == "azure" {
        stub.url("")
    } else {
        stub.url("/v1")
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn answered(e: &Entry, stub: &Stub) -> Recorded {
    let ok: Vec<Recorded> = stub
        .recorded()
        .into_iter()
        .filter(|r| e.status_for(r) == 200)
        .collect();
    assert!(!ok.is_empty(), "{}: nothing was answered", e.name);
    ok.last().unwrap().clone()
}

#[test]
fn every_corpus_entry_through_the_client() {
    let entries = Entry::all();
    assert!(entries.len() >= 10, "the corpus is there");
    for e in entries {
        let stub = stub_for(&e);
        let client = Client::new(settings(&e, &base(&e, &stub))).unwrap();
        let messages = vec![
            Message::system("You write tests."),
            Message::user("Test f."),
        ];
        let cancel = CancellationToken::new();
        let first = rt().block_on(client.chat(&messages, &[get_info_tool()], &cancel));
        let no_tools = e.json["exchanges"][0]["when"]["has"] == "tools";
        let result = match first {
            Err(LlmError::ToolsRefused(m)) => {
                assert!(no_tools, "{}: tools refused ({m})", e.name);
                assert!(!client.tools_supported());
                let again = rt().block_on(client.chat(&messages, &[get_info_tool()], &cancel));
                assert!(
                    matches!(again, Err(LlmError::ToolsRefused(_))),
                    "{}: tools are not offered again with a prompt written for them",
                    e.name
                );
                rt().block_on(client.chat(&messages, &[], &cancel))
            }
            other => {
                assert!(
                    !no_tools,
                    "{}: the refusal of tools was not noticed",
                    e.name
                );
                other
            }
        };
        if e.json["answered_request"].is_null() {
            let Err(LlmError::Refused(m)) = result else {
                panic!("{}: not refused: {result:?}", e.name)
            };
            assert!(!m.contains(KEY), "{m}");
            assert_eq!(stub.count(), 1, "{}: refusals are not retried", e.name);
            continue;
        }
        let a = result.unwrap_or_else(|err| panic!("{}: {err}", e.name));
        assert_eq!(a.content.as_deref(), Some(ANSWER), "{}", e.name);
        e.check_answered(&answered(&e, &stub));
        // One refusal at most before the request that fits.
        assert!(stub.count() <= 2, "{}: {} requests", e.name, stub.count());
    }
}

#[test]
fn a_refusal_with_20_requests_waiting_sends_one() {
    let e = Entry::load("openai_401");
    let stub = stub_for(&e);
    let client = Client::new(settings(&e, &stub.url("/v1"))).unwrap();
    let cancel = CancellationToken::new();
    let messages = vec![Message::user("Test f.")];
    let results = rt().block_on(futures::future::join_all(
        (0..20).map(|_| client.chat(&messages, &[], &cancel)),
    ));
    assert_eq!(stub.count(), 1, "one request, then the refusal is known");
    let refusals: std::collections::BTreeSet<String> = results
        .into_iter()
        .map(|r| match r {
            Err(LlmError::Refused(m)) => m,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(refusals.len(), 1, "one message: {refusals:?}");
    let m = refusals.first().unwrap();
    assert!(
        m.contains("401") && m.contains("OPENAI_API_KEY") && !m.contains(KEY),
        "{m}"
    );
}

/// `testgen generate PROJECT --engine llm --json -vv EXTRA` with only the
/// variables in `env` for the LLM.
fn generate(project: &Path, env: &[(&str, String)], extra: &[&str]) -> (Value, Output) {
    let mut cmd = Command::new(common::testgen_bin());
    cmd.arg("generate")
        .arg(project)
        .arg("--python")
        .arg(common::python())
        .args(["--json", "-vv", "--engine", "llm"])
        .args(extra);
    for v in [
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "TESTGEN_LLM_PROVIDER",
        "TESTGEN_LLM_MODEL",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "AZURE_OPENAI_DEPLOYMENT",
        "TESTGEN_ENGINE",
        "RUST_LOG",
        "GITHUB_STEP_SUMMARY",
    ] {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    let out = cmd.output().expect("running testgen");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (json, out)
}

/// The variables that point testgen at `stub` as entry `e`'s server.
fn env_for(e: &Entry, stub: &Stub) -> Vec<(&'static str, String)> {
    match e.provider() {
        "openai" => vec![
            ("OPENAI_API_KEY", KEY.into()),
            ("OPENAI_BASE_URL", stub.url("/v1")),
            ("TESTGEN_LLM_MODEL", e.model().into()),
        ],
        "azure" => vec![
            ("AZURE_OPENAI_API_KEY", KEY.into()),
            ("AZURE_OPENAI_ENDPOINT", stub.url("")),
            ("AZURE_OPENAI_DEPLOYMENT", e.model().into()),
        ],
        _ => vec![
            ("TESTGEN_LLM_PROVIDER", "openai-compatible".into()),
            ("OPENAI_BASE_URL", stub.url("/v1")),
            ("TESTGEN_LLM_MODEL", e.model().into()),
        ],
    }
}

/// Runs the entry's server against plainlib's `bulk_price` and checks the
/// written file: both tests kept, the fixture and the constant with the
/// test using them, the unused helper not; it passes 3 runs; the key is
/// nowhere. Returns the stub for more checks.
fn kept_tests_with(e: &Entry, env: Vec<(&'static str, String)>, stub: Stub) -> Stub {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let (report, out) = generate(p.path(), &env, &["--target", TARGET]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}: {report}\n{err}", e.name);
    let file = std::fs::read_to_string(p.path().join("tests/generated/test_plainlib_pricing.py"))
        .unwrap_or_else(|_| panic!("{}: nothing written: {report}\n{err}", e.name));
    for part in [
        "def test_bulk_price_zero_quantity",
        "def test_bulk_price_first_tier(first_tiers)",
        "@pytest.fixture\ndef first_tiers",
        "UNIT = 1.0",
        "import pytest",
    ] {
        assert!(file.contains(part), "{}: {part} missing:\n{file}", e.name);
    }
    assert!(!file.contains("unused_helper"), "{file}");
    for run in 1..=3 {
        let t = common::pytest(p.path(), &["tests/generated"]);
        assert!(
            t.status.success(),
            "{} run {run}:\n{}",
            e.name,
            String::from_utf8_lossy(&t.stdout)
        );
    }
    e.check_answered(&answered(e, &stub));
    common::llm_run::assert_key_nowhere(KEY, p.path(), &[&out], None);
    stub
}

#[test]
fn an_openai_key_alone_uses_openai_and_the_models_fixture_is_kept() {
    let e = Entry::load("openai");
    let stub = stub_for(&e);
    // No provider, no model: the key is enough.
    let env = vec![
        ("OPENAI_API_KEY", KEY.to_string()),
        ("OPENAI_BASE_URL", stub.url("/v1")),
    ];
    let stub = kept_tests_with(&e, env, stub);
    let r = &stub.recorded()[0];
    assert_eq!(r.body["model"], "gpt-4o-mini", "the documented default");
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(r.path, "/v1/chat/completions");
}

#[test]
fn a_reasoning_model_gets_its_request_shape_and_its_tests_are_kept() {
    let e = Entry::load("openai_o3_mini");
    let stub = stub_for(&e);
    let stub = kept_tests_with(&e, env_for(&e, &stub), stub);
    assert!(
        stub.recorded().iter().all(|r| e.status_for(r) == 200),
        "no request was refused: the family is known from the name"
    );
}

#[test]
fn servers_without_tools_get_the_definitions_in_the_prompt_and_their_tests_are_kept() {
    for name in ["ollama", "vllm", "llamacpp"] {
        let e = Entry::load(name);
        let stub = stub_for(&e);
        let stub = kept_tests_with(&e, env_for(&e, &stub), stub);
        let statuses: Vec<u16> = stub.recorded().iter().map(|r| e.status_for(r)).collect();
        assert_eq!(statuses[0], if name == "llamacpp" { 500 } else { 400 });
        assert_eq!(
            statuses.iter().filter(|s| **s != 200).count(),
            1,
            "{name}: refused once, remembered for the run: {statuses:?}"
        );
        let user = answered(&e, &stub).body["messages"][1]["content"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(
            user.contains("`get_info` tool is not available")
                && user.contains("def apply_discount"),
            "{name}: what get_info would give is in the prompt:\n{user}"
        );
    }
}

#[test]
fn answers_with_missing_or_extra_fields_give_kept_tests() {
    for name in ["minimal", "content_parts", "azure_reasoning_deployment"] {
        let e = Entry::load(name);
        let stub = stub_for(&e);
        kept_tests_with(&e, env_for(&e, &stub), stub);
    }
}

#[test]
fn a_401_with_20_targets_sends_one_request_and_says_so_once() {
    let e = Entry::load("openai_401");
    let stub = stub_for(&e);
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("many");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    let mut src = String::new();
    for n in 0..20 {
        src.push_str(&format!(
            "def f{n}(x):\n    if x > {n}:\n        return x - {n}\n    return {n}\n\n\n"
        ));
    }
    std::fs::write(pkg.join("funcs.py"), src).unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"many\"\nversion = \"0\"\n",
    )
    .unwrap();
    let (report, out) = generate(dir.path(), &env_for(&e, &stub), &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{report}\n{err}");
    assert_eq!(stub.count(), 1, "one request for 20 targets:\n{err}");
    assert_eq!(
        err.matches("refused the request").count(),
        1,
        "one message:\n{err}"
    );
    assert!(
        err.contains("OPENAI_API_KEY") && !err.contains(KEY),
        "{err}"
    );
    assert!(
        !dir.path().join("tests/generated").exists(),
        "nothing written"
    );
}
