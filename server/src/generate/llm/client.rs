//! One chat with the configured model: the request in the OpenAI wire shape
//! (async-openai's types), sent with reqwest to the provider's URL
//! (async-openai's `OpenAIConfig`/`AzureConfig` build it), retried on our
//! own schedule, bounded in concurrency, counted, capped and cached.
//!
//! async-openai's own client is not used for sending: its retry layer hides
//! the status code and the `Retry-After` header, which the schedule below
//! and the fail-fast messages need. Everything here is reusable by other
//! callers of the model (the fixer): [`Client::chat`].

use std::sync::Arc;
use std::time::Duration;

use async_openai::config::{AzureConfig, Config as _, OpenAIConfig};
use async_openai::types::chat::{
    ChatCompletionMessageToolCalls, CreateChatCompletionRequest, CreateChatCompletionResponse,
};
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::accounting::{Accounting, Usage};
use super::cache::Cache;
use super::settings::{Secret, Settings};
use crate::config::Provider;

/// The reference's backoff between attempts, seconds: five attempts.
pub const BACKOFF_S: [u64; 5] = [0, 2, 4, 8, 16];
/// A `Retry-After` longer than this is not waited for in full.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// One message of a conversation, in the OpenAI wire shape.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    fn text(role: &str, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
    pub fn system(content: impl Into<String>) -> Message {
        Message::text("system", content)
    }
    pub fn user(content: impl Into<String>) -> Message {
        Message::text("user", content)
    }
    /// The model's answer, as it goes back into the conversation.
    pub fn assistant(answer: &Answer) -> Message {
        Message {
            role: "assistant".into(),
            content: answer.content.clone(),
            tool_calls: answer.tool_calls.clone(),
            tool_call_id: None,
        }
    }
    pub fn tool(call_id: &str, content: impl Into<String>) -> Message {
        Message {
            role: "tool".into(),
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: Some(call_id.into()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    pub id: String,
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    pub function: FunctionCall,
}

fn function_kind() -> String {
    "function".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionCall {
    pub name: String,
    /// JSON text, as the model wrote it.
    pub arguments: String,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub description: &'static str,
    /// JSON schema of the arguments.
    pub parameters: serde_json::Value,
}

/// The model's answer to one request.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub content: Option<String>,
    pub tool_calls: Vec<ToolCall>,
    pub usage: Usage,
    /// Read from `.testgen/llm-cache/` (no call was made).
    #[serde(skip)]
    pub cached: bool,
}

#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum LlmError {
    /// 400/401/403/404 and bad settings: retrying cannot help.
    #[error("{0}")]
    Refused(String),
    /// Every attempt failed with a retryable error.
    #[error("{0}")]
    Unavailable(String),
    /// `llm.maxCalls` or `llm.maxTokens` stopped the run.
    #[error("{0}")]
    Cap(String),
    #[error("cancelled")]
    Cancelled,
}

/// Where requests go, resolved once.
#[derive(Debug, Clone)]
struct Endpoint {
    /// The chat completions URL, query included (Azure's api-version).
    url: reqwest::Url,
    headers: reqwest::header::HeaderMap,
}

/// The configured model, shared by every request of a run.
pub struct Client {
    settings: Settings,
    endpoint: Endpoint,
    http: reqwest::Client,
    slots: Semaphore,
    pub accounting: Arc<Accounting>,
    cache: Option<Cache>,
    /// Delays before each attempt (the first is normally 0).
    backoff: Vec<Duration>,
}

/// What one failed attempt means.
enum Attempt {
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Refused(String),
}

impl Client {
    pub fn new(settings: Settings) -> Result<Client, LlmError> {
        let endpoint = endpoint(&settings)?;
        let http = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.connect_timeout)
            .build()
            .map_err(|e| LlmError::Refused(format!("starting the HTTP client: {e}")))?;
        let cache = settings.cache_dir.clone().map(Cache::new);
        Ok(Client {
            slots: Semaphore::new(settings.max_concurrency.max(1)),
            accounting: Arc::new(Accounting::new(&settings)),
            backoff: BACKOFF_S.iter().map(|s| Duration::from_secs(*s)).collect(),
            settings,
            endpoint,
            http,
            cache,
        })
    }

    /// Another retry schedule (tests and benchmarks).
    pub fn with_backoff(mut self, backoff: Vec<Duration>) -> Client {
        self.backoff = backoff;
        self
    }

    /// Where requests go and which headers they carry (names only: the
    /// values hold the key).
    pub fn url_shape(&self) -> String {
        let mut names: Vec<&str> = self.endpoint.headers.keys().map(|k| k.as_str()).collect();
        names.sort();
        format!("POST {} (headers: {})", self.endpoint.url, names.join(", "))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The request body for `messages` (what `testgen prompt` prints and
    /// what the cache key hashes): the OpenAI shape, checked by
    /// async-openai's request type.
    pub fn body(&self, messages: &[Message], tools: &[Tool]) -> serde_json::Value {
        let mut body = serde_json::json!({
            "model": self.settings.model,
            "messages": messages,
            "temperature": 0.2,
        });
        if !tools.is_empty() {
            let tools: Vec<_> = tools
                .iter()
                .map(|t| serde_json::json!({"type": "function", "function": t}))
                .collect();
            body["tools"] = serde_json::Value::Array(tools);
        }
        body
    }

    /// Sends `messages` (with `tools` the model may call) and returns its
    /// answer: from the cache when the same model saw the same messages,
    /// else from the provider, retried on 429, 5xx, timeouts and
    /// connection errors.
    pub async fn chat(
        &self,
        messages: &[Message],
        tools: &[Tool],
        cancel: &CancellationToken,
    ) -> Result<Answer, LlmError> {
        let body = self.body(messages, tools);
        // The crate's request type is the contract of the wire shape.
        serde_json::from_value::<CreateChatCompletionRequest>(body.clone())
            .map_err(|e| LlmError::Refused(format!("building the request: {e}")))?;
        let key = Cache::key(&body);
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(&key)) {
            self.accounting.record_cached(&hit.usage);
            return Ok(Answer {
                cached: true,
                ..hit
            });
        }
        self.accounting.reserve()?;
        let _slot = tokio::select! {
            s = self.slots.acquire() => s.map_err(|_| LlmError::Cancelled)?,
            _ = cancel.cancelled() => return Err(LlmError::Cancelled),
        };
        let answer = self.send_with_retries(&body, cancel).await?;
        self.accounting.record(&answer.usage);
        if let Some(c) = &self.cache {
            c.put(&key, &answer);
        }
        Ok(answer)
    }

    async fn send_with_retries(
        &self,
        body: &serde_json::Value,
        cancel: &CancellationToken,
    ) -> Result<Answer, LlmError> {
        let mut last = String::new();
        let mut after = None;
        for (n, delay) in self.backoff.iter().enumerate() {
            let wait = after.map_or(*delay, |a: Duration| a.min(MAX_RETRY_AFTER));
            if !wait.is_zero() {
                tracing::info!(
                    attempt = n + 1,
                    wait_s = wait.as_secs_f64(),
                    "retrying the LLM request"
                );
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = cancel.cancelled() => return Err(LlmError::Cancelled),
                }
            }
            let sent = tokio::select! {
                r = self.send(body) => r,
                _ = cancel.cancelled() => return Err(LlmError::Cancelled),
            };
            match sent {
                Ok(a) => return Ok(a),
                Err(Attempt::Refused(m)) => return Err(LlmError::Refused(self.redact(m))),
                Err(Attempt::Retry { why, after: a }) => {
                    tracing::warn!("LLM request failed: {}", self.redact(why.clone()));
                    last = why;
                    after = a;
                }
            }
        }
        Err(LlmError::Unavailable(self.redact(format!(
            "{} at {} did not answer after {} attempts: {last}",
            self.settings.provider.describe(),
            self.settings.where_(),
            self.backoff.len()
        ))))
    }

    async fn send(&self, body: &serde_json::Value) -> Result<Answer, Attempt> {
        let response = self
            .http
            .post(self.endpoint.url.clone())
            .headers(self.endpoint.headers.clone())
            .json(body)
            .send()
            .await
            .map_err(|e| Attempt::Retry {
                why: transport_error(&e),
                after: None,
            })?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let text = response.text().await.map_err(|e| Attempt::Retry {
            why: transport_error(&e),
            after: None,
        })?;
        if status.is_success() {
            return parse_answer(&text).map_err(Attempt::Refused);
        }
        let detail = error_detail(&text);
        let code = status.as_u16();
        if code == 429 || status.is_server_error() || code == 408 {
            return Err(Attempt::Retry {
                why: format!("HTTP {code}: {detail}"),
                after: retry_after,
            });
        }
        Err(Attempt::Refused(self.refusal(code, &detail)))
    }

    /// One sentence naming the provider, what it said and the setting to fix.
    fn refusal(&self, code: u16, detail: &str) -> String {
        let s = &self.settings;
        let who = s.provider.describe();
        let hint = match (code, s.provider) {
            (401 | 403, _) => format!(
                "check the key in {} (llm.apiKeyEnv names the variable)",
                s.key_env.as_deref().unwrap_or("OPENAI_API_KEY")
            ),
            (404, Provider::Azure) => format!(
                "deployment {:?} was not found at {} (api-version {}): set AZURE_OPENAI_DEPLOYMENT (llm.model) to a deployment of that resource, or AZURE_OPENAI_ENDPOINT (llm.baseUrl) to its endpoint",
                s.model, s.base_url, s.api_version
            ),
            (404, _) => format!(
                "model {:?} or the URL {} is unknown there: check llm.model and llm.baseUrl",
                s.model,
                self.endpoint.url
            ),
            _ => "check llm.model and the request settings".into(),
        };
        format!("{who} refused the request (HTTP {code}: {detail}); {hint}")
    }

    /// Never lets the key out, even when a server echoes it.
    fn redact(&self, text: String) -> String {
        match &self.settings.key {
            Some(k) => k.redact(&text),
            None => text,
        }
    }
}

