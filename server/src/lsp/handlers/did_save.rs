//! `textDocument/didSave`: a saved Python file of a workspace folder runs
//! the tests it affects (debounced, in the background). A save during the
//! first indexing waits for it in its own task, not in the handler.

use tower_lsp_server::ls_types::DidSaveTextDocumentParams;

use crate::lsp::runs;
use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: DidSaveTextDocumentParams) {
    let uri = params.text_document.uri;
    if !super::is_python(&uri) {
        return;
    }
    let (session, runs) = (b.session.clone(), b.runs.clone());
    crate::lsp::background::spawn(async move {
        session.wait_ready().await;
        if let Some(loc) = session.locate(&uri) {
            runs::on_save(session.clone(), runs, loc.ws, loc.rel);
        }
    });
}
