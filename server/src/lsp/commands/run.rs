//! `testgen.runTests {uri?, nodeids?}`: the given tests (all without node
//! ids) of the folder of `uri` (the first folder without it), with progress;
//! answers `{outcome, counts, coverage}`. A run cancelled (its progress,
//! `$/cancelRequest`, or a newer save) answers RequestCancelled.

use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::RunArgs;
use crate::lsp::error::{LspError, LspResult};
use crate::lsp::handlers;
use crate::lsp::runs;
use crate::lsp::server::Backend;
use crate::runner::{RunOutcome, Selection};

pub async fn run(b: &Backend, a: RunArgs, cancel: &CancellationToken) -> LspResult<Option<Value>> {
    let ws = match &a.uri {
        Some(u) => {
            let uri = handlers::parse_uri(u)?;
            b.session
                .workspace_of(&uri)
                .ok_or_else(|| LspError::InvalidParams(format!("{u}: not in a workspace folder")))?
        }
        None => b
            .session
            .workspaces()
            .into_iter()
            .next()
            .ok_or_else(|| LspError::InvalidParams("no workspace folder is open".into()))?,
    };
    let selection = if a.nodeids.is_empty() {
        Selection::All
    } else {
        Selection::Only(a.nodeids)
    };
    b.runs.cancel_current();
    let run = runs::run(&b.session, &b.runs, &ws, selection, "command", cancel).await;
    match run {
        _ if cancel.is_cancelled() => Err(super::cancelled()),
        Some(r) if r.outcome == RunOutcome::Cancelled => Err(super::cancelled()),
        run => {
            Ok(run
                .map(|r| json!({"outcome": r.outcome, "counts": r.counts, "coverage": r.coverage})))
        }
    }
}
