//! The protocol layer: translates LSP messages into calls on the session,
//! the runner and the renderers, and nothing else.
//!
//! tower-lsp-server runs handlers concurrently; document changes are applied
//! synchronously at the top of their handler, before any `.await`, and
//! stale versions are rejected, so edits are never applied out of order.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tower_lsp_server::jsonrpc::{Error, ErrorCode, Result};
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use crate::runner::Selection;

use super::commands::{self, FixArgs, GenerateArgs, RunArgs};
use super::document::{Document, Encoding};
use super::render::{self, LensData};
use super::runs::{self, Runs};
use super::session::{ClientCaps, Session};
use super::state::WorkspaceState;
use super::watch::{self, WatchHandle};
use crate::config::Source;

pub struct Backend {
    session: Arc<Session>,
    runs: Arc<Runs>,
    watchers: Mutex<Vec<WatchHandle>>,
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            session: Arc::new(Session::new(client)),
            runs: Arc::new(Runs::default()),
            watchers: Mutex::new(Vec::new()),
        }
    }

    /// `window/workDoneProgress/cancel`: the user pressed cancel on a run.
    pub async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        if let NumberOrString::String(t) = &params.token {
            self.runs.cancel_token(t);
        }
    }

    fn open_doc(&self, uri: &Uri) -> Result<()> {
        if uri.scheme().as_str() != "file" {
            return Err(invalid_params(format!("{}: not a file URI", uri.as_str())));
        }
        if !self.session.docs.contains_key(uri.as_str()) {
            return Err(invalid_params(format!(
                "{}: document is not open",
                uri.as_str()
            )));
        }
        Ok(())
    }

    /// Indexes the workspace folders in the background with progress, loads
    /// their coverage and results, publishes, and starts watching.
    async fn index_folders(&self) {
        let folders = self
            .session
            .folders
            .read()
            .map(|f| f.clone())
            .unwrap_or_default();
        let task = super::progress::begin(
            &self.session.client,
            self.session.caps().work_done_progress,
            "testgen: indexing",
            false,
        )
        .await;
        let mut opened = Vec::new();
        for root in folders {
            let r = root.clone();
            let result = tokio::task::spawn_blocking(move || {
                let ws = WorkspaceState::open(&r)?;
                let report = ws.reload();
                Ok::<_, crate::workspace::WorkspaceError>((ws, report))
            })
            .await;
            match result {
                Ok(Ok((ws, report))) => {
                    for p in report.problems {
                        self.session.show_error(p).await;
                    }
                    opened.push(Arc::new(ws));
                }
                Ok(Err(e)) => self.session.show_error(format!("testgen: {e}")).await,
                Err(e) => {
                    self.session
                        .show_error(format!("testgen: indexing failed: {e}"))
                        .await
                }
            }
        }
        let files: usize = opened.iter().map(|w| w.index.len()).sum();
        if let Ok(mut w) = self.session.workspaces.write() {
            *w = opened.clone();
        }
        self.session.set_ready();
        // Documents opened while indexing: their buffers win over the disk.
        for d in self.session.docs.iter() {
            if let Ok(uri) = d.key().parse::<Uri>() {
                if let Some(loc) = self.session.locate(&uri) {
                    loc.ws.index.reindex_file(&loc.rel, d.text().as_bytes());
                }
            }
        }
        task.end(format!("{files} Python files indexed")).await;
        for ws in opened {
            match watch::start(self.session.clone(), ws) {
                Ok(h) => self
                    .watchers
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(h),
                Err(e) => tracing::warn!("{e}"),
            }
        }
        self.session.publish_all().await;
        self.session.refresh_lenses().await;
    }

    async fn fetch_configuration(&self) {
        if !self.session.caps().configuration {
            return;
        }
        let items = vec![ConfigurationItem {
            scope_uri: None,
            section: Some("testgen".into()),
        }];
        match self.session.client.configuration(items).await {
            Ok(values) => {
                let v = values.into_iter().next().unwrap_or(Value::Null);
                self.apply_config_layer(&v).await;
            }
            Err(e) => tracing::debug!("workspace/configuration: {e}"),
        }
    }

    async fn apply_config_layer(&self, v: &Value) {
        let result = self
            .session
            .set_editor_settings(Source::WorkspaceConfiguration, v.clone());
        if let Err(e) = result {
            self.session.show_error(format!("testgen: {e}")).await;
        }
    }

    async fn execute(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        // Until the folders are indexed no file is "in a workspace folder": a
        // command sent right after startup (a plugin's first :TestgenRun)
        // waits instead of failing.
        self.session.wait_ready().await;
        let args = &params.arguments;
        match params.command.as_str() {
            commands::RUN => {
                let a: RunArgs = commands::args(commands::RUN, args).map_err(invalid_params)?;
                let ws = match &a.uri {
                    Some(u) => {
                        let uri: Uri = u
                            .parse()
                            .map_err(|_| invalid_params(format!("{u}: not a URI")))?;
                        self.session
                            .locate(&uri)
                            .ok_or_else(|| {
                                invalid_params(format!("{u}: not in a workspace folder"))
                            })?
                            .ws
                    }
                    None => self
                        .session
                        .workspaces()
                        .into_iter()
                        .next()
                        .ok_or_else(|| invalid_params("no workspace folder is open"))?,
                };
                let selection = if a.nodeids.is_empty() {
                    Selection::All
                } else {
                    Selection::Only(a.nodeids)
                };
                self.runs.cancel_current();
                let run = runs::run(&self.session, &self.runs, &ws, selection, "command").await;
                Ok(run.map(|r| {
                    serde_json::json!({"outcome": r.outcome, "counts": r.counts, "coverage": r.coverage})
                }))
            }
            commands::REFRESH => {
                let mut reloaded = 0;
                for ws in self.session.workspaces() {
                    let report = tokio::task::spawn_blocking(move || ws.reload())
                        .await
                        .unwrap_or_default();
                    for p in report.problems {
                        self.session.show_error(p).await;
                    }
                    reloaded += 1;
                }
                self.session.publish_all().await;
                self.session.refresh_lenses().await;
                Ok(Some(serde_json::json!({ "workspaces": reloaded })))
            }
            commands::GENERATE => {
                let a: GenerateArgs =
                    commands::args(commands::GENERATE, args).map_err(invalid_params)?;
                let loc = self.file_arg(&a.uri)?;
                match super::generate::generate(&self.session, &self.runs, loc, a.qualname).await {
                    Ok(v) => Ok(Some(v)),
                    Err(message) => {
                        self.session.show_error(message.clone()).await;
                        Err(Error {
                            code: ErrorCode::ServerError(-32803),
                            message: message.into(),
                            data: None,
                        })
                    }
                }
            }
            commands::FIX => {
                let a: FixArgs = commands::args(commands::FIX, args).map_err(invalid_params)?;
                self.file_arg(&a.uri)?;
                Err(self
                    .not_available(format!(
                        "Fixing {} is not available yet: the test fixer has not landed",
                        a.nodeid
                    ))
                    .await)
            }
            other => Err(Error {
                code: ErrorCode::InvalidParams,
                message: format!("unknown command {other:?}").into(),
                data: None,
            }),
        }
    }

    /// A command's `uri` argument must name a file of a workspace folder.
    fn file_arg(&self, uri: &str) -> Result<super::session::Located> {
        let parsed: Uri = uri
            .parse()
            .map_err(|_| invalid_params(format!("{uri}: not a URI")))?;
        self.session
            .locate(&parsed)
            .ok_or_else(|| invalid_params(format!("{uri}: not a file of a workspace folder")))
    }

    async fn not_available(&self, message: String) -> Error {
        self.session
            .client
            .show_message(MessageType::WARNING, &message)
            .await;
        Error {
            // LSP's RequestFailed: valid request, the operation could not be done.
            code: ErrorCode::ServerError(-32803),
            message: message.into(),
            data: None,
        }
    }
}

