//! `testgen.generateTests` in the editor: the same entry point as `testgen
//! generate` (`generate::plan`), with the coverage the editor already has as
//! baseline. Files the editor has open are edited in its buffers through one
//! `workspace/applyEdit` (when the client supports it); every other file is
//! written to disk, and then the suite re-runs (see `deliver` for why). A
//! file with unsaved changes in the editor is never overwritten.
//!
//! Cancelled (from the progress or by `$/cancelRequest`), generation stops
//! within [`super::STOP_GRACE`]: its harness and pytest process groups are
//! killed, no edit is sent or written, and the coverage view is left as it
//! was (nothing is reloaded).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{
    DocumentChangeOperation, DocumentChanges, MessageType, OneOf,
    OptionalVersionedTextDocumentIdentifier, Position, Range, TextDocumentEdit, TextEdit, Uri,
    WorkspaceEdit,
};

use crate::generate::{self, output::FileEdit, AnyEngine, BaselineSource, Filter, Limits};
use crate::index::Index;
use crate::runner::Selection;

use super::{failed, GenerateArgs};
use crate::lsp::document::{Document, Encoding};
use crate::lsp::error::LspResult;
use crate::lsp::handlers;
use crate::lsp::progress;
use crate::lsp::runs::{self, Runs};
use crate::lsp::server::Backend;
use crate::lsp::session::{Located, Session};

/// Reports each finished batch's counts as a percentage of the targets
/// (the CLI's progress lines, in the editor's words).
fn tally_reporter(
    task: &progress::Task,
    req: &mut generate::Request,
) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<generate::progress::Tally>();
    req.anytime.progress = Some(generate::progress::Sink::new(move |t| {
        let _ = tx.send(t.clone());
    }));
    let task = task.clone();
    tokio::spawn(async move {
        while let Some(t) = rx.recv().await {
            let message = format!(
                "{}/{} functions tried, {} tests kept",
                t.targets_tried, t.targets_total, t.tests_kept
            );
            task.report(t.percent(), Some(message)).await;
        }
    })
}

/// Reports the model's calls and tokens every second while they change
/// (nothing for an engine without a model).
fn usage_ticker(task: &progress::Task, engine: &AnyEngine) -> tokio::task::JoinHandle<()> {
    use generate::Engine as _;
    let (task, engine) = (task.clone(), engine.clone());
    tokio::spawn(async move {
        let mut last = None;
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            let Some(u) = engine.usage() else { return };
            let now = (u.calls, u.prompt_tokens + u.completion_tokens);
            if last != Some(now) {
                last = Some(now);
                let cached = if u.cached > 0 {
                    format!(" ({} cached)", u.cached)
                } else {
                    String::new()
                };
                task.report(
                    0,
                    Some(format!("{} LLM calls{cached}, {} tokens", now.0, now.1)),
                )
                .await;
            }
        }
    })
}

/// `testgen.generateTests {uri, qualname?}`; a failure is shown and answered
/// as RequestFailed, a cancellation answered as RequestCancelled.
pub async fn run(
    b: &Backend,
    a: GenerateArgs,
    cancel: &CancellationToken,
) -> LspResult<Option<Value>> {
    let loc = handlers::locate(&b.session, &handlers::parse_uri(&a.uri)?)?;
    super::answered(
        &b.session,
        generate(&b.session, &b.runs, loc, a.qualname, cancel).await,
    )
    .await
}

