//! `workspace/executeCommand`: parsed into a typed command, run by its
//! file in `commands/`. Commands about files wait for the first index (a
//! plugin's first `:TestgenRun` right after startup), in their own future:
//! the server keeps answering other requests meanwhile.
//!
//! Every command runs as a background task of its own, never in the
//! request's future: tower-lsp-server answers `$/cancelRequest` by dropping
//! that future, which would stop the work wherever it stands (between two
//! files written, say). Dropping it here cancels the task's token instead
//! (the drop guard), and the task stops as it does when the user cancels
//! its progress: children killed, nothing written.
//!
//! A command stopped from its progress answers `{"cancelled": true,
//! "applied": "nothing"}`, not an error: the client did not cancel the
//! request, and Neovim drops a RequestCancelled answer without calling the
//! command's callback (the plugin would never learn it ended).

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;
use tower_lsp_server::ls_types::ExecuteCommandParams;

use crate::lsp::background;
use crate::lsp::commands::{self, Command};
use crate::lsp::error::{LspError, LspResult};
use crate::lsp::server::Backend;

pub async fn handle(b: &Backend, params: ExecuteCommandParams) -> LspResult<Option<Value>> {
    let command = Command::parse(&params.command, &params.arguments)?;
    let cancel = CancellationToken::new();
    let _cancel_when_dropped = cancel.clone().drop_guard();
    let task = background::spawn(execute(b.clone(), command, cancel));
    let answer = task
        .await
        .map_err(|e| LspError::RequestFailed(format!("testgen: the command failed: {e}")))?;
    match answer {
        Err(LspError::Cancelled(message)) => Ok(Some(json!({
            "cancelled": true,
            "applied": "nothing",
            "message": message,
        }))),
        other => other,
    }
}

async fn execute(
    b: Backend,
    command: Command,
    cancel: CancellationToken,
) -> LspResult<Option<Value>> {
    if command.needs_index() {
        tokio::select! {
            _ = b.session.wait_ready() => {}
            _ = cancel.cancelled() => return Err(commands::cancelled()),
        }
    }
    match command {
        Command::Run(a) => commands::run::run(&b, a, &cancel).await,
        Command::Refresh => commands::refresh::run(&b).await,
        Command::Generate(a) => commands::generate::run(&b, a, &cancel).await,
        Command::Fix(a) => commands::fix::run(&b, a, &cancel).await,
        Command::Report(a) => commands::report::run(&b, a).await,
    }
}
