//! `textDocument/codeLens` and `codeLens/resolve`: lenses from what is
//! measured now (none before the first index), resolved into commands.

use tower_lsp_server::ls_types::{CodeLens, CodeLensParams};

use crate::lsp::error::{LspError, LspResult};
use crate::lsp::render::{self, LensData};
use crate::lsp::server::Backend;

pub fn handle(b: &Backend, params: CodeLensParams) -> LspResult<Option<Vec<CodeLens>>> {
    let uri = params.text_document.uri;
    super::open_doc(&b.session, &uri)?;
    if !super::is_python(&uri) {
        return Ok(Some(Vec::new()));
    }
    let lenses = b
        .session
        .with_view(&uri, |view, loc| {
            render::lenses(view, &uri, crate::workspace::is_test_file(&loc.rel))
        })
        .unwrap_or_default();
    Ok(Some(lenses))
}

pub fn resolve(mut lens: CodeLens) -> LspResult<CodeLens> {
    let data: LensData = lens
        .data
        .clone()
        .and_then(|d| serde_json::from_value(d).ok())
        .ok_or_else(|| LspError::InvalidParams("code lens without testgen data".into()))?;
    lens.command = Some(render::lens_command(&data));
    Ok(lens)
}
