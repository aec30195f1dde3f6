//! `testgen.showReport {uri?}`: the folder's coverage summary, the HTML
//! report when a `testgen run` wrote one, and a few lines for a message.

use serde_json::{json, Value};

use super::ReportArgs;
use crate::lsp::coverage_view;
use crate::lsp::error::{LspError, LspResult};
use crate::lsp::handlers;
use crate::lsp::server::Backend;

pub async fn run(b: &Backend, a: ReportArgs) -> LspResult<Option<Value>> {
    let ws = match &a.uri {
        Some(u) => b.session.workspace_of(&handlers::parse_uri(u)?),
        None => b.session.workspaces().into_iter().next(),
    };
    let Some(ws) = ws else {
        let indexing = !b.session.is_ready();
        return Err(LspError::RequestFailed(if indexing {
            "testgen: the workspace is still being indexed; try again in a moment".into()
        } else {
            "testgen: no workspace folder is open".into()
        }));
    };
    let summary = coverage_view::summary(&ws);
    let html = ws
        .root()
        .join(crate::workspace::artifacts::DIR)
        .join("report.html");
    let text = text(&ws.data());
    Ok(Some(json!({
        "summary": summary,
        "html": html.is_file().then(|| html.display().to_string()),
        "text": text,
    })))
}

/// What a message window shows: the totals and the least covered files.
fn text(data: &crate::lsp::state::Data) -> String {
    let s = &data.summary;
    let Some(line) = s.line_percent else {
        return "testgen: nothing measured yet; run the tests (testgen.runTests) first".into();
    };
    let mut out = format!(
        "testgen: {line:.1}% of the project's statements covered ({} of {})",
        s.covered, s.statements
    );
    let mut files: Vec<(f64, String)> = data
        .coverage
        .iter()
        .filter(|(p, _)| !crate::workspace::is_test_file(p))
        .filter_map(|(p, f)| {
            let (c, t) = f.statements();
            (t > 0 && c < t).then(|| (100.0 * f64::from(c) / f64::from(t), p.to_string()))
        })
        .collect();
    files.sort_by(|a, b| a.0.total_cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
    for (pct, path) in files.iter().take(5) {
        out.push_str(&format!("\n  {pct:5.1}%  {path}"));
    }
    out
}
