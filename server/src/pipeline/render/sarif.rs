//! `.testgen/testgen.sarif`: SARIF 2.1.0 for code scanning. Two rules:
//! `uncovered-function` (a function with statements no test runs) and
//! `suspected-bug` (project code that raised where it should not).
//! Locations are relative to the repository root (`%SRCROOT%`), as GitHub's
//! code scanning expects.

use serde_json::{json, Value};

use super::super::report::RunReport;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

pub fn log(r: &RunReport) -> Value {
    let mut results: Vec<Value> = Vec::new();
    for g in &r.remaining_gaps {
        let why = g
            .reason
            .as_deref()
            .map(|w| format!(" Not generated: {w}."))
            .unwrap_or_default();
        results.push(result(
            "uncovered-function",
            "note",
            &format!(
                "{} has {} statements no test runs ({}% covered).{why}",
                g.target,
                g.missing_lines.len(),
                super::super::gates::fmt(g.coverage)
            ),
            &g.file,
            g.line,
        ));
    }
    for b in &r.suspected_bugs {
        results.push(result(
            "suspected-bug",
            "warning",
            &format!("{} raised {}: {}", b.input, b.error, b.reason),
            &b.file,
            b.line,
        ));
    }
    json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "testgen",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://github.com/testgen/testgen",
                "rules": [
                    {
                        "id": "uncovered-function",
                        "name": "UncoveredFunction",
                        "shortDescription": {"text": "Function not covered by any test"},
                        "fullDescription": {"text": "The function has statements that no test of the project runs."},
                        "defaultConfiguration": {"level": "note"}
                    },
                    {
                        "id": "suspected-bug",
                        "name": "SuspectedBug",
                        "shortDescription": {"text": "Project code raised an error it does not raise on purpose"},
                        "fullDescription": {"text": "A call with inputs that look valid made the interpreter raise inside project code (ZeroDivisionError, IndexError, KeyError, TypeError on None, ...)."},
                        "defaultConfiguration": {"level": "warning"}
                    }
                ]
            }},
            "originalUriBaseIds": {"%SRCROOT%": {"description": {"text": "The repository root."}}},
            "results": results
        }]
    })
}

fn result(rule: &str, level: &str, message: &str, file: &str, line: u32) -> Value {
    json!({
        "ruleId": rule,
        "level": level,
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": file, "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": line.max(1)}
            }
        }]
    })
}
