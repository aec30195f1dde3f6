//! `textDocument/didChange`: applied at once, in arrival order (a stale
//! version is refused), then the file is re-indexed and republished.

use tower_lsp_server::ls_types::{DidChangeTextDocumentParams, MessageType};

use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: DidChangeTextDocumentParams) {
    let uri = params.text_document.uri;
    let version = params.text_document.version;
    let enc = b.session.encoding();
    let text = {
        let Some(mut doc) = b.session.docs.get_mut(uri.as_str()) else {
            tracing::warn!(
                "didChange for a document that is not open: {}",
                uri.as_str()
            );
            return;
        };
        if version <= doc.version {
            tracing::warn!(
                "stale didChange for {} (version {version} <= {})",
                uri.as_str(),
                doc.version
            );
            return;
        }
        let mut next = doc.clone();
        for change in &params.content_changes {
            if let Err(e) = next.apply(change.range, &change.text, enc) {
                // The client and server disagree on the text: keep ours
                // intact and say so, rather than corrupt it.
                tracing::error!("{}: {e}; edit ignored", uri.as_str());
                drop(doc);
                let client = b.session.client.clone();
                let msg = format!(
                    "testgen: an edit of {} did not apply ({e}); reopen the file",
                    uri.as_str()
                );
                tokio::spawn(async move { client.show_message(MessageType::ERROR, msg).await });
                return;
            }
        }
        next.version = version;
        *doc = next;
        doc.text().to_string()
    };
    if let Some(loc) = b.session.locate(&uri) {
        loc.ws.index.reindex_file(&loc.rel, text.as_bytes());
    }
    super::publish_later(&b.session, uri);
}
