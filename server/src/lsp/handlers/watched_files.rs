//! `workspace/didChangeWatchedFiles`: the notify watcher covers the same
//! ground; a client that also sends these only makes the reload sooner.

use tower_lsp_server::ls_types::DidChangeWatchedFilesParams;

use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: DidChangeWatchedFilesParams) {
    let relevant = params.changes.iter().any(|c| {
        let u = c.uri.as_str();
        u.ends_with("coverage.xml")
            || u.ends_with("test-results.json")
            || u.ends_with("pyproject.toml")
    });
    if !relevant {
        return;
    }
    let session = b.session.clone();
    crate::lsp::background::spawn(async move {
        if let Err(e) = session.recompute_configs() {
            session.show_error(format!("testgen: {e}")).await;
        }
        session.reload_all().await;
    });
}
