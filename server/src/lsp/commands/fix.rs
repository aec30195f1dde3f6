//! `testgen.fixTest {uri, nodeid}`: the same fixer as `testgen fix`
//! (`fix::run`), for one test, with progress. The fix comes back as an
//! edit: an open test module is edited in the editor's buffer through
//! `workspace/applyEdit`, a closed one written to disk (as generation's
//! edits are, `generate::deliver`); then the test runs again and the
//! diagnostics refresh. A code bug is shown, and its test left alone.
//! Without an LLM configured only the deterministic fixes are tried, and
//! the messages say so. Cancelled (its progress, or `$/cancelRequest`),
//! the fixer's runs are killed and nothing is written.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{MessageType, Uri};

use super::{failed, FixArgs};
use crate::fix::{self, report::Record, FixOutcome};
use crate::generate::Limits;
use crate::lsp::error::LspResult;
use crate::lsp::handlers;
use crate::lsp::runs::{self, Runs};
use crate::lsp::server::Backend;
use crate::lsp::session::{Located, Session};
use crate::runner::Selection;

pub const NO_MODEL: &str = "no LLM is configured: only the deterministic fixes are offered";

pub async fn run(b: &Backend, a: FixArgs, cancel: &CancellationToken) -> LspResult<Option<Value>> {
    let loc = handlers::locate(&b.session, &handlers::parse_uri(&a.uri)?)?;
    super::answered(
        &b.session,
        fix_test(&b.session, &b.runs, loc, a.nodeid, cancel).await,
    )
    .await
}

async fn fix_test(
    session: &Arc<Session>,
    runs: &Arc<Runs>,
    loc: Located,
    nodeid: String,
    cancel: &CancellationToken,
) -> LspResult<Value> {
    let settings = session.config(loc.ws.root());
    refuse_unsaved(session, &loc)?;
    let name = nodeid.rsplit("::").next().unwrap_or(&nodeid).to_string();
    let req = fix::Request {
        python: settings.python.clone(),
        tests: vec![nodeid.clone()],
        max_iterations: 1,
        timeout: Duration::from_secs(settings.test_timeout_s),
        pytest_args: settings.pytest_args.clone(),
        sandbox: Limits::from_config(&settings).confinement(),
        apply: fix::Apply::Return,
    };
    // The model when an LLM is configured (as generation resolves it);
    // incomplete LLM settings are said before anything runs.
    let model = fix::llm::from_config(&settings, loc.ws.root(), false, cancel).map_err(|e| {
        failed(format!(
            "testgen: cannot fix {nodeid}: {e} (settings testgen.llm.*)"
        ))
    })?;
    let task = session
        .progress(&format!("testgen: fixing {name}"), Some(cancel))
        .await;
    let fixed = super::or_cancelled(
        async {
            // No run on save in between: it would write the same results.
            runs.cancel_current();
            let _hold = runs.exclusive().await;
            fix::run(&loc.ws.project, &req, model.as_ref(), cancel).await
        },
        cancel,
    )
    .await;
    let fixed = match fixed {
        Some(f) if !cancel.is_cancelled() => f,
        _ => {
            task.end("cancelled; nothing was written").await;
            return Err(super::cancelled());
        }
    };
    let fixed = match fixed {
        Ok(f) => f,
        Err(e) => {
            task.end("failed").await;
            return Err(failed(format!("testgen: cannot fix {nodeid}: {e}")));
        }
    };
    let record = fixed.report.failures.first().cloned();
    task.end(match &record {
        Some(r) => outcome_word(r.outcome),
        None => "nothing to fix",
    })
    .await;
    let mut answer = json!({
        "outcome": record.as_ref().map(|r| r.outcome),
        "record": record,
        "suspected_bugs": fixed.report.suspected_bugs,
        "model": fixed.report.model,
        "applied": "nothing",
    });
    let Some(record) = record else {
        session.reload(&loc.ws, true).await;
        info(session, format!("testgen: {name} passes; nothing to fix")).await;
        return Ok(answer);
    };
    match record.outcome {
        FixOutcome::Fixed => {
            if cancel.is_cancelled() {
                return Err(super::cancelled());
            }
            let delivered = super::generate::deliver(session, loc.ws.root(), &fixed.edits).await?;
            answer["applied"] = json!(delivered.applied());
            let how = record
                .attempts
                .iter()
                .rev()
                .find(|a| a.result == "passed")
                .map(|a| a.description.clone())
                .unwrap_or_default();
            let on_disk = fixed.edits.iter().all(|e| {
                std::fs::read_to_string(&e.path).ok().as_deref() == Some(e.new_text.as_str())
            });
            if on_disk {
                // Saved (or written): run it again, which refreshes the
                // diagnostics of every file.
                let run = runs::run(
                    session,
                    runs,
                    &loc.ws,
                    Selection::Only(vec![nodeid.clone()]),
                    "after fixing",
                    cancel,
                )
                .await;
                answer["rerun"] = json!(run.map(|r| r.outcome));
                info(session, format!("testgen: fixed {name}: {how}")).await;
            } else {
                info(session, format!("testgen: fixed {name}: {how} (not saved yet; the test runs again when you save)")).await;
            }
        }
        FixOutcome::CodeBug => {
            session.reload(&loc.ws, true).await;
            session.publish_all().await;
            let bug = fixed.report.suspected_bugs.first();
            let what = bug.map_or_else(
                || record.reason.clone(),
                |b| {
                    format!(
                        "{} in {} ({}:{}) on {}",
                        b.error, b.target, b.file, b.line, b.input
                    )
                },
            );
            session
                .client
                .show_message(
                    MessageType::WARNING,
                    format!("testgen: {name} exposes a suspected bug, not a test mistake: {what}. The test was left as it is."),
                )
                .await;
        }
        FixOutcome::NeedsModel => {
            info(
                session,
                format!(
                    "testgen: cannot fix {name}: {NO_MODEL}, and none applies ({})",
                    record.error
                ),
            )
            .await;
        }
        FixOutcome::Unfixed => {
            let why = last_result(&record);
            let no_model = if fixed.report.model.is_none() {
                format!(" ({NO_MODEL})")
            } else {
                String::new()
            };
            info(
                session,
                format!("testgen: could not fix {name}: {why}{no_model}; the file is unchanged"),
            )
            .await;
        }
    }
    Ok(answer)
}

fn outcome_word(o: FixOutcome) -> &'static str {
    match o {
        FixOutcome::Fixed => "fixed",
        FixOutcome::CodeBug => "suspected bug in the code",
        FixOutcome::Unfixed => "not fixed",
        FixOutcome::NeedsModel => "not fixed: needs an LLM",
    }
}

fn last_result(r: &Record) -> String {
    r.attempts
        .last()
        .map_or_else(|| r.reason.clone(), |a| format!("{} ({})", a.result, a.by))
}

async fn info(session: &Session, message: String) {
    tracing::info!("{message}");
    session
        .client
        .show_message(MessageType::INFO, message)
        .await;
}

/// The fixer reads the test module from disk: a buffer with unsaved
/// changes would be overwritten by the fix.
fn refuse_unsaved(session: &Session, loc: &Located) -> LspResult<()> {
    let Some(uri) = Uri::from_file_path(&loc.path) else {
        return Ok(());
    };
    if let Some(doc) = session.docs.get(uri.as_str()) {
        let disk = std::fs::read_to_string(&loc.path).unwrap_or_default();
        if doc.text() != disk {
            return Err(failed(format!(
                "testgen: {} has unsaved changes; save it, then fix the test again",
                loc.rel
            )));
        }
    }
    Ok(())
}