/// Generates tests for one function (`qualname`) or every gap of the file.
async fn generate(
    session: &Arc<Session>,
    runs: &Arc<Runs>,
    loc: Located,
    qualname: Option<String>,
    cancel: &CancellationToken,
) -> LspResult<Value> {
    let settings = session.config(loc.ws.root());
    let engine = AnyEngine::choose(
        settings.engine,
        &settings,
        loc.ws.root(),
        generate::engine::Choice::default(),
    )
    .map_err(|e| failed(format!("testgen: {e} (setting testgen.engine)")))?;
    let filter = match &qualname {
        Some(q) => Filter::Functions(vec![(loc.rel.clone(), q.clone())]),
        None => Filter::Files(vec![loc.rel.clone()]),
    };
    let mut req = generate::Request {
        python: settings.python.clone(),
        filter,
        limits: Limits::from_config(&settings),
        baseline: BaselineSource::Existing,
        suite_timeout: Duration::from_secs(settings.test_timeout_s),
        pytest_args: settings.pytest_args.clone(),
        anytime: Default::default(),
    };
    // Not the live index: it follows unsaved buffers, while the coverage
    // that chooses the targets was measured on the files on disk.
    let project = loc.ws.project.clone();
    let index = tokio::task::spawn_blocking(move || Index::build(&project))
        .await
        .map_err(|e| failed(format!("testgen: indexing failed: {e}")))?;
    let what = qualname.as_deref().unwrap_or(loc.rel.as_str()).to_string();
    let task = session
        .progress(
            &format!("testgen: generating tests for {what}"),
            Some(cancel),
        )
        .await;
    let ticker = usage_ticker(&task, &engine);
    let reporter = tally_reporter(&task, &mut req);
    let result = super::or_cancelled(
        generate::plan(&loc.ws.project, &index, &req, &engine, cancel),
        cancel,
    )
    .await;
    ticker.abort();
    // The sender goes with the sink: the reporter sends what is queued and
    // ends, before the progress ends.
    req.anytime.progress = None;
    let _ = reporter.await;
    // Whatever the plan holds, a cancelled generation delivers none of it.
    let result = match result {
        Some(r) if !cancel.is_cancelled() => r,
        _ => {
            task.end("cancelled; nothing was written").await;
            tracing::info!("generation for {what} cancelled");
            return Err(super::cancelled());
        }
    };
    let plan = match result {
        Ok(p) => p,
        Err(e) => {
            task.end("failed").await;
            return Err(failed(format!(
                "testgen: cannot generate tests for {what}: {e}"
            )));
        }
    };
    let usage = plan.report.llm.as_ref().map_or(String::new(), |u| {
        format!(
            ", {} LLM calls, {} tokens",
            u.calls,
            u.prompt_tokens + u.completion_tokens
        )
    });
    task.end(format!("{} tests{usage}", plan.report.tests_written))
        .await;
    remember_skipped(session, &loc, &plan.report);
    let mut answer = serde_json::to_value(&plan.report).unwrap_or(Value::Null);
    if plan.edits.is_empty() {
        let why = plan
            .report
            .skipped
            .first()
            .map(|s| format!(": {} ({})", s.reason, s.target))
            .or_else(|| {
                plan.report
                    .dropped
                    .first()
                    .map(|d| format!(": {} ({})", d.reason, d.test))
            })
            .unwrap_or_default();
        session
            .client
            .show_message(
                MessageType::INFO,
                format!("testgen: no new tests for {what}{why}"),
            )
            .await;
        answer["applied"] = json!("nothing");
        return Ok(answer);
    }
    if cancel.is_cancelled() {
        return Err(super::cancelled());
    }
    refuse_unsaved(session, &plan.edits)?;
    let delivered = deliver(session, loc.ws.root(), &plan.edits).await?;
    if !delivered.written.is_empty() {
        // On disk now, and no save will come from the editor: measure so it
        // shows the new coverage.
        let (session, runs, ws) = (session.clone(), runs.clone(), loc.ws.clone());
        let (rel, before) = (loc.rel.clone(), file_percent(&loc));
        tokio::spawn(async move {
            let run = runs::run(
                &session,
                &runs,
                &ws,
                Selection::All,
                "after generating",
                &CancellationToken::new(),
            )
            .await;
            if run.is_none_or(|r| r.outcome == crate::runner::RunOutcome::Cancelled) {
                return; // nothing new measured: no before/after to tell
            }
            let after = ws
                .data()
                .coverage
                .get(&rel)
                .map(|f| percent(f.statements()));
            let fmt = |p: Option<f64>| p.map_or("not measured".into(), |p| format!("{p:.0}%"));
            session
                .client
                .show_message(
                    MessageType::INFO,
                    format!(
                        "testgen: {rel} line coverage {} -> {}",
                        fmt(before),
                        fmt(after)
                    ),
                )
                .await;
        });
    }
    let rel = |paths: &[std::path::PathBuf]| -> Vec<String> {
        paths
            .iter()
            .map(|p| {
                p.strip_prefix(loc.ws.root())
                    .unwrap_or(p)
                    .to_string_lossy()
                    .into_owned()
            })
            .collect()
    };
    let files: Vec<&str> = plan.report.files.iter().map(|f| f.path.as_str()).collect();
    let unsaved = if delivered.unsaved.is_empty() {
        String::new()
    } else {
        format!(
            " (not saved yet in the editor: {}; the tests run when you save)",
            rel(&delivered.unsaved).join(", ")
        )
    };
    let count = match plan.report.tests_written {
        1 => "1 test".to_string(),
        n => format!("{n} tests"),
    };
    session
        .client
        .show_message(
            MessageType::INFO,
            format!(
                "testgen: {count} for {what} in {}{unsaved}",
                files.join(", ")
            ),
        )
        .await;
    answer["applied"] = json!(delivered.applied());
    answer["written"] = json!(rel(&delivered.written));
    answer["in_editor"] = json!(rel(&delivered.in_editor));
    answer["unsaved"] = json!(rel(&delivered.unsaved));
    Ok(answer)
}

