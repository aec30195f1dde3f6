//! `textDocument/didClose`: the file on disk is the truth again.

use tower_lsp_server::ls_types::DidCloseTextDocumentParams;

use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: DidCloseTextDocumentParams) {
    let uri = params.text_document.uri;
    b.session.docs.remove(uri.as_str());
    if let Some(loc) = b.session.locate(&uri) {
        match std::fs::read(&loc.path) {
            Ok(bytes) => {
                loc.ws.index.reindex_file(&loc.rel, &bytes);
            }
            Err(_) => loc.ws.index.remove_file(&loc.rel),
        }
    }
    super::publish_later(&b.session, uri);
}
