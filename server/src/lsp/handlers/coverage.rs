//! testgen's own requests (docs/lsp-extensions.md): a folder's coverage
//! summary, one file's coverage, the tests of one line.

use serde::Deserialize;
use serde_json::{json, Value};

use crate::lsp::coverage_view;
use crate::lsp::error::{LspError, LspResult};
use crate::lsp::server::Backend;

#[derive(Deserialize)]
struct UriParam {
    uri: Option<String>,
}

#[derive(Deserialize)]
struct LineParam {
    uri: String,
    line: u32,
}

fn params<T: for<'de> Deserialize<'de>>(method: &str, v: Value) -> LspResult<T> {
    let v = if v.is_null() || v.as_array().is_some_and(|a| a.is_empty()) {
        json!({})
    } else {
        v
    };
    serde_json::from_value(v).map_err(|e| LspError::InvalidParams(format!("{method}: {e}")))
}

/// `testgen/coverageSummary`: the folder of `uri`, or the first one.
pub fn summary(b: &Backend, v: Value) -> LspResult<Value> {
    let p: UriParam = params("testgen/coverageSummary", v)?;
    let ws = match p.uri.as_deref() {
        Some(u) => {
            let uri = super::parse_uri(u)?;
            b.session.workspace_of(&uri)
        }
        None => b.session.workspaces().into_iter().next(),
    };
    Ok(match ws {
        Some(ws) => coverage_view::summary(&ws),
        // Not indexed yet (or no folder): "nothing measured yet".
        None => json!({"root": null, "percent": null, "linePercent": null,
                       "statements": 0, "covered": 0, "files": []}),
    })
}

/// `testgen/fileCoverage`.
pub fn file(b: &Backend, v: Value) -> LspResult<Value> {
    let p: UriParam = params("testgen/fileCoverage", v)?;
    let u = p.uri.ok_or_else(|| {
        LspError::InvalidParams("testgen/fileCoverage: missing field `uri`".into())
    })?;
    let uri = super::parse_uri(&u)?;
    Ok(coverage_view::file(&b.session, &uri).unwrap_or(Value::Null))
}

/// `testgen/testsForLine`.
pub fn tests_for_line(b: &Backend, v: Value) -> LspResult<Value> {
    let p: LineParam = params("testgen/testsForLine", v)?;
    let uri = super::parse_uri(&p.uri)?;
    let tests = b.session.tests_for_line(&uri, p.line).unwrap_or_default();
    Ok(json!({ "tests": tests }))
}
