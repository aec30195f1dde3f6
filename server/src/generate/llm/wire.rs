//! What real servers send and want, beyond OpenAI's own contract: answers
//! read tolerantly (Ollama, vLLM and llama.cpp's server omit `id`,
//! `created` or `usage`, add `reasoning_content`, give `content` as a list
//! of parts or tool arguments as an object), error bodies in each server's
//! shape, and the request shape each model family takes (OpenAI's
//! reasoning models refuse `temperature` and `max_tokens`).

use serde::Deserialize;

use super::accounting::Usage;
use super::client::{Answer, FunctionCall, ToolCall};

/// Completion tokens an answer may take (`max_tokens`): room for a few
/// tests; a runaway answer stops there instead of burning the budget.
pub const ANSWER_TOKENS: u32 = 4096;
/// The same for a reasoning model (`max_completion_tokens`), whose hidden
/// reasoning counts against it too.
pub const REASONING_ANSWER_TOKENS: u32 = 16384;

/// OpenAI's reasoning families (o1, o3, o4-mini, gpt-5 but not the chat
/// variant), which take no `temperature` and want `max_completion_tokens`.
/// A router prefix (`openai/o3-mini`) is ignored.
pub fn is_reasoning_model(model: &str) -> bool {
    let m = model
        .rsplit('/')
        .next()
        .unwrap_or(model)
        .to_ascii_lowercase();
    let o_series = ["o1", "o3", "o4"].iter().any(|p| {
        m.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'))
    });
    let gpt5 = m
        .strip_prefix("gpt-5")
        .is_some_and(|rest| !rest.contains("chat"));
    o_series || gpt5
}

/// What a refused request says about the request's shape, when retrying
/// in another shape can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Misfit {
    /// The model or server takes no `tools` (Ollama's "does not support
    /// tools", vLLM without a tool parser, llama.cpp's server without
    /// `--jinja`).
    Tools,
    /// A reasoning model under a name the family check missed (an Azure
    /// deployment): `temperature` or `max_tokens` unsupported.
    ReasoningParams,
}

/// Whether the error body `text` of a 400 or 500 is one of the
/// [`Misfit`]s.
pub fn misfit(text: &str) -> Option<Misfit> {
    let detail = error_detail(text).to_ascii_lowercase();
    let tools = [
        "does not support tools",
        "tool choice requires",
        "tools param requires",
        "unsupported param: tools",
        "tools are not supported",
    ];
    if tools.iter().any(|t| detail.contains(t)) {
        return Some(Misfit::Tools);
    }
    let param = serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/param")
                .and_then(|p| p.as_str())
                .map(str::to_string)
        })
        .unwrap_or_default();
    let reasoning = matches!(param.as_str(), "temperature" | "max_tokens")
        || detail.contains("use 'max_completion_tokens'")
        || detail.contains("'temperature' is not supported")
        || detail.contains("'temperature' does not support");
    reasoning.then_some(Misfit::ReasoningParams)
}

/// The message of an error body in any of the shapes servers use:
/// OpenAI's and Azure's `{"error": {"message", "code"}}`, vLLM's
/// `{"object": "error", "message"}`, Ollama's native `{"error": "..."}`;
/// else the body's start.
pub fn error_detail(text: &str) -> String {
    let v: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let msg = v
        .as_ref()
        .and_then(|v| {
            v.pointer("/error/message")
                .or_else(|| v.get("message"))
                .or_else(|| v.get("error").filter(|e| e.is_string()))
                .or_else(|| v.get("detail").filter(|e| e.is_string()))
        })
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

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<WireUsage>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    message: Option<WireMessage>,
}

