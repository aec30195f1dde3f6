//! `window/workDoneProgress/cancel`: the user pressed cancel on a run.

use tower_lsp_server::ls_types::{NumberOrString, WorkDoneProgressCancelParams};

use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: WorkDoneProgressCancelParams) {
    if let NumberOrString::String(t) = &params.token {
        b.runs.cancel_token(t);
    }
}
