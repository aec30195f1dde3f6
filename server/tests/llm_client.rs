//! The LLM client against the local OpenAI-compatible stub: the exact
//! requests of OpenAI, Azure OpenAI and a base-URL server (paths, headers,
//! api-version, body, the get_info tool schema), retries with Retry-After,
//! 5xx, timeouts, fail-fast 401 and Azure 404 messages, the cache, the caps
//! and the concurrency bound. The key never appears in an error.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::llm_stub::{Reply, Stub};
use testgen::config::{LlmConfig, Provider};
use testgen::generate::llm::client::{Client, LlmError, Message};
use testgen::generate::llm::get_info_tool;
use testgen::generate::llm::settings::Settings;
use tokio_util::sync::CancellationToken;

const KEY: &str = "sk-test-SECRET-0123456789abcdef";

fn settings(provider: Provider, base: &str, f: impl FnOnce(&mut LlmConfig)) -> Settings {
    let mut c = LlmConfig {
        provider: Some(provider),
        model: Some("gpt-4o-mini".into()),
        base_url: Some(base.into()),
        cache: false,
        ..LlmConfig::default()
    };
    f(&mut c);
    Settings::resolve(&c, Path::new("/nonexistent"), |k| {
        matches!(k, "OPENAI_API_KEY" | "AZURE_OPENAI_API_KEY").then(|| KEY.to_string())
    })
    .unwrap()
}

fn messages() -> Vec<Message> {
    vec![
        Message::system("You write tests."),
        Message::user("Test f."),
    ]
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn chat(client: &Client) -> Result<testgen::generate::llm::client::Answer, LlmError> {
    rt().block_on(client.chat(&messages(), &[get_info_tool()], &CancellationToken::new()))
}

#[test]
fn openai_request_shape() {
    let stub = Stub::start(|_, _| Reply::text("```python\ndef test_a():\n    assert True\n```"));
    let client = Client::new(settings(Provider::Openai, &stub.url("/v1"), |_| {})).unwrap();
    let a = chat(&client).unwrap();
    assert!(a.content.unwrap().contains("def test_a"));
    assert_eq!(a.usage.prompt_tokens, 100);
    let r = &stub.recorded()[0];
    assert_eq!(r.method, "POST");
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), Some(&*format!("Bearer {KEY}")));
    assert_eq!(r.header("api-key"), None);
    assert_eq!(r.body["model"], "gpt-4o-mini");
    assert_eq!(r.body["messages"][0]["role"], "system");
    assert_eq!(r.body["messages"][1]["content"], "Test f.");
    let tool = &r.body["tools"][0];
    assert_eq!(tool["type"], "function");
    assert_eq!(tool["function"]["name"], "get_info");
    assert_eq!(tool["function"]["parameters"]["required"][0], "name");
    assert_eq!(
        tool["function"]["parameters"]["properties"]["name"]["type"],
        "string"
    );
    let u = client.accounting.snapshot();
    assert_eq!(
        (u.calls, u.prompt_tokens, u.completion_tokens),
        (1, 100, 50)
    );
    assert!(u.cost_usd > 0.0, "gpt-4o-mini has a table price");
}

#[test]
fn azure_request_shape() {
    let stub = Stub::start(|_, _| Reply::text("ok"));
    let s = settings(Provider::Azure, &stub.url(""), |c| {
        c.model = Some("my-deploy".into())
    });
    let client = Client::new(s).unwrap();
    chat(&client).unwrap();
    let r = &stub.recorded()[0];
    assert_eq!(
        r.path,
        "/openai/deployments/my-deploy/chat/completions?api-version=2024-02-15-preview"
    );
    assert_eq!(r.header("api-key"), Some(KEY));
    assert_eq!(r.header("authorization"), None);
}

