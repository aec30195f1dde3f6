//! The fixer's [`Model`] over the LLM engine's chat client
//! (`generate::llm::client::Client`): the same settings, retries, token
//! caps, accounting and response cache (`.testgen/llm-cache/`) as
//! generation, and prompts from the same templates (`prompts/fix_*.j2`,
//! overridable in `.testgen/prompts/`).
//!
//! Classifying is one request answered with a JSON object (one more if the
//! answer cannot be read). Repairing one test is one conversation: the 1st
//! attempt shows the test and its context; the 2nd is told, in the same
//! conversation, why the 1st failed; the 3rd is asked for a different
//! approach. The key never reaches a prompt, and the client redacts it
//! from every error message.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Mutex;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::classify::Kind;
use super::model::{Attempt, Context, Model, ModelError, Verdict};
use crate::config::{Config, EngineChoice};
use crate::generate::llm::accounting::RunUsage;
use crate::generate::llm::client::{LlmError, Message};
use crate::generate::llm::prompt::Prompts;
use crate::generate::llm::LlmEngine;

/// Unreadable classification answers asked again, at most.
const CLASSIFY_RETRIES: usize = 1;

pub struct LlmModel {
    /// Shares the client (and so the caps, accounting and cache) with a
    /// generation of the same run.
    engine: LlmEngine,
    prompts: Prompts,
    cancel: CancellationToken,
    /// Each test's repair conversation so far, by node id.
    conversations: Mutex<BTreeMap<String, Vec<Message>>>,
}

impl std::fmt::Debug for LlmModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmModel")
            .field("engine", &self.engine)
            .finish()
    }
}

/// The fixer's model for the project at `root`, resolved as the
/// generation engine is: none when `engine = "explore"` or, under `auto`,
/// when no `llm.provider` is set; `engine = "llm"` without one, or a
/// provider with incomplete settings, is an error naming the setting.
pub fn from_config(
    config: &Config,
    root: &Path,
    no_cache: bool,
    cancel: &CancellationToken,
) -> Result<Option<LlmModel>, String> {
    if !configured(config) && config.engine != EngineChoice::Llm {
        return Ok(None);
    }
    let engine = LlmEngine::from_config(config, root, no_cache)?;
    LlmModel::new(engine, root, cancel).map(Some)
}

/// Whether [`from_config`] gives a model (settings aside): what the
/// editor's "Fix failing test" action tells before it runs.
pub fn configured(config: &Config) -> bool {
    config.engine != EngineChoice::Explore && config.llm.provider.is_some()
}

impl LlmModel {
    pub fn new(
        engine: LlmEngine,
        root: &Path,
        cancel: &CancellationToken,
    ) -> Result<LlmModel, String> {
        Ok(LlmModel {
            engine,
            prompts: Prompts::load(root)?,
            cancel: cancel.clone(),
            conversations: Mutex::default(),
        })
    }

    fn system(&self, ctx: &Context, task: &str) -> Result<Message, ModelError> {
        let text = self
            .prompts
            .render(
                "fix_system.j2",
                minijinja::context! { framework => ctx.framework, task => task },
            )
            .map_err(ModelError::Failed)?;
        Ok(Message::system(text))
    }

    async fn ask(&self, messages: &[Message]) -> Result<String, ModelError> {
        let answer = self
            .engine
            .client()
            .chat(messages, &[], &self.cancel)
            .await
            .map_err(|e| match e {
                LlmError::Cancelled => ModelError::Cancelled,
                e => ModelError::Failed(e.to_string()),
            })?;
        Ok(answer.content.unwrap_or_default())
    }
}

impl Model for LlmModel {
    fn name(&self) -> String {
        let s = self.engine.client().settings();
        format!("{}/{}", s.provider.as_str(), s.model)
    }

    fn usage(&self) -> Option<RunUsage> {
        Some(self.engine.usage())
    }

    async fn classify(&self, ctx: &Context) -> Result<Verdict, ModelError> {
        let user = self
            .prompts
            .render("fix_classify.j2", ctx)
            .map_err(ModelError::Failed)?;
        let mut messages = vec![self.system(ctx, "classify")?, Message::user(user)];
        let mut why = String::new();
        for _ in 0..=CLASSIFY_RETRIES {
            let text = self.ask(&messages).await?;
            match parse_verdict(&text) {
                Ok(v) => return Ok(v),
                Err(e) => {
                    tracing::info!(test = %ctx.nodeid, "classification unreadable ({e}): asking again");
                    messages.push(Message::assistant(&crate::generate::llm::client::Answer {
                        content: Some(text),
                        ..Default::default()
                    }));
                    messages.push(Message::user(format!(
                        "Your answer could not be read: {e}. Answer with the JSON object only: {{\"classification\": \"test_mistake\" or \"code_bug\", \"reason\": \"...\"}}"
                    )));
                    why = e;
                }
            }
        }
        Err(ModelError::Failed(format!(
            "the model's classification could not be read: {why}"
        )))
    }