/// The file's functions the engine skipped, with why, as hints on them
/// until the next generation of the file.
fn remember_skipped(session: &Arc<Session>, loc: &Located, report: &generate::Report) {
    let prefix = format!("{}::", loc.rel);
    let skipped: Vec<(String, String)> = report
        .skipped
        .iter()
        .filter_map(|s| {
            Some((
                s.target.strip_prefix(&prefix)?.to_string(),
                s.reason.clone(),
            ))
        })
        .collect();
    session.skipped.insert(loc.path.clone(), skipped);
    if let Some(uri) = Uri::from_file_path(&loc.path) {
        handlers::publish_later(session, uri);
    }
}

fn file_percent(loc: &Located) -> Option<f64> {
    loc.ws
        .data()
        .coverage
        .get(&loc.rel)
        .map(|f| percent(f.statements()))
}

fn percent((covered, total): (u32, u32)) -> f64 {
    if total == 0 {
        100.0
    } else {
        100.0 * f64::from(covered) / f64::from(total)
    }
}

/// Where the generated files went.
#[derive(Debug, Default)]
pub(super) struct Delivered {
    /// Written to disk by the server.
    pub(super) written: Vec<std::path::PathBuf>,
    /// Edited in the editor's open buffers through workspace/applyEdit.
    pub(super) in_editor: Vec<std::path::PathBuf>,
    /// Of those, the ones whose file did not have the new text once the
    /// editor answered (a client that saves what it was sent, as the
    /// Neovim plugin does, leaves none).
    pub(super) unsaved: Vec<std::path::PathBuf>,
}

impl Delivered {
    /// `editor` as soon as one file waits in an editor buffer (the user has
    /// something to save), else `disk`.
    pub(super) fn applied(&self) -> &'static str {
        if self.in_editor.is_empty() {
            "disk"
        } else {
            "editor"
        }
    }
}

