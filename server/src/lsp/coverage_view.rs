//! The payloads of testgen's own messages (docs/lsp-extensions.md): a
//! folder's coverage summary and one file's lines and declarations, in the
//! coordinates of the buffer as it is now (0-based lines; lines edited since
//! the measurement are left out).

use serde_json::{json, Value};
use tower_lsp_server::ls_types::Uri;

use super::line_map::LineMap;
use super::session::Session;
use super::state::WorkspaceState;

/// `testgen/coverageChanged`'s payload for one folder.
pub fn summary(ws: &WorkspaceState) -> Value {
    let data = ws.data();
    let mut files = Vec::new();
    let mut paths: Vec<_> = data.coverage.keys().collect();
    paths.sort();
    for rel in paths {
        if crate::workspace::is_test_file(rel) {
            continue;
        }
        let f = &data.coverage[rel];
        let Some(uri) = Uri::from_file_path(ws.root().join(rel.as_str())) else {
            continue;
        };
        let (covered, total) = f.statements();
        let declared = f.functions.iter().filter(|d| d.statements > 0);
        let decl_total = declared.clone().count();
        let decl_covered = declared.filter(|d| d.covered > 0).count();
        let mut file = json!({
            "uri": uri.as_str(),
            "statements": {"covered": covered, "total": total},
            "declarations": {"covered": decl_covered, "total": decl_total},
        });
        if let Some((c, t)) = f.branches() {
            file["branches"] = json!({"covered": c, "total": t});
        }
        files.push(file);
    }
    let s = &data.summary;
    json!({
        "root": Uri::from_file_path(ws.root()).map(|u| u.as_str().to_string()),
        "percent": s.percent,
        "linePercent": s.line_percent,
        "statements": s.statements,
        "covered": s.covered,
        "files": files,
    })
}

/// `testgen/fileCoverage`'s answer; None without measured data.
pub fn file(session: &Session, uri: &Uri) -> Option<Value> {
    let loc = session.locate(uri)?;
    let data = loc.ws.data();
    let cov = data.coverage.get(&loc.rel)?;
    let doc = session.buffer_text(uri, &loc)?;
    let map = LineMap::between(&cov.anchor, &doc);
    let contexts = data.contexts.as_deref();
    let tests_on =
        |line: u32| contexts.map(|c| c.tests_touching(&loc.rel, Some(line..=line)).len());
    let lines: Vec<Value> = cov
        .lines
        .iter()
        .filter_map(|l| {
            let now = map.line(l.line)?;
            let hits = if l.hits == 0 {
                0
            } else {
                tests_on(l.line).filter(|n| *n > 0).unwrap_or(1)
            };
            let mut v = json!({"line": now - 1, "hits": hits});
            if let Some(b) = &l.branches {
                v["branches"] = json!({"covered": b.covered, "total": b.total});
            }
            Some(v)
        })
        .collect();
    let declarations: Vec<Value> = cov
        .functions
        .iter()
        .filter(|f| f.statements > 0)
        .filter_map(|f| {
            let (start, end) = (map.line(f.line)?, map.line(f.end_line)?);
            let tests: Vec<String> = contexts
                .map(|c| {
                    c.tests_touching(&loc.rel, Some(f.line..=f.end_line))
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default();
            let hits = if f.covered == 0 {
                0
            } else {
                tests.len().max(1)
            };
            Some(json!({
                "name": f.name, "qualname": f.qualname,
                "line": start - 1, "endLine": end - 1,
                "hits": hits, "percent": f.percent, "tests": tests,
            }))
        })
        .collect();
    Some(json!({"uri": uri.as_str(), "lines": lines, "declarations": declarations}))
}
