//! `initialize`: the client's capabilities, folders and startup settings;
//! answers with what the server offers.

use serde_json::Value;
use tower_lsp_server::ls_types::*;

use crate::config::{ConfigError, Source};
use crate::lsp::commands;
use crate::lsp::document::Encoding;
use crate::lsp::error::{LspError, LspResult};
use crate::lsp::server::Backend;
use crate::lsp::session::ClientCaps;

pub fn handle(b: &Backend, params: InitializeParams) -> LspResult<InitializeResult> {
    let caps = &params.capabilities;
    let encoding = Encoding::negotiate(
        caps.general
            .as_ref()
            .and_then(|g| g.position_encodings.as_deref()),
    );
    let _ = b.session.encoding.set(encoding);
    let ws = caps.workspace.as_ref();
    let _ = b.session.caps.set(ClientCaps {
        apply_edit: ws.and_then(|w| w.apply_edit).unwrap_or(false),
        lens_refresh: ws
            .and_then(|w| w.code_lens.as_ref())
            .and_then(|c| c.refresh_support)
            .unwrap_or(false),
        work_done_progress: caps
            .window
            .as_ref()
            .and_then(|w| w.work_done_progress)
            .unwrap_or(false),
        configuration: ws.and_then(|w| w.configuration).unwrap_or(false),
    });
    if let Ok(mut f) = b.session.folders.write() {
        *f = folders(&params);
    }
    let init = params.initialization_options.clone().unwrap_or(Value::Null);
    if let Err(e) = b
        .session
        .set_editor_settings(Source::InitializationOptions, init)
    {
        if matches!(
            e,
            ConfigError::Invalid {
                from: Source::InitializationOptions,
                ..
            }
        ) {
            return Err(LspError::InvalidParams(e.to_string()));
        }
        // pyproject.toml trouble must not keep the server from starting;
        // `initialized` shows it.
        tracing::warn!("{e}");
    }
    Ok(InitializeResult {
        server_info: Some(ServerInfo {
            name: "testgen".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
        }),
        capabilities: capabilities(encoding),
        offset_encoding: None,
    })
}

fn folders(params: &InitializeParams) -> Vec<std::path::PathBuf> {
    let mut folders: Vec<std::path::PathBuf> = params
        .workspace_folders
        .iter()
        .flatten()
        .filter_map(|f| f.uri.to_file_path().map(|p| p.into_owned()))
        .collect();
    #[allow(deprecated)]
    if folders.is_empty() {
        if let Some(p) = params.root_uri.as_ref().and_then(|u| u.to_file_path()) {
            folders.push(p.into_owned());
        }
    }
    folders
}

fn capabilities(encoding: Encoding) -> ServerCapabilities {
    ServerCapabilities {
        position_encoding: Some(encoding.kind()),
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::INCREMENTAL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..Default::default()
            },
        )),
        code_lens_provider: Some(CodeLensOptions {
            resolve_provider: Some(true),
        }),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX, CodeActionKind::SOURCE]),
            ..Default::default()
        })),
        execute_command_provider: Some(ExecuteCommandOptions {
            commands: commands::ALL.iter().map(|c| c.to_string()).collect(),
            ..Default::default()
        }),
        workspace: Some(WorkspaceServerCapabilities {
            workspace_folders: Some(WorkspaceFoldersServerCapabilities {
                supported: Some(true),
                change_notifications: None,
            }),
            file_operations: None,
        }),
        ..Default::default()
    }
}
