//! The LLM engine: one conversation per target, with the target's context
//! (context.rs, within `llm.requestTokens`), the framework's system prompt
//! (prompts/), a `get_info` tool the model calls for more, and up to
//! [`REPAIR_ROUNDS`] repair rounds in the same conversation when its tests
//! fail validation. Requests go through [`client::Client`] (bounded,
//! retried, cached, counted); answers become tests in extract.rs. The
//! pipeline validates them like any engine's.
//!
//! `hybrid.rs` runs explore first and gives this engine only what explore
//! left uncovered, with explore's observations in the prompt.

pub mod accounting;
pub mod cache;
pub mod client;
pub mod context;
pub mod extract;
pub mod hybrid;
pub mod prompt;
pub mod settings;
pub mod wire;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::engine::{Engine, EngineError, Failure, Job, Proposal, Proposals};
use super::suspected::{self, Finder, SuspectedBug};
use super::targets::{NotTargeted, Target};
use crate::config::Config;
use client::{Answer, Client, LlmError, Message, Tool};
use context::Symbols;
use prompt::Prompts;

/// Repair rounds a failing test gets (in the same conversation).
pub const REPAIR_ROUNDS: u32 = 2;
/// `get_info` calls answered per answer of the model, at most.
const TOOL_ROUNDS: usize = 3;
/// Lines of a definition `get_info` returns at most.
const INFO_LINES: usize = 60;
/// Heads the definitions put in the prompt for a server without tools.
const INLINED: &str =
    "The `get_info` tool is not available; the project's definitions the code above uses:";

/// The tool the model calls for the definition of a project name.
pub fn get_info_tool() -> Tool {
    Tool {
        name: "get_info",
        description: "Returns the source of a function, class or method of the project under test, by name (`Class`, `function`, `Class.method` or `module.function`).",
        parameters: serde_json::json!({
            "type": "object",
            "properties": {
                "name": {"type": "string", "description": "The name to look up."}
            },
            "required": ["name"],
            "additionalProperties": false
        }),
    }
}

/// One target's conversation, kept for its repair rounds.
#[derive(Debug, Clone)]
struct Conversation {
    messages: Vec<Message>,
    rounds: u32,
}

impl Conversation {
    /// The model's answers in it define test `name`.
    fn wrote(&self, name: &str) -> bool {
        let def = format!("def {name}(");
        self.messages.iter().any(|m| {
            m.role == "assistant" && m.content.as_deref().is_some_and(|c| c.contains(&def))
        })
    }
}

#[derive(Clone)]
pub struct LlmEngine {
    client: Arc<Client>,
    prompts: Arc<Prompts>,
    conversations: Arc<Mutex<BTreeMap<String, Conversation>>>,
    /// Findings of explore per target (the hybrid fills them).
    findings: Arc<Mutex<BTreeMap<String, Vec<String>>>>,
}

impl std::fmt::Debug for LlmEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmEngine")
            .field("provider", &self.client.settings().provider)
            .field("model", &self.client.settings().model)
            .finish()
    }
}

/// The messages of one target's first request, as `testgen prompt` prints
/// them.
#[derive(Debug, Serialize)]
pub struct Dump {
    pub url_shape: String,
    pub request: serde_json::Value,
    pub estimated_prompt_tokens: u64,
}

impl LlmEngine {
    /// The engine the configuration describes for the project at `root`,
    /// the key read from the process environment.
    pub fn from_config(config: &Config, root: &Path, no_cache: bool) -> Result<LlmEngine, String> {
        let mut llm = config.llm.clone();
        if no_cache {
            llm.cache = false;
        }
        let settings = settings::Settings::resolve(&llm, root, |k| std::env::var(k).ok())?;
        let client = Client::new(settings).map_err(|e| e.to_string())?;
        LlmEngine::with_client(client, root)
    }