#[derive(Deserialize, Default)]
struct WireMessage {
    #[serde(default)]
    content: Option<Content>,
    #[serde(default)]
    tool_calls: Option<Vec<WireToolCall>>,
    /// OpenAI's refusal text, when the model declined.
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
    Other(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct Part {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct WireToolCall {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    function: Option<WireFunction>,
}

#[derive(Deserialize)]
struct WireFunction {
    #[serde(default)]
    name: String,
    /// JSON text as OpenAI sends it; some servers send the object itself.
    #[serde(default)]
    arguments: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

/// The first choice of a chat completion, whatever else the server put
/// around it or left out.
pub fn parse_answer(text: &str) -> Result<Answer, String> {
    let r: Response = serde_json::from_str(text)
        .map_err(|e| format!("the server's answer is not a chat completion ({e})"))?;
    let message = r
        .choices
        .into_iter()
        .next()
        .ok_or("the server's answer has no choices")?
        .message
        .unwrap_or_default();
    let content = match message.content {
        Some(Content::Text(t)) => Some(t),
        Some(Content::Parts(parts)) => Some(
            parts
                .into_iter()
                .filter(|p| {
                    p.kind
                        .as_deref()
                        .is_none_or(|k| k == "text" || k == "output_text")
                })
                .filter_map(|p| p.text)
                .collect::<Vec<_>>()
                .join(""),
        ),
        Some(Content::Other(_)) | None => message.refusal,
    };
    let tool_calls = message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
        .filter_map(|(n, c)| {
            let f = c.function?;
            let arguments = match f.arguments {
                Some(serde_json::Value::String(s)) => s,
                Some(serde_json::Value::Null) | None => "{}".into(),
                Some(other) => other.to_string(),
            };
            Some(ToolCall {
                id: c
                    .id
                    .filter(|i| !i.is_empty())
                    .unwrap_or_else(|| format!("call_{n}")),
                kind: "function".into(),
                function: FunctionCall {
                    name: f.name,
                    arguments,
                },
            })
        })
        .collect();
    let usage = r.usage.map_or(Usage::default(), |u| Usage {
        prompt_tokens: u.prompt_tokens.unwrap_or(0),
        completion_tokens: u.completion_tokens.unwrap_or(0),
    });
    Ok(Answer {
        content,
        tool_calls,
        usage,
        cached: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasoning_families() {
        for m in [
            "o1",
            "o1-mini",
            "o3-mini",
            "o4-mini",
            "gpt-5",
            "gpt-5-mini",
            "openai/o3",
        ] {
            assert!(is_reasoning_model(m), "{m}");
        }
        for m in [
            "gpt-4o-mini",
            "gpt-4.1",
            "gpt-5-chat-latest",
            "llama3",
            "o1x",
            "omni",
        ] {
            assert!(!is_reasoning_model(m), "{m}");
        }
    }

    #[test]
    fn error_bodies_in_each_shape() {
        assert_eq!(
            error_detail(
                r#"{"error":{"message":"no such deployment","code":"DeploymentNotFound"}}"#
            ),
            "no such deployment [DeploymentNotFound]"
        );
        assert_eq!(
            error_detail(r#"{"object":"error","message":"bad","code":400}"#),
            "bad"
        );
        assert_eq!(
            error_detail(r#"{"error":"model 'x' not found"}"#),
            "model 'x' not found"
        );
        assert_eq!(error_detail("plain"), "plain");
    }

    #[test]
    fn misfits() {
        let ollama = r#"{"error":{"message":"llama3 does not support tools","type":"api_error","param":null,"code":null}}"#;
        assert_eq!(misfit(ollama), Some(Misfit::Tools));
        let o3 = r#"{"error":{"message":"Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead.","type":"invalid_request_error","param":"max_tokens","code":"unsupported_parameter"}}"#;
        assert_eq!(misfit(o3), Some(Misfit::ReasoningParams));
        let key = r#"{"error":{"message":"Incorrect API key provided","code":"invalid_api_key"}}"#;
        assert_eq!(misfit(key), None);
    }

    #[test]
    fn content_as_parts_and_missing_fields() {
        let a = parse_answer(
            r#"{"choices":[{"message":{"content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]}}]}"#,
        )
        .unwrap();
        assert_eq!(a.content.as_deref(), Some("ab"));
        assert_eq!(a.usage, Usage::default());
        let a = parse_answer(
            r#"{"choices":[{"message":{"role":"assistant","content":null,"tool_calls":[{"function":{"name":"get_info","arguments":{"name":"f"}}}]}}]}"#,
        )
        .unwrap();
        assert_eq!(a.tool_calls[0].id, "call_0");
        assert_eq!(a.tool_calls[0].function.arguments, r#"{"name":"f"}"#);
        assert!(parse_answer(r#"{"choices":[]}"#).is_err());
    }
}
