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

use std::sync::atomic::{AtomicBool, Ordering};

use async_openai::config::{AzureConfig, Config as _, OpenAIConfig};
use async_openai::types::chat::CreateChatCompletionRequest;
use serde::{Deserialize, Serialize};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::accounting::{Accounting, Usage};
use super::cache::Cache;
use super::settings::{Secret, Settings};
use super::wire::{self, Misfit};
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
    /// The server takes no `tools`: ask again without them (the client
    /// offers none from now on), with what they would have fetched in the
    /// prompt.
    #[error("{0}")]
    ToolsRefused(String),
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
    /// What this run learned about the server, kept for the whole run.
    learned: Learned,
}

/// The request shape a server turned out to want, and whether it refused
/// the run: learned from one answer, used for every later request.
#[derive(Default)]
struct Learned {
    /// The model takes no `temperature` and wants `max_completion_tokens`.
    reasoning: AtomicBool,
    /// The server takes no `tools`.
    no_tools: AtomicBool,
    /// One request has been answered: the settings work, requests may go
    /// out side by side.
    verified: AtomicBool,
    /// Until then, one request at a time: a bad key or an unknown model
    /// costs one request, not one per target.
    probe: tokio::sync::Mutex<()>,
    /// The refusal that stopped the run; every later request gets it
    /// without being sent.
    refused: std::sync::Mutex<Option<String>>,
}

/// What one failed attempt means.
enum Attempt {
    Retry {
        why: String,
        after: Option<Duration>,
    },
    Refused(String),
    /// The request's shape does not fit the server (see [`Misfit`]).
    Misfit(Misfit, String),
}

/// How [`Client::send_with_retries`] ended without an answer.
enum Sent {
    Misfit(Misfit, String),
    Error(LlmError),
}

