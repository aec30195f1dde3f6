//! `textDocument/didOpen`: the buffer is the truth for this file from now
//! on; its diagnostics follow.

use tower_lsp_server::ls_types::DidOpenTextDocumentParams;

use crate::lsp::document::Document;
use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: DidOpenTextDocumentParams) {
    let doc = params.text_document;
    b.session.docs.insert(
        doc.uri.as_str().to_string(),
        Document::new(doc.text.clone(), doc.version),
    );
    if let Some(loc) = b.session.locate(&doc.uri) {
        loc.ws.index.reindex_file(&loc.rel, doc.text.as_bytes());
    }
    super::publish_later(&b.session, doc.uri);
}
