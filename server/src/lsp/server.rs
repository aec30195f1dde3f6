//! The protocol layer: tower-lsp-server's trait, each method handed to its
//! handler in `handlers/` (one file per message). Nothing else lives here.
//!
//! tower-lsp-server runs handlers concurrently; document changes are applied
//! synchronously at the top of their handler, before any `.await`, and
//! stale versions are rejected, so edits are never applied out of order.
//! Long work (indexing, runs, generation) is spawned: a handler answers
//! from what is known now and never waits for indexing.

use std::sync::{Arc, Mutex};

use serde_json::Value;
use tower_lsp_server::jsonrpc::Result;
use tower_lsp_server::ls_types::*;
use tower_lsp_server::{Client, LanguageServer};

use super::handlers;
use super::runs::Runs;
use super::session::Session;
use super::watch::WatchHandle;

/// Cheap to clone (shared handles): long commands take a clone into the
/// background task they run in.
#[derive(Clone)]
pub struct Backend {
    pub session: Arc<Session>,
    pub runs: Arc<Runs>,
    pub watchers: Arc<Mutex<Vec<WatchHandle>>>,
}

impl Backend {
    pub fn new(client: Client) -> Backend {
        Backend {
            session: Arc::new(Session::new(client)),
            runs: Arc::new(Runs::default()),
            watchers: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// `window/workDoneProgress/cancel`: the user pressed cancel on a run.
    pub async fn work_done_progress_cancel(&self, params: WorkDoneProgressCancelParams) {
        handlers::progress_cancel::handle(self, params);
    }

    /// `testgen/coverageSummary` (docs/lsp-extensions.md).
    pub async fn coverage_summary(&self, params: Value) -> Result<Value> {
        Ok(handlers::coverage::summary(self, params)?)
    }

    /// `testgen/fileCoverage`.
    pub async fn file_coverage(&self, params: Value) -> Result<Value> {
        Ok(handlers::coverage::file(self, params)?)
    }

    /// `testgen/testsForLine`.
    pub async fn tests_for_line(&self, params: Value) -> Result<Value> {
        Ok(handlers::coverage::tests_for_line(self, params)?)
    }
}

impl LanguageServer for Backend {
    async fn initialize(&self, params: InitializeParams) -> Result<InitializeResult> {
        Ok(handlers::initialize::handle(self, params)?)
    }

    async fn initialized(&self, _: InitializedParams) {
        handlers::initialized::handle(self).await;
    }

    async fn shutdown(&self) -> Result<()> {
        self.runs.cancel_current();
        self.session.cancellable.cancel_all();
        Ok(())
    }

    async fn did_open(&self, params: DidOpenTextDocumentParams) {
        handlers::did_open::handle(self, params);
    }

    async fn did_change(&self, params: DidChangeTextDocumentParams) {
        handlers::did_change::handle(self, params);
    }

    async fn did_save(&self, params: DidSaveTextDocumentParams) {
        handlers::did_save::handle(self, params);
    }

    async fn did_close(&self, params: DidCloseTextDocumentParams) {
        handlers::did_close::handle(self, params);
    }

    async fn did_change_configuration(&self, params: DidChangeConfigurationParams) {
        handlers::configuration::did_change(self, params);
    }

    async fn did_change_watched_files(&self, params: DidChangeWatchedFilesParams) {
        handlers::watched_files::handle(self, params);
    }

    async fn code_lens(&self, params: CodeLensParams) -> Result<Option<Vec<CodeLens>>> {
        Ok(handlers::code_lens::handle(self, params)?)
    }

    async fn code_lens_resolve(&self, lens: CodeLens) -> Result<CodeLens> {
        Ok(handlers::code_lens::resolve(lens)?)
    }

    async fn code_action(&self, params: CodeActionParams) -> Result<Option<CodeActionResponse>> {
        Ok(handlers::code_action::handle(self, params)?)
    }

    async fn hover(&self, params: HoverParams) -> Result<Option<Hover>> {
        Ok(handlers::hover::handle(self, params)?)
    }

    async fn execute_command(&self, params: ExecuteCommandParams) -> Result<Option<Value>> {
        Ok(handlers::execute_command::handle(self, params).await?)
    }
}