    pub fn with_client(client: Client, root: &Path) -> Result<LlmEngine, String> {
        Ok(LlmEngine {
            client: Arc::new(client),
            prompts: Arc::new(Prompts::load(root)?),
            conversations: Arc::default(),
            findings: Arc::default(),
        })
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn usage(&self) -> accounting::RunUsage {
        self.client.accounting.snapshot()
    }

    pub(crate) fn set_findings(&self, findings: BTreeMap<String, Vec<String>>) {
        *self.findings.lock().unwrap_or_else(|e| e.into_inner()) = findings;
    }

    /// The first request of `target`: system and user messages.
    pub fn first_messages(&self, sym: &Symbols, target: &Target) -> Result<Vec<Message>, String> {
        let findings = self
            .findings
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&target.id())
            .cloned()
            .unwrap_or_default();
        let budget = u64::from(self.client.settings().request_tokens);
        let cx = context::build(sym, target, &findings, budget);
        let system = self
            .prompts
            .render(&format!("system_{}_{}.j2", cx.framework, cx.kind), &cx)?;
        let user = self.prompts.render("user.j2", &cx)?;
        Ok(vec![Message::system(system), Message::user(user)])
    }

    /// What would be sent for `target`, without sending.
    pub fn dump(&self, sym: &Symbols, target: &Target) -> Result<Dump, String> {
        let messages = self.first_messages(sym, target)?;
        let tokens = messages
            .iter()
            .map(|m| context::tokens(m.content.as_deref().unwrap_or_default()))
            .sum();
        Ok(Dump {
            url_shape: self.client.url_shape(),
            request: self.client.body(&messages, &[get_info_tool()]),
            estimated_prompt_tokens: tokens,
        })
    }

    /// Asks until the model answers with text: its `get_info` calls are
    /// answered from the index (at most [`TOOL_ROUNDS`] times). A server
    /// that takes no tools gets what they would have fetched in the prompt
    /// instead, and the same request again.
    async fn converse(
        &self,
        sym: &Symbols,
        target: &Target,
        messages: &mut Vec<Message>,
        cancel: &CancellationToken,
    ) -> Result<String, LlmError> {
        let tools = [get_info_tool()];
        let mut round = 0;
        while round <= TOOL_ROUNDS {
            if !self.client.tools_supported() {
                self.inline_definitions(sym, target, messages);
            }
            let offer: &[Tool] = if round < TOOL_ROUNDS && self.client.tools_supported() {
                &tools
            } else {
                &[]
            };
            let answer: Answer = match self.client.chat(messages, offer, cancel).await {
                Err(LlmError::ToolsRefused(_)) if !offer.is_empty() => continue,
                Err(LlmError::ToolsRefused(m)) => return Err(LlmError::Unavailable(m)),
                other => other?,
            };
            round += 1;
            messages.push(Message::assistant(&answer));
            if answer.tool_calls.is_empty() {
                return Ok(answer.content.unwrap_or_default());
            }
            for call in &answer.tool_calls {
                let reply = if call.function.name == "get_info" {
                    let name = serde_json::from_str::<serde_json::Value>(&call.function.arguments)
                        .ok()
                        .and_then(|v| v.get("name").and_then(|n| n.as_str()).map(str::to_string))
                        .unwrap_or_default();
                    tracing::debug!(%name, "get_info");
                    sym.info(&name, INFO_LINES)
                } else {
                    format!("there is no tool named {:?}", call.function.name)
                };
                messages.push(Message::tool(&call.id, reply));
            }
        }
        Ok(String::new())
    }