impl Sent {
    fn into_error(self, c: &Client) -> LlmError {
        match self {
            Sent::Misfit(_, m) => LlmError::Refused(c.redact(m)),
            Sent::Error(e) => e,
        }
    }
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
        let learned = Learned::default();
        learned
            .reasoning
            .store(wire::is_reasoning_model(&settings.model), Ordering::Relaxed);
        Ok(Client {
            learned,
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
    /// Reasoning models get no `temperature` and `max_completion_tokens`
    /// for `max_tokens`; a server that refused tools gets none.
    pub fn body(&self, messages: &[Message], tools: &[Tool]) -> serde_json::Value {
        let mut body = serde_json::json!({
            "model": self.settings.model,
            "messages": messages,
        });
        if self.learned.reasoning.load(Ordering::Relaxed) {
            body["max_completion_tokens"] = wire::REASONING_ANSWER_TOKENS.into();
        } else {
            body["temperature"] = 0.2.into();
            body["max_tokens"] = wire::ANSWER_TOKENS.into();
        }
        if !tools.is_empty() && self.tools_supported() {
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
        let probe = self.probe(cancel).await?;
        if !tools.is_empty() && !self.tools_supported() {
            // Learned while this request waited: its prompt was written
            // for tools.
            return Err(LlmError::ToolsRefused("the server takes no tools".into()));
        }
        // What was learned while waiting changes the shape.
        let body = self.body(messages, tools);
        self.accounting.reserve()?;
        let _slot = tokio::select! {
            s = self.slots.acquire() => s.map_err(|_| LlmError::Cancelled)?,
            _ = cancel.cancelled() => return Err(LlmError::Cancelled),
        };
        let sent = self.send_adapting(messages, tools, body, cancel).await;
        match &sent {
            Ok(_) => self.learned.verified.store(true, Ordering::Relaxed),
            Err(LlmError::Refused(m)) => {
                *self
                    .learned
                    .refused
                    .lock()
                    .unwrap_or_else(|e| e.into_inner()) = Some(m.clone())
            }
            Err(_) => {}
        }
        drop(probe);
        let (answer, body) = sent?;
        self.accounting.record(&answer.usage);
        if let Some(c) = &self.cache {
            c.put(&Cache::key(&body), &answer);
        }
        Ok(answer)
    }

    /// Whether the server takes `tools` (as far as this run has seen).
    pub fn tools_supported(&self) -> bool {
        !self.learned.no_tools.load(Ordering::Relaxed)
    }

    /// Waits for the right to send: at once when a request of this run was
    /// answered, else one at a time; a refusal of the run is returned here,
    /// before anything is sent.
    async fn probe(
        &self,
        cancel: &CancellationToken,
    ) -> Result<Option<tokio::sync::MutexGuard<'_, ()>>, LlmError> {
        let refused = || {
            self.learned
                .refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        };
        if let Some(m) = refused() {
            return Err(LlmError::Refused(m));
        }
        if self.learned.verified.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let guard = tokio::select! {
            g = self.learned.probe.lock() => g,
            _ = cancel.cancelled() => return Err(LlmError::Cancelled),
        };
        if let Some(m) = refused() {
            return Err(LlmError::Refused(m));
        }
        Ok((!self.learned.verified.load(Ordering::Relaxed)).then_some(guard))
    }

    /// Sends `body`; when the server says the request's shape does not fit
    /// it (reasoning parameters), learns the shape and sends once more.
    /// Tools refused are learned and returned as [`LlmError::ToolsRefused`]
    /// (the caller rewrites its prompt). Returns the body that was answered.
    async fn send_adapting(
        &self,
        messages: &[Message],
        tools: &[Tool],
        body: serde_json::Value,
        cancel: &CancellationToken,
    ) -> Result<(Answer, serde_json::Value), LlmError> {
        match self.send_with_retries(&body, cancel).await {
            Err(Sent::Misfit(Misfit::Tools, why)) => {
                tracing::warn!(
                    "{}: asking without tools from now on",
                    self.redact(why.clone())
                );
                self.learned.no_tools.store(true, Ordering::Relaxed);
                Err(LlmError::ToolsRefused(self.redact(why)))
            }
            Err(Sent::Misfit(Misfit::ReasoningParams, why))
                if !self.learned.reasoning.swap(true, Ordering::Relaxed) =>
            {
                tracing::warn!(
                    "{}: sending max_completion_tokens and no temperature from now on",
                    self.redact(why)
                );
                let body = self.body(messages, tools);
                match self.send_with_retries(&body, cancel).await {
                    Ok(a) => Ok((a, body)),
                    Err(e) => Err(e.into_error(self)),
                }
            }
            Err(e) => Err(e.into_error(self)),
            Ok(a) => Ok((a, body)),
        }
    }

    async fn send_with_retries(
        &self,
        body: &serde_json::Value,
        cancel: &CancellationToken,
    ) -> Result<Answer, Sent> {
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
                    _ = cancel.cancelled() => return Err(Sent::Error(LlmError::Cancelled)),
                }
            }
            let sent = tokio::select! {
                r = self.send(body) => r,
                _ = cancel.cancelled() => return Err(Sent::Error(LlmError::Cancelled)),
            };
            match sent {
                Ok(a) => return Ok(a),
                Err(Attempt::Refused(m)) => {
                    return Err(Sent::Error(LlmError::Refused(self.redact(m))))
                }
                Err(Attempt::Misfit(kind, m)) => return Err(Sent::Misfit(kind, m)),
                Err(Attempt::Retry { why, after: a }) => {
                    tracing::warn!("LLM request failed: {}", self.redact(why.clone()));
                    last = why;
                    after = a;
                }
            }
        }
        Err(Sent::Error(LlmError::Unavailable(self.redact(format!(
            "{} at {} did not answer after {} attempts: {last}",
            self.settings.provider.describe(),
            self.settings.where_(),
            self.backoff.len()
        )))))
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
            return wire::parse_answer(&text).map_err(Attempt::Refused);
        }
        let detail = wire::error_detail(&text);
        let code = status.as_u16();
        if code == 400 || code == 500 {
            // llama.cpp's server answers 500 to tools it cannot template.
            if let Some(kind) = wire::misfit(&text) {
                return Err(Attempt::Misfit(kind, self.refusal(code, &detail)));
            }
        }
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
}