#[test]
fn compatible_server_without_a_key() {
    let stub = Stub::start(|_, _| Reply::text("ok"));
    let c = LlmConfig {
        provider: Some(Provider::OpenaiCompatible),
        model: Some("llama3".into()),
        base_url: Some(stub.url("/v1/")),
        cache: false,
        ..LlmConfig::default()
    };
    let s = Settings::resolve(&c, Path::new("/x"), |_| None).unwrap();
    let client = Client::new(s).unwrap();
    chat(&client).unwrap();
    let r = &stub.recorded()[0];
    assert_eq!(r.path, "/v1/chat/completions");
    assert_eq!(r.header("authorization"), None, "no empty Bearer");
    assert_eq!(r.body["model"], "llama3");
    assert_eq!(
        client.accounting.snapshot().cost_usd,
        0.0,
        "unknown model: no price"
    );
}

#[test]
fn a_429_waits_for_retry_after_then_succeeds() {
    let stub = Stub::start(|_, n| {
        if n == 0 {
            Reply::error(429, "slow down", "rate_limit_exceeded").with_header("Retry-After", "1")
        } else {
            Reply::text("ok")
        }
    });
    let client = Client::new(settings(Provider::Openai, &stub.url("/v1"), |_| {})).unwrap();
    let started = Instant::now();
    let a = chat(&client).unwrap();
    assert_eq!(a.content.as_deref(), Some("ok"));
    assert_eq!(stub.count(), 2);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(950) && waited < Duration::from_secs(2),
        "Retry-After: 1 honoured over the schedule's 2 s: {waited:?}"
    );
}

#[test]
fn a_500_is_retried_on_the_schedule_then_reported() {
    let stub = Stub::start(|_, _| Reply::error(500, "boom", "server_error"));
    let client = Client::new(settings(Provider::Openai, &stub.url("/v1"), |_| {}))
        .unwrap()
        .with_backoff(vec![
            Duration::ZERO,
            Duration::from_millis(50),
            Duration::from_millis(50),
        ]);
    let e = chat(&client).unwrap_err();
    assert_eq!(stub.count(), 3, "every attempt of the schedule");
    let m = e.to_string();
    assert!(matches!(e, LlmError::Unavailable(_)), "{m}");
    assert!(m.contains("HTTP 500") && m.contains("3 attempts"), "{m}");
}

#[test]
fn the_default_schedule_is_the_reference_one() {
    assert_eq!(testgen::generate::llm::client::BACKOFF_S, [0, 2, 4, 8, 16]);
}