    /// Adds to the conversation's first user message, once, the
    /// definitions `get_info` would have given.
    fn inline_definitions(&self, sym: &Symbols, target: &Target, messages: &mut [Message]) {
        let Some(first) = messages.iter_mut().find(|m| m.role == "user") else {
            return;
        };
        let text = first.content.get_or_insert_with(String::new);
        if text.contains(INLINED) {
            return;
        }
        let budget = u64::from(self.client.settings().request_tokens);
        let defs = sym.definitions_for(target, budget, INFO_LINES);
        text.push_str(&format!("\n\n{INLINED}"));
        if defs.trim().is_empty() {
            text.push_str(" none beyond what is shown above.\n");
        } else {
            text.push_str(&format!("\n```python\n{}```\n", defs));
        }
    }

    /// One target: the first answer, and up to [`REPAIR_ROUNDS`] more when
    /// it holds no usable test.
    async fn target(
        &self,
        sym: &Symbols,
        target: &Target,
        cancel: &CancellationToken,
    ) -> Result<Vec<Proposal>, LlmError> {
        let mut messages = self
            .first_messages(sym, target)
            .map_err(LlmError::Refused)?;
        let project = sym.extract_project(target);
        let mut rounds = 0;
        loop {
            let text = self.converse(sym, target, &mut messages, cancel).await?;
            match extract::extract(&text, &project) {
                Ok(found) => {
                    for r in &found.removed {
                        tracing::debug!(target = %target.id(), "removed from the answer: {r}");
                    }
                    self.remember(target, messages, rounds);
                    return Ok(found
                        .tests
                        .into_iter()
                        .map(|test| Proposal {
                            target: target.clone(),
                            test,
                            reaches: None,
                        })
                        .collect());
                }
                Err(why) if rounds < REPAIR_ROUNDS => {
                    rounds += 1;
                    tracing::info!(target = %target.id(), "answer unusable ({why}): asking again");
                    messages.push(Message::user(format!(
                        "Your answer could not be used: {why}. Answer again with one ```python block of top-level `def test_` functions and their imports."
                    )));
                }
                Err(why) => {
                    return Err(LlmError::Unavailable(format!(
                        "no usable test after {} answers: {why}",
                        rounds + 1
                    )))
                }
            }
        }
    }

    fn remember(&self, target: &Target, messages: Vec<Message>, rounds: u32) {
        self.conversations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(target.id(), Conversation { messages, rounds });
    }

    /// Runs `work` for each target at once (the client bounds the calls in
    /// flight), collecting proposals and the reasons of targets that got
    /// none. A refusal (bad key, unknown deployment) fails the whole batch:
    /// every other request would be refused the same way.
    async fn each_target<'a, F, Fut>(
        &'a self,
        targets: Vec<Target>,
        cancel: &CancellationToken,
        work: F,
    ) -> Result<Proposals, EngineError>
    where
        F: Fn(Target) -> Fut,
        Fut: std::future::Future<Output = (Target, Result<Vec<Proposal>, LlmError>)> + 'a,
    {
        let results = futures::future::join_all(targets.into_iter().map(work)).await;
        if cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        let mut out = Proposals::default();
        for (target, r) in results {
            match r {
                Ok(mut tests) => out.tests.append(&mut tests),
                Err(LlmError::Cancelled) => return Err(EngineError::Cancelled),
                Err(LlmError::Refused(m)) => return Err(EngineError::Failed(m)),
                Err(LlmError::Cap(m) | LlmError::Unavailable(m) | LlmError::ToolsRefused(m)) => {
                    out.skipped.push(NotTargeted {
                        target: target.id(),
                        reason: m,
                    })
                }
            }
        }
        out.usage = Some(self.usage());
        Ok(out)
    }
}

