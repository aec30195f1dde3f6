//! `workspace/executeCommand`: parsed into a typed command, run by its
//! file in `commands/`. Commands about files wait for the first index (a
//! plugin's first `:TestgenRun` right after startup), in their own future:
//! the server keeps answering other requests meanwhile.

use serde_json::Value;
use tower_lsp_server::ls_types::ExecuteCommandParams;

use crate::lsp::commands::{self, Command};
use crate::lsp::error::LspResult;
use crate::lsp::server::Backend;

pub async fn handle(b: &Backend, params: ExecuteCommandParams) -> LspResult<Option<Value>> {
    let command = Command::parse(&params.command, &params.arguments)?;
    if command.needs_index() {
        b.session.wait_ready().await;
    }
    match command {
        Command::Run(a) => commands::run::run(b, a).await,
        Command::Refresh => commands::refresh::run(b).await,
        Command::Generate(a) => commands::generate::run(b, a).await,
        Command::Fix(a) => commands::fix::run(b, a).await,
        Command::Report(a) => commands::report::run(b, a).await,
    }
}