/// Writes the files the editor does not have open and edits the open ones
/// through `workspace/applyEdit`.
///
/// Why not send every file through the editor: editors apply a workspace
/// edit to buffers and leave them unsaved. Neovim 0.11 loads each file of
/// the edit into a buffer and writes nothing (it even skips a `CreateFile`
/// marked `ignoreIfExists` when the file is missing, so `:wall` then fails
/// with E212 for want of the directory); VS Code opens every changed file
/// as a dirty editor and does not save a one-file edit even when it is
/// marked as a refactoring (microsoft/vscode#66673, #246720). A generated
/// test left in a buffer the user never looked at is not seen by pytest and
/// is lost when the editor closes. Writing under an open buffer instead
/// would leave it stale (Neovim and Helix do not reload by themselves) or
/// turn the next save into a conflict. So the server writes, atomically and
/// like `testgen generate`, every file no editor buffer holds (new test
/// files in particular: no `CreateFile` is ever sent), and only the open
/// documents, which `refuse_unsaved` proved equal to the disk, get a
/// versioned edit. The editor's buffer stays the truth for those; the user
/// saves them (the Neovim plugin saves the buffers it was sent itself).
pub(super) async fn deliver(
    session: &Session,
    root: &std::path::Path,
    edits: &[FileEdit],
) -> LspResult<Delivered> {
    let client_edits = session.caps().apply_edit;
    let (open, closed): (Vec<&FileEdit>, Vec<&FileEdit>) = edits
        .iter()
        .partition(|e| client_edits && open_version(session, &e.path).is_some());
    let mut out = Delivered::default();
    if !open.is_empty() {
        let edit = workspace_edit(session, &open, session.encoding());
        match session.client.apply_edit(edit).await {
            Ok(r) if r.applied => {}
            Ok(r) => {
                return Err(failed(format!(
                    "testgen: the editor did not apply the generated tests: {}",
                    r.failure_reason.unwrap_or_else(|| "no reason given".into())
                )))
            }
            Err(e) => return Err(failed(format!("testgen: workspace/applyEdit failed: {e}"))),
        }
        out.in_editor = open.iter().map(|e| e.path.clone()).collect();
        out.unsaved = open
            .iter()
            .filter(|e| std::fs::read_to_string(&e.path).ok().as_deref() != Some(&e.new_text))
            .map(|e| e.path.clone())
            .collect();
    }
    for e in closed {
        generate::apply(root, std::slice::from_ref(e))
            .map_err(|e| failed(format!("testgen: {e}")))?;
        out.written.push(e.path.clone());
    }
    Ok(out)
}

/// The version of the editor's buffer of `path`, when it is open.
fn open_version(session: &Session, path: &std::path::Path) -> Option<i32> {
    let uri = Uri::from_file_path(path)?;
    session.docs.get(uri.as_str()).map(|d| d.version)
}

/// An open document whose buffer differs from what generation read from
/// disk has unsaved changes: writing over it would lose them.
fn refuse_unsaved(session: &Session, edits: &[FileEdit]) -> LspResult<()> {
    for e in edits {
        let Some(uri) = Uri::from_file_path(&e.path) else {
            continue;
        };
        if let Some(doc) = session.docs.get(uri.as_str()) {
            if Some(doc.text()) != e.old_text.as_deref() {
                return Err(failed(format!(
                    "testgen: {} has unsaved changes; save or close it, then generate again",
                    e.path.display()
                )));
            }
        }
    }
    Ok(())
}

/// One edit for the open documents: replace each buffer's whole text. The
/// version makes the editor refuse the edit if the buffer changed meanwhile.
fn workspace_edit(session: &Session, edits: &[&FileEdit], enc: Encoding) -> WorkspaceEdit {
    let ops = edits
        .iter()
        .filter_map(|e| {
            let uri = Uri::from_file_path(&e.path)?;
            let version = open_version(session, &e.path);
            Some(text_edit(uri, version, e, enc))
        })
        .collect();
    WorkspaceEdit {
        document_changes: Some(DocumentChanges::Operations(ops)),
        ..Default::default()
    }
}

fn text_edit(
    uri: Uri,
    version: Option<i32>,
    e: &FileEdit,
    enc: Encoding,
) -> DocumentChangeOperation {
    DocumentChangeOperation::Edit(TextDocumentEdit {
        text_document: OptionalVersionedTextDocumentIdentifier { uri, version },
        edits: vec![OneOf::Left(TextEdit {
            range: Range {
                start: Position::new(0, 0),
                end: end_of(e.old_text.as_deref().unwrap_or(""), enc),
            },
            new_text: e.new_text.clone(),
        })],
    })
}

/// The position just after the last character of `text`.
fn end_of(text: &str, enc: Encoding) -> Position {
    let line = text.matches('\n').count() as u32;
    let last = text.rsplit('\n').next().unwrap_or("");
    Position::new(line, Document::column(last, last.len(), enc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_position_counts_in_the_negotiated_encoding() {
        assert_eq!(end_of("", Encoding::Utf16), Position::new(0, 0));
        assert_eq!(end_of("a\nb\n", Encoding::Utf16), Position::new(2, 0));
        assert_eq!(end_of("a\n€x", Encoding::Utf16), Position::new(1, 2));
        assert_eq!(end_of("a\n€x", Encoding::Utf8), Position::new(1, 4));
    }
}