impl Engine for LlmEngine {
    fn name(&self) -> &'static str {
        "llm"
    }

    async fn propose(&self, job: Job<'_>) -> Result<Proposals, EngineError> {
        let sym = Symbols::new(&job.project.root, job.index, &job.import_roots);
        let sym = &sym;
        let cancel = job.cancel;
        self.each_target(job.targets, cancel, |t| async move {
            let r = self.target(sym, &t, cancel).await;
            (t, r)
        })
        .await
    }

    fn usage(&self) -> Option<accounting::RunUsage> {
        Some(self.client.accounting.snapshot())
    }

    async fn repair(&self, job: Job<'_>, failures: Vec<Failure>) -> Result<Proposals, EngineError> {
        let sym = Symbols::new(&job.project.root, job.index, &job.import_roots);
        let sym = &sym;
        let cancel = job.cancel;
        let mut by_target: BTreeMap<String, (Target, Vec<Failure>)> = BTreeMap::new();
        for f in failures {
            by_target
                .entry(f.target.id())
                .or_insert_with(|| (f.target.clone(), Vec::new()))
                .1
                .push(f);
        }
        let bugs = self.suspected_bugs(&mut by_target);
        let targets: Vec<Target> = by_target.values().map(|(t, _)| t.clone()).collect();
        let by_target = &by_target;
        let mut out = self
            .each_target(targets, cancel, |t| async move {
                let fs = &by_target[&t.id()].1;
                let r = self.repair_target(sym, &t, fs, cancel).await;
                (t, r)
            })
            .await?;
        out.suspected_bugs = bugs;
        Ok(out)
    }
}

impl LlmEngine {
    /// Takes out the failures of this engine's tests that raised an
    /// unintended error inside project code: the test argues the input is
    /// valid and the code broke on it, so it is reported as a suspected bug,
    /// never sent back (the model would bend the test to the bug).
    fn suspected_bugs(
        &self,
        by_target: &mut BTreeMap<String, (Target, Vec<Failure>)>,
    ) -> Vec<SuspectedBug> {
        let conversations = self.conversations.lock().unwrap_or_else(|e| e.into_inner());
        let mut bugs = Vec::new();
        for (id, (target, failures)) in by_target.iter_mut() {
            let Some(conv) = conversations.get(id) else {
                continue; // not a test this engine wrote (explore's, in auto)
            };
            failures.retain(|f| {
                let Some(r) = f.raised.as_ref().filter(|r| suspected::is_unintended(r)) else {
                    return true;
                };
                if !conv.wrote(&f.test) {
                    return true;
                }
                tracing::info!(target = %id, test = %f.test, error = %r.error, "suspected bug");
                bugs.push(SuspectedBug {
                    target: target.id(),
                    file: r.file.clone(),
                    line: r.line,
                    input: r.call.clone(),
                    error: r.error.clone(),
                    reason: format!(
                        "the interpreter raised {} inside the project's code on an input the generated test treats as valid",
                        r.kind()
                    ),
                    test: Some(f.test.clone()),
                    found_by: Finder::Llm,
                });
                false
            });
        }
        by_target.retain(|_, (_, f)| !f.is_empty());
        bugs
    }

    async fn repair_target(
        &self,
        sym: &Symbols,
        target: &Target,
        failures: &[Failure],
        cancel: &CancellationToken,
    ) -> Result<Vec<Proposal>, LlmError> {
        let Some(mut conv) = self
            .conversations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&target.id())
            .cloned()
        else {
            return Ok(Vec::new());
        };
        if conv.rounds >= REPAIR_ROUNDS {
            return Ok(Vec::new());
        }
        let missing = failures
            .first()
            .map(|f| f.missing.clone())
            .unwrap_or_default();
        let text = self
            .prompts
            .render(
                "repair.j2",
                minijinja::context! { failures => failures, missing => missing },
            )
            .map_err(LlmError::Refused)?;
        conv.messages.push(Message::user(text));
        let answer = self
            .converse(sym, target, &mut conv.messages, cancel)
            .await?;
        let found = extract::extract(&answer, &sym.extract_project(target));
        self.remember(target, conv.messages, conv.rounds + 1);
        Ok(found
            .map(|f| f.tests)
            .unwrap_or_default()
            .into_iter()
            .map(|test| Proposal {
                target: target.clone(),
                test,
                reaches: None,
            })
            .collect())
    }
}
