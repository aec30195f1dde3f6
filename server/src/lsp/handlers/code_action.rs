//! `textDocument/codeAction`: "Generate tests for …" on coverage
//! diagnostics, "Fix failing test …" on failing tests, and the file's
//! "Generate tests for uncovered code" — only on Python files of a
//! workspace folder.

use serde_json::json;
use tower_lsp_server::ls_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, CodeActionResponse, Command,
    NumberOrString,
};

use crate::lsp::commands;
use crate::lsp::error::LspResult;
use crate::lsp::render;
use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: CodeActionParams) -> LspResult<Option<CodeActionResponse>> {
    let uri = params.text_document.uri;
    super::open_doc(&b.session, &uri)?;
    let Some(loc) = super::is_python(&uri)
        .then(|| b.session.locate(&uri))
        .flatten()
    else {
        return Ok(Some(Vec::new()));
    };
    // Without an LLM the fixer only tries its certain fixes: the action says so.
    let fix_note = if !crate::fix::llm::configured(&b.session.config(loc.ws.root())) {
        " (deterministic fixes only: no LLM configured)"
    } else {
        ""
    };
    let mut actions = Vec::new();
    for d in &params.context.diagnostics {
        if d.source.as_deref() != Some(render::SOURCE) {
            continue;
        }
        let code = match &d.code {
            Some(NumberOrString::String(c)) => c.as_str(),
            _ => continue,
        };
        let key = d
            .data
            .as_ref()
            .and_then(|v| v.get("key"))
            .and_then(|k| k.as_str())
            .unwrap_or_default()
            .to_string();
        let (title, command, arg) = match code {
            render::UNCOVERED | render::PARTIAL => (
                format!("Generate tests for {key}"),
                commands::GENERATE,
                json!({"uri": uri.as_str(), "qualname": key}),
            ),
            render::FAILING => (
                format!(
                    "Fix failing test {}{fix_note}",
                    key.rsplit("::").next().unwrap_or(&key)
                ),
                commands::FIX,
                json!({"uri": uri.as_str(), "nodeid": key}),
            ),
            _ => continue,
        };
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: title.clone(),
            kind: Some(CodeActionKind::QUICKFIX),
            diagnostics: Some(vec![d.clone()]),
            command: Some(Command::new(title, command.into(), Some(vec![arg]))),
            ..Default::default()
        }));
    }
    let wants_source = params
        .context
        .only
        .as_ref()
        .is_none_or(|k| k.iter().any(|k| k.as_str().starts_with("source")));
    if wants_source && !crate::workspace::is_test_file(&loc.rel) {
        let title = "Generate tests for uncovered code in this file".to_string();
        actions.push(CodeActionOrCommand::CodeAction(CodeAction {
            title: title.clone(),
            kind: Some(CodeActionKind::SOURCE),
            command: Some(Command::new(
                title,
                commands::GENERATE.into(),
                Some(vec![json!({"uri": uri.as_str()})]),
            )),
            ..Default::default()
        }));
    }
    Ok(Some(actions))
}