    async fn repair(&self, ctx: &Context, attempt: &Attempt) -> Result<String, ModelError> {
        let earlier = self
            .conversations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&ctx.nodeid)
            .cloned()
            .filter(|_| attempt.number > 1);
        let mut messages = match earlier {
            Some(mut m) => {
                let text = self
                    .prompts
                    .render(
                        "fix_retry.j2",
                        minijinja::context! {
                            previous => attempt.number - 1,
                            previous_failure => attempt.previous_failure.as_deref().unwrap_or("it did not pass"),
                            different_approach => attempt.different_approach,
                        },
                    )
                    .map_err(ModelError::Failed)?;
                m.push(Message::user(text));
                m
            }
            None => {
                let text = self
                    .prompts
                    .render(
                        "fix_repair.j2",
                        minijinja::context! {
                            previous_failure => attempt.previous_failure,
                            different_approach => attempt.different_approach,
                            ..minijinja::Value::from_serialize(ctx)
                        },
                    )
                    .map_err(ModelError::Failed)?;
                vec![self.system(ctx, "repair")?, Message::user(text)]
            }
        };
        let text = self.ask(&messages).await?;
        messages.push(Message::assistant(&crate::generate::llm::client::Answer {
            content: Some(text.clone()),
            ..Default::default()
        }));
        self.conversations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(ctx.nodeid.clone(), messages);
        if text.trim().is_empty() {
            return Err(ModelError::Failed("the model's answer was empty".into()));
        }
        Ok(text)
    }
}

#[derive(Deserialize)]
struct Answer {
    #[serde(alias = "verdict", alias = "kind")]
    classification: String,
    #[serde(default)]
    reason: String,
}

/// The JSON object of a classification answer (fenced or not, prose
/// around it allowed).
fn parse_verdict(text: &str) -> Result<Verdict, String> {
    let (Some(a), Some(b)) = (text.find('{'), text.rfind('}')) else {
        return Err("it holds no JSON object".into());
    };
    if b < a {
        return Err("it holds no JSON object".into());
    }
    let answer: Answer = serde_json::from_str(&text[a..=b])
        .map_err(|e| format!("its JSON object is not {{classification, reason}} ({e})"))?;
    let kind = match answer
        .classification
        .trim()
        .to_ascii_lowercase()
        .replace([' ', '-'], "_")
        .as_str()
    {
        "test_mistake" => Kind::TestMistake,
        "code_bug" => Kind::CodeBug,
        other => {
            return Err(format!(
                "classification {other:?} is neither test_mistake nor code_bug"
            ))
        }
    };
    let reason = match answer.reason.trim() {
        "" => "the model gave no reason".to_string(),
        r => r.to_string(),
    };
    Ok(Verdict { kind, reason })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::model::Snippet;
    use crate::generate::llm::prompt::Prompts;

    #[test]
    fn verdicts_are_read_from_json_answers() {
        let v = parse_verdict(
            "Here:\n```json\n{\"classification\": \"code_bug\", \"reason\": \"off by one\"}\n```",
        )
        .unwrap();
        assert_eq!(v.kind, Kind::CodeBug);
        assert_eq!(v.reason, "off by one");
        let v = parse_verdict("{\"verdict\": \"Test mistake\"}").unwrap();
        assert_eq!(v.kind, Kind::TestMistake);
        assert_eq!(v.reason, "the model gave no reason");
        assert!(parse_verdict("it is a test mistake").is_err());
        let e = parse_verdict("{\"classification\": \"unknown\"}").unwrap_err();
        assert!(e.contains("neither"), "{e}");
    }

    fn ctx() -> Context {
        Context {
            nodeid: "tests/test_a.py::test_tax".into(),
            file: "tests/test_a.py".into(),
            test_source: "def test_tax():\n    assert add_tax(10) == 11.0\n".into(),
            error: "AssertionError: assert 12.0 == 11.0".into(),
            traceback: "E   assert 12.0 == 11.0".into(),
            snippets: vec![Snippet {
                location: "shop/pricing.py:4".into(),
                why: "imported",
                source: "def add_tax(amount, rate=0.2):\n    return round(amount * (1 + rate), 2)"
                    .into(),
            }],
            routes: vec!["POST /items -> create_item (shop/api.py:14)".into()],
            framework: "fastapi".into(),
        }
    }

    #[test]
    fn the_prompts_show_the_context_and_the_attempt() {
        let p = Prompts::load(Path::new("/nonexistent")).unwrap();
        let c = ctx();
        let s = p
            .render(
                "fix_system.j2",
                minijinja::context! { framework => "fastapi", task => "classify" },
            )
            .unwrap();
        assert!(
            s.contains("test_mistake") && s.contains("lean to `code_bug`"),
            "{s}"
        );
        let u = p.render("fix_classify.j2", &c).unwrap();
        for part in [
            "tests/test_a.py::test_tax",
            "assert add_tax(10) == 11.0",
            "AssertionError: assert 12.0 == 11.0",
            "Imported by the test, `shop/pricing.py:4`",
            "POST /items -> create_item",
        ] {
            assert!(u.contains(part), "{part}: {u}");
        }
        let r = p
            .render(
                "fix_repair.j2",
                minijinja::context! {
                    previous_failure => "failed in run 1 of 3: boom",
                    different_approach => true,
                    ..minijinja::Value::from_serialize(&c)
                },
            )
            .unwrap();
        assert!(r.contains("assert add_tax(10) == 11.0"), "{r}");
        assert!(
            r.contains("did not pass: failed in run 1 of 3: boom"),
            "{r}"
        );
        assert!(r.contains("different approach"), "{r}");
        let again = p
            .render(
                "fix_retry.j2",
                minijinja::context! { previous => 1, previous_failure => "boom", different_approach => false },
            )
            .unwrap();
        assert!(again.contains("(attempt 1) did not pass: boom"), "{again}");
        assert!(!again.contains("different approach"), "{again}");
    }
}