#[test]
fn a_hang_past_the_timeout_is_retried_then_reported() {
    let stub = Stub::start(|_, _| Reply::text("late").after(Duration::from_secs(3)));
    let s = settings(Provider::Openai, &stub.url("/v1"), |c| c.timeout_s = 0.5);
    let client = Client::new(s)
        .unwrap()
        .with_backoff(vec![Duration::ZERO, Duration::ZERO]);
    let started = Instant::now();
    let e = chat(&client).unwrap_err().to_string();
    assert!(e.contains("timed out"), "{e}");
    assert_eq!(stub.count(), 2);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn a_401_fails_fast_naming_the_setting_never_the_key() {
    let stub = Stub::start(|_, _| {
        Reply::error(
            401,
            &format!("Incorrect API key provided: {KEY}"),
            "invalid_api_key",
        )
    });
    let client = Client::new(settings(Provider::Openai, &stub.url("/v1"), |_| {})).unwrap();
    let e = chat(&client).unwrap_err();
    assert_eq!(stub.count(), 1, "no retry");
    let m = e.to_string();
    assert!(matches!(e, LlmError::Refused(_)));
    assert!(
        m.contains("OpenAI") && m.contains("OPENAI_API_KEY") && m.contains("401"),
        "{m}"
    );
    assert!(!m.contains(KEY), "the echoed key is redacted: {m}");
}

#[test]
fn an_azure_404_names_deployment_endpoint_and_setting() {
    let stub = Stub::start(|_, _| {
        Reply::error(
            404,
            "The API deployment for this resource does not exist.",
            "DeploymentNotFound",
        )
    });
    let base = stub.url("");
    let s = settings(Provider::Azure, &base, |c| {
        c.model = Some("gpt4-prod".into())
    });
    let client = Client::new(s).unwrap();
    let m = chat(&client).unwrap_err().to_string();
    assert_eq!(stub.count(), 1);
    for want in [
        "Azure OpenAI",
        "gpt4-prod",
        base.as_str(),
        "AZURE_OPENAI_DEPLOYMENT",
        "DeploymentNotFound",
        "2024-02-15-preview",
    ] {
        assert!(m.contains(want), "{want:?} missing from: {m}");
    }
}

#[test]
fn the_cache_answers_a_repeated_request() {
    let stub = Stub::start(|_, _| Reply::text("cached answer"));
    let dir = tempfile::tempdir().unwrap();
    let mut c = LlmConfig {
        provider: Some(Provider::Openai),
        model: Some("gpt-4o-mini".into()),
        base_url: Some(stub.url("/v1")),
        ..LlmConfig::default()
    };
    let s = Settings::resolve(&c, dir.path(), |_| Some(KEY.into())).unwrap();
    let first = Client::new(s).unwrap();
    chat(&first).unwrap();
    // A new client (a new run) over the same directory: no request.
    let s = Settings::resolve(&c, dir.path(), |_| Some(KEY.into())).unwrap();
    let second = Client::new(s).unwrap();
    let a = chat(&second).unwrap();
    assert!(a.cached);
    assert_eq!(a.content.as_deref(), Some("cached answer"));
    assert_eq!(stub.count(), 1);
    assert_eq!(second.accounting.snapshot().calls, 0);
    assert_eq!(second.accounting.snapshot().cached, 1);
    for e in std::fs::read_dir(dir.path().join(".testgen/llm-cache")).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        assert!(!text.contains(KEY));
    }
    // --no-cache (cache off) asks again.
    c.cache = false;
    let s = Settings::resolve(&c, dir.path(), |_| Some(KEY.into())).unwrap();
    chat(&Client::new(s).unwrap()).unwrap();
    assert_eq!(stub.count(), 2);
}

#[test]
fn caps_stop_the_run_and_say_so() {
    let stub = Stub::start(|_, _| Reply::text("ok"));
    let s = settings(Provider::Openai, &stub.url("/v1"), |c| {
        c.max_calls = Some(1)
    });
    let client = Client::new(s).unwrap();
    let runtime = rt();
    let cancel = CancellationToken::new();
    runtime
        .block_on(client.chat(&[Message::user("one")], &[], &cancel))
        .unwrap();
    let e = runtime
        .block_on(client.chat(&[Message::user("two")], &[], &cancel))
        .unwrap_err();
    assert!(matches!(e, LlmError::Cap(_)));
    assert!(e.to_string().contains("llm.maxCalls"), "{e}");
    assert_eq!(stub.count(), 1);
    assert!(client.accounting.snapshot().stopped.is_some());

    let s = settings(Provider::Openai, &stub.url("/v1"), |c| {
        c.max_tokens = Some(100)
    });
    let client = Client::new(s).unwrap();
    runtime
        .block_on(client.chat(&[Message::user("one")], &[], &cancel))
        .unwrap();
    let e = runtime
        .block_on(client.chat(&[Message::user("two")], &[], &cancel))
        .unwrap_err();
    assert!(e.to_string().contains("llm.maxTokens"), "{e}");
}

#[test]
fn concurrency_is_bounded() {
    let stub = Stub::start(|_, _| Reply::text("ok").after(Duration::from_millis(300)));
    let s = settings(Provider::Openai, &stub.url("/v1"), |c| {
        c.max_concurrency = 2
    });
    let client = Client::new(s).unwrap();
    let cancel = CancellationToken::new();
    rt().block_on(async {
        let calls = (0..6).map(|i| {
            let m = vec![Message::user(format!("call {i}"))];
            let (client, cancel) = (&client, &cancel);
            async move { client.chat(&m, &[], cancel).await.unwrap() }
        });
        futures::future::join_all(calls).await;
    });
    assert_eq!(stub.count(), 6);
    assert_eq!(
        stub.max_in_flight.load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}
