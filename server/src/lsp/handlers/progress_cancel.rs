//! `window/workDoneProgress/cancel`: the user pressed cancel on a progress
//! (the editor's own button). The work registered under that token (a
//! generation, a fix, a test run) stops as on `$/cancelRequest`: its
//! process groups are killed and nothing it would have written is written.

use tower_lsp_server::ls_types::WorkDoneProgressCancelParams;

use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: WorkDoneProgressCancelParams) {
    if !b.session.cancellable.cancel(&params.token) {
        // Ended already, or never cancellable (indexing): nothing to stop.
        tracing::debug!(token = ?params.token, "cancel for no work in flight");
    }
}
