//! `initialized`: shows a broken pyproject.toml, then asks for the
//! client's settings and indexes the folders, all in the background: the
//! handler returns at once, so nothing waits behind it.

use crate::lsp::indexing;
use crate::lsp::server::Backend;

pub async fn handle(b: &Backend) {
    let (session, runs, watchers) = (b.session.clone(), b.runs.clone(), b.watchers.clone());
    crate::lsp::background::spawn(async move {
        if let Err(e) = session.recompute_configs() {
            session.show_error(format!("testgen: {e}")).await;
        }
        super::configuration::fetch(&session).await;
        indexing::index_folders(&session, &runs, &watchers).await;
    });
}