fn endpoint(s: &Settings) -> Result<Endpoint, LlmError> {
    let key = s.key.as_ref().map(Secret::expose).unwrap_or_default();
    if key.bytes().any(|b| !(0x20..0x7f).contains(&b)) {
        return Err(LlmError::Refused(format!(
            "the API key in {} holds characters an HTTP header cannot carry",
            s.key_env.as_deref().unwrap_or("the key variable")
        )));
    }
    let base = s.base_url.trim_end_matches('/').to_string();
    let (url, query, headers) = match s.provider {
        Provider::Azure => {
            let c = AzureConfig::new()
                .with_api_base(base)
                .with_deployment_id(s.model.clone())
                .with_api_version(s.api_version.clone())
                .with_api_key(key);
            let q: Vec<(String, String)> = c
                .query()
                .into_iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect();
            (c.url("/chat/completions"), q, c.headers())
        }
        Provider::Openai | Provider::OpenaiCompatible => {
            let c = OpenAIConfig::new().with_api_base(base).with_api_key(key);
            let mut h = c.headers();
            if key.is_empty() {
                // A local server without a key: no empty `Bearer`.
                h.remove(reqwest::header::AUTHORIZATION);
            }
            (c.url("/chat/completions"), Vec::new(), h)
        }
    };
    let mut url = reqwest::Url::parse(&url).map_err(|e| {
        LlmError::Refused(format!(
            "llm.baseUrl {:?} is not a URL ({e}): give the server's address, e.g. http://localhost:11434/v1",
            s.base_url
        ))
    })?;
    if !query.is_empty() {
        url.query_pairs_mut().extend_pairs(query);
    }
    Ok(Endpoint { url, headers })
}

