//! `testgen.generateTests` in the editor: the same entry point as `testgen
//! generate` (`generate::plan`), with the coverage the editor already has as
//! baseline. The validated files reach the editor as one
//! `workspace/applyEdit` (create file + whole-text edit) when the client
//! supports it, else they are written to disk and the suite re-runs. A file
//! with unsaved changes in the editor is never overwritten.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::{
    CreateFile, CreateFileOptions, DocumentChangeOperation, DocumentChanges, MessageType, OneOf,
    OptionalVersionedTextDocumentIdentifier, Position, Range, ResourceOp, TextDocumentEdit,
    TextEdit, Uri, WorkspaceEdit,
};

use crate::generate::{self, output::FileEdit, AnyEngine, BaselineSource, Filter, Limits};
use crate::index::Index;
use crate::runner::Selection;

use super::document::{Document, Encoding};
use super::progress;
use super::runs::{self, Runs};
use super::session::{Located, Session};

/// Generates tests for one function (`qualname`) or every gap of the file.
pub async fn generate(
    session: &Arc<Session>,
    runs: &Arc<Runs>,
    loc: Located,
    qualname: Option<String>,
) -> Result<Value, String> {
    let settings = session.config(loc.ws.root());
    let engine = AnyEngine::choose(settings.engine, &settings)
        .map_err(|e| format!("testgen: {e} (setting testgen.engine)"))?;
    let filter = match &qualname {
        Some(q) => Filter::Functions(vec![(loc.rel.clone(), q.clone())]),
        None => Filter::Files(vec![loc.rel.clone()]),
    };
    let req = generate::Request {
        python: settings.python.clone(),
        filter,
        limits: Limits::from_config(&settings),
        baseline: BaselineSource::Existing,
        suite_timeout: Duration::from_secs(settings.test_timeout_s),
        pytest_args: settings.pytest_args.clone(),
    };
    // Not the live index: it follows unsaved buffers, while the coverage
    // that chooses the targets was measured on the files on disk.
    let project = loc.ws.project.clone();
    let index = tokio::task::spawn_blocking(move || Index::build(&project))
        .await
        .map_err(|e| format!("testgen: indexing failed: {e}"))?;
    let what = qualname.as_deref().unwrap_or(loc.rel.as_str()).to_string();
    let task = progress::begin(
        &session.client,
        session.caps().work_done_progress,
        &format!("testgen: generating tests for {what}"),
        false,
    )
    .await;
    let result = generate::plan(
        &loc.ws.project,
        &index,
        &req,
        &engine,
        &CancellationToken::new(),
    )
    .await;
    let plan = match result {
        Ok(p) => p,
        Err(e) => {
            task.end("failed").await;
            return Err(format!("testgen: cannot generate tests for {what}: {e}"));
        }
    };
    task.end(format!("{} tests", plan.report.tests_written))
        .await;
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
    refuse_unsaved(session, &plan.edits)?;
    let applied = if session.caps().apply_edit {
        let edit = workspace_edit(session, &plan.edits, session.encoding());
        match session.client.apply_edit(edit).await {
            Ok(r) if r.applied => "editor",
            Ok(r) => {
                return Err(format!(
                    "testgen: the editor did not apply the generated tests: {}",
                    r.failure_reason.unwrap_or_else(|| "no reason given".into())
                ))
            }
            Err(e) => return Err(format!("testgen: workspace/applyEdit failed: {e}")),
        }
    } else {
        generate::apply(loc.ws.root(), &plan.edits).map_err(|e| e.to_string())?;
        // On disk already: measure so the editor shows the new coverage.
        let (session, runs, ws) = (session.clone(), runs.clone(), loc.ws.clone());
        tokio::spawn(async move {
            runs::run(&session, &runs, &ws, Selection::All, "after generating").await;
        });
        "disk"
    };
    let files: Vec<&str> = plan.report.files.iter().map(|f| f.path.as_str()).collect();
    session
        .client
        .show_message(
            MessageType::INFO,
            format!(
                "testgen: {} tests for {what} in {}",
                plan.report.tests_written,
                files.join(", ")
            ),
        )
        .await;
    answer["applied"] = json!(applied);
    Ok(answer)
}

/// An open document whose buffer differs from what generation read from
/// disk has unsaved changes: writing over it would lose them.
fn refuse_unsaved(session: &Session, edits: &[FileEdit]) -> Result<(), String> {
    for e in edits {
        let Some(uri) = Uri::from_file_path(&e.path) else {
            continue;
        };
        if let Some(doc) = session.docs.get(uri.as_str()) {
            if Some(doc.text()) != e.old_text.as_deref() {
                return Err(format!(
                    "testgen: {} has unsaved changes; save or close it, then generate again",
                    e.path.display()
                ));
            }
        }
    }
    Ok(())
}

/// One edit for all files: create the new ones, replace the whole text.
fn workspace_edit(session: &Session, edits: &[FileEdit], enc: Encoding) -> WorkspaceEdit {
    let mut ops = Vec::new();
    for e in edits {
        let Some(uri) = Uri::from_file_path(&e.path) else {
            continue;
        };
        if e.old_text.is_none() {
            ops.push(DocumentChangeOperation::Op(ResourceOp::Create(
                CreateFile {
                    uri: uri.clone(),
                    options: Some(CreateFileOptions {
                        overwrite: Some(false),
                        ignore_if_exists: Some(true),
                    }),
                    annotation_id: None,
                },
            )));
        }
        let version = session.docs.get(uri.as_str()).map(|d| d.version);
        ops.push(DocumentChangeOperation::Edit(TextDocumentEdit {
            text_document: OptionalVersionedTextDocumentIdentifier { uri, version },
            edits: vec![OneOf::Left(TextEdit {
                range: Range {
                    start: Position::new(0, 0),
                    end: end_of(e.old_text.as_deref().unwrap_or(""), enc),
                },
                new_text: e.new_text.clone(),
            })],
        }));
    }
    WorkspaceEdit {
        document_changes: Some(DocumentChanges::Operations(ops)),
        ..Default::default()
    }
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
