//! `testgen.refreshCoverage`: re-reads coverage and results of every folder.

use serde_json::{json, Value};

use crate::lsp::error::LspResult;
use crate::lsp::server::Backend;

pub async fn run(b: &Backend) -> LspResult<Option<Value>> {
    let n = b.session.workspaces().len();
    b.session.reload_all().await;
    Ok(Some(json!({ "workspaces": n })))
}