fn transport_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "the request timed out (llm.timeoutS, OPENAI_REQUEST_TIMEOUT)".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        // reqwest's Display names the URL, never the headers.
        format!("{e}")
    }
}

fn retry_after(h: &reqwest::header::HeaderMap) -> Option<Duration> {
    let v = h.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(s) = v.parse::<f64>() {
        return (s >= 0.0 && s.is_finite()).then(|| Duration::from_secs_f64(s));
    }
    let when = httpdate(v)?;
    Some(
        when.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

/// An HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`).
fn httpdate(v: &str) -> Option<std::time::SystemTime> {
    humantime::parse_rfc3339_weak(&{
        let parts: Vec<&str> = v.split_whitespace().collect();
        let [_, day, mon, year, time, _] = parts.as_slice() else {
            return None;
        };
        let months = [
            "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
        ];
        let m = months.iter().position(|x| x == mon)? + 1;
        format!("{year}-{m:02}-{:0>2} {time}", day)
    })
    .ok()
}

/// The `error.message` of an OpenAI-shaped error body, else the body's
/// start.
fn error_detail(text: &str) -> String {
    let v: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let msg = v
        .as_ref()
        .and_then(|v| v.pointer("/error/message").or_else(|| v.get("message")))
        .and_then(|m| m.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| text.chars().take(200).collect());
    let code = v
        .as_ref()
        .and_then(|v| v.pointer("/error/code"))
        .and_then(|c| c.as_str())
        .map(|c| format!(" [{c}]"))
        .unwrap_or_default();
    format!("{}{code}", msg.trim())
}

fn parse_answer(text: &str) -> Result<Answer, String> {
    let r: CreateChatCompletionResponse = serde_json::from_str(text)
        .map_err(|e| format!("the server's answer is not an OpenAI chat completion ({e})"))?;
    let choice = r
        .choices
        .into_iter()
        .next()
        .ok_or("the server's answer has no choices")?;
    let tool_calls = choice
        .message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| match c {
            ChatCompletionMessageToolCalls::Function(f) => Some(ToolCall {
                id: f.id,
                kind: function_kind(),
                function: FunctionCall {
                    name: f.function.name,
                    arguments: f.function.arguments,
                },
            }),
            ChatCompletionMessageToolCalls::Custom(_) => None,
        })
        .collect();
    let usage = r.usage.map_or(Usage::default(), |u| Usage {
        prompt_tokens: u64::from(u.prompt_tokens),
        completion_tokens: u64::from(u.completion_tokens),
    });
    Ok(Answer {
        content: choice.message.content,
        tool_calls,
        usage,
        cached: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_in_seconds_and_as_a_date() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(3)));
        h.insert(
            "retry-after",
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date in the past");
        assert!(httpdate("Wed, 21 Oct 2015 07:28:00 GMT").is_some());
    }

    #[test]
    fn error_bodies_in_openai_shape() {
        assert_eq!(
            error_detail(
                r#"{"error":{"message":"no such deployment","code":"DeploymentNotFound"}}"#
            ),
            "no such deployment [DeploymentNotFound]"
        );
        assert_eq!(error_detail("plain"), "plain");
    }
}
