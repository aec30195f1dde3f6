//! `testgen.runTests {uri?, nodeids?}`: the given tests (all without node
//! ids) of the folder of `uri` (the first folder without it), with progress;
//! answers `{outcome, counts, coverage}`.

use serde_json::{json, Value};

use super::RunArgs;
use crate::lsp::error::{LspError, LspResult};
use crate::lsp::handlers;
use crate::lsp::runs;
use crate::lsp::server::Backend;
use crate::runner::Selection;

pub async fn run(b: &Backend, a: RunArgs) -> LspResult<Option<Value>> {
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
    let run = runs::run(&b.session, &b.runs, &ws, selection, "command").await;
    Ok(run.map(|r| json!({"outcome": r.outcome, "counts": r.counts, "coverage": r.coverage})))
}