fn invalid_params(message: impl Into<String>) -> Error {
    Error {
        code: ErrorCode::InvalidParams,
        message: message.into().into(),
        data: None,
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        let caps = &params.capabilities;
        let encoding = Encoding::negotiate(
            caps.general
                .as_ref()
                .and_then(|g| g.position_encodings.as_deref()),
        );
        let _ = self.session.encoding.set(encoding);
        let ws = caps.workspace.as_ref();
        let _ = self.session.caps.set(ClientCaps {
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
        if let Ok(mut f) = self.session.folders.write() {
            *f = folders;
        }
        let init = params.initialization_options.clone().unwrap_or(Value::Null);
        if let Err(e) = self
            .session
            .set_editor_settings(Source::InitializationOptions, init)
        {
            if e.starts_with(Source::InitializationOptions.describe()) {
                return Err(invalid_params(e));
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
            capabilities: ServerCapabilities {
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
                code_action_provider: Some(CodeActionProviderCapability::Options(
                    CodeActionOptions {
                        code_action_kinds: Some(vec![
                            CodeActionKind::QUICKFIX,
                            CodeActionKind::SOURCE,
                        ]),
                        ..Default::default()
                    },
                )),
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
            },
            offset_encoding: None,
        })
    }

    async fn initialized(&self, _: InitializedParams) {
        // A broken pyproject.toml did not stop `initialize`; say it now.
        if let Err(e) = self.session.recompute_configs() {
            self.session.show_error(format!("testgen: {e}")).await;
        }
        self.fetch_configuration().await;
        self.index_folders().await;
    }

    async fn shutdown(&self) -> Result<()> {
        self.runs.cancel_current();
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        let doc = params.text_document;
        // Synchronously, before any await (see the module doc).
        self.session.docs.insert(
            doc.uri.as_str().to_string(),
            Document::new(doc.text.clone(), doc.version),
        );
        if let Some(loc) = self.session.locate(&doc.uri) {
            loc.ws.index.reindex_file(&loc.rel, doc.text.as_bytes());
        }
        self.session.publish(&doc.uri).await;
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        let uri = params.text_document.uri;
        let version = params.text_document.version;
        let enc = self.session.encoding();
        let text = {
            let Some(mut doc) = self.session.docs.get_mut(uri.as_str()) else {
                tracing::warn!(
                    "didChange for a document that is not open: {}",
                    uri.as_str()
                );
                return;
            };
            if version <= doc.version {
                tracing::warn!(
                    "stale didChange for {} (version {version} <= {})",
                    uri.as_str(),
                    doc.version
                );
                return;
            }
            let mut next = doc.clone();
            for change in &params.content_changes {
                if let Err(e) = next.apply(change.range, &change.text, enc) {
                    // The client and server disagree on the text: keep ours
                    // intact and say so, rather than corrupt it.
                    tracing::error!("{}: {e}; edit ignored", uri.as_str());
                    drop(doc);
                    let client = self.session.client.clone();
                    let msg = format!(
                        "testgen: an edit of {} did not apply ({e}); reopen the file",
                        uri.as_str()
                    );
                    tokio::spawn(async move { client.show_message(MessageType::ERROR, msg).await });
                    return;
                }
            }
            next.version = version;
            *doc = next;
            doc.text().to_string()
        };
        if let Some(loc) = self.session.locate(&uri) {
            loc.ws.index.reindex_file(&loc.rel, text.as_bytes());
        }
        self.session.publish(&uri).await;
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        let uri = params.text_document.uri;
        self.session.wait_ready().await;
        if let Some(loc) = self.session.locate(&uri) {
            runs::on_save(self.session.clone(), self.runs.clone(), loc.ws, loc.rel);
        }
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        let uri = params.text_document.uri;
        self.session.docs.remove(uri.as_str());
        // The file on disk is the truth again.
        if let Some(loc) = self.session.locate(&uri) {
            match std::fs::read(&loc.path) {
                Ok(bytes) => {
                    loc.ws.index.reindex_file(&loc.rel, &bytes);
                }
                Err(_) => loc.ws.index.remove_file(&loc.rel),
            }
        }
        self.session.publish(&uri).await;
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        if params.settings.is_null() || params.settings == serde_json::json!({}) {
            // Pull model: the client only signals a change.
            self.fetch_configuration().await;
        } else {
            self.apply_config_layer(&params.settings).await;
        }
        self.session.publish_all().await;
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        // The notify watcher covers the same ground; a client that also
        // sends these only makes the reload happen sooner.
        let relevant = params.changes.iter().any(|c| {
            c.uri.as_str().ends_with("coverage.xml")
                || c.uri.as_str().ends_with("test-results.json")
        });
        if relevant {
            for ws in self.session.workspaces() {
                let _ = tokio::task::spawn_blocking(move || ws.reload()).await;
            }
            self.session.publish_all().await;
            self.session.refresh_lenses().await;
        }
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        let uri = params.text_document.uri;
        self.open_doc(&uri)?;
        let lenses = self
            .session
            .with_view(&uri, |view, loc| {
                render::lenses(view, &uri, crate::workspace::is_test_file(&loc.rel))
            })
            .unwrap_or_default();
        Ok(Some(lenses))
    }

    async fn code_lens_resolve(&self, mut lens: CodeLens) -> Result<CodeLens> {
        let data: LensData = lens
            .data
            .clone()
            .and_then(|d| serde_json::from_value(d).ok())
            .ok_or_else(|| invalid_params("code lens without testgen data"))?;
        lens.command = Some(render::lens_command(&data));
        Ok(lens)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        let uri = params.text_document.uri;
        self.open_doc(&uri)?;
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
                    serde_json::json!({"uri": uri.as_str(), "qualname": key}),
                ),
                render::FAILING => (
                    format!(
                        "Fix failing test {}",
                        key.rsplit("::").next().unwrap_or(&key)
                    ),
                    commands::FIX,
                    serde_json::json!({"uri": uri.as_str(), "nodeid": key}),
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
        if wants_source {
            let title = "Generate tests for uncovered code in this file".to_string();
            actions.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: title.clone(),
                kind: Some(CodeActionKind::SOURCE),
                command: Some(Command::new(
                    title,
                    commands::GENERATE.into(),
                    Some(vec![serde_json::json!({"uri": uri.as_str()})]),
                )),
                ..Default::default()
            }));
        }
        Ok(Some(actions))
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        self.execute(params).await
    }
}
