//! `textDocument/hover`: on a covered line, the tests that execute it (from
//! the per-test coverage contexts), as Diffblue and TestSpark show them.

use tower_lsp_server::ls_types::{Hover, HoverContents, HoverParams, MarkupContent, MarkupKind};

use crate::lsp::error::LspResult;
use crate::lsp::server::Backend;

/// More would not be read in a hover.
const SHOWN: usize = 12;

pub fn handle(b: &Backend, params: HoverParams) -> LspResult<Option<Hover>> {
    let p = params.text_document_position_params;
    super::open_doc(&b.session, &p.text_document.uri)?;
    let Some(tests) = b
        .session
        .tests_for_line(&p.text_document.uri, p.position.line)
    else {
        return Ok(None);
    };
    if tests.is_empty() {
        return Ok(None);
    }
    let mut text = match tests.len() {
        1 => "**testgen**: 1 test runs this line\n".to_string(),
        n => format!("**testgen**: {n} tests run this line\n"),
    };
    for t in tests.iter().take(SHOWN) {
        text.push_str(&format!("\n- `{t}`"));
    }
    if tests.len() > SHOWN {
        text.push_str(&format!("\n- … and {} more", tests.len() - SHOWN));
    }
    Ok(Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range: None,
    }))
}
