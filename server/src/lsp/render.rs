//! Facts + buffer → diagnostics, code lenses, code actions. Pure functions:
//! no I/O, no locks, so they are cheap to call on every edit and easy to test.

use tower_lsp_server::ls_types::{
    CodeLens, Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location,
    NumberOrString, Position, Range, Uri,
};

use super::document::{Document, Encoding};
use super::facts::{CoverageFacts, FunctionFact, ResultFacts, TestFact};
use super::line_map::LineMap;
use super::state::{BugFacts, ImportFacts};
use crate::config::{Config, Severity};

pub const SOURCE: &str = "testgen";
pub const UNCOVERED: &str = "uncovered-function";
pub const PARTIAL: &str = "partially-covered";
pub const FAILING: &str = "failing-test";
pub const IMPORT_ERROR: &str = "import-error";
pub const NOT_GENERATED: &str = "not-generated";
pub const SUSPECTED_BUG: &str = "suspected-bug";

/// The buffer as rendering sees it, with the maps from each anchor.
pub struct View<'a> {
    pub doc: &'a Document,
    pub encoding: Encoding,
    pub coverage: Option<(&'a CoverageFacts, &'a LineMap)>,
    pub results: Option<(&'a ResultFacts, &'a LineMap)>,
    pub imports: Option<(&'a ImportFacts, &'a LineMap)>,
    /// Suspected bugs in this file (the fixer's report).
    pub bugs: Option<(&'a BugFacts, &'a LineMap)>,
    /// Functions of this file the last generation skipped: (qualname, why).
    pub skipped: &'a [(String, String)],
}

impl View<'_> {
    /// The range of an item's name on its (mapped) line, None when the line
    /// changed since the data was measured (then the item is withdrawn).
    fn name_range(&self, map: &LineMap, anchor_line: u32, cols: (usize, usize)) -> Option<Range> {
        let line = map.line(anchor_line)? - 1;
        let text = self.doc.line(line)?;
        Some(Range {
            start: Position {
                line,
                character: Document::column(text, cols.0, self.encoding),
            },
            end: Position {
                line,
                character: Document::column(text, cols.1, self.encoding),
            },
        })
    }

    fn functions(&self) -> impl Iterator<Item = (&FunctionFact, Range, &LineMap)> {
        self.coverage.into_iter().flat_map(move |(facts, map)| {
            facts.functions.iter().filter_map(move |f| {
                let r = self.name_range(map, f.line, f.name_cols)?;
                Some((f, r, map))
            })
        })
    }

    fn tests(&self) -> impl Iterator<Item = (&TestFact, Range, &LineMap)> {
        self.results.into_iter().flat_map(move |(facts, map)| {
            facts.tests.iter().filter_map(move |t| {
                let r = self.name_range(map, t.line, t.name_cols)?;
                Some((t, r, map))
            })
        })
    }
}

fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Information => DiagnosticSeverity::INFORMATION,
        Severity::Hint => DiagnosticSeverity::HINT,
    }
}

pub fn diagnostics(view: &View, uri: &Uri, settings: &Config, test_file: bool) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if !test_file {
        coverage_diagnostics(view, settings, &mut out);
        skipped_diagnostics(view, &mut out);
    }
    test_diagnostics(view, uri, &mut out);
    import_diagnostics(view, &mut out);
    bug_diagnostics(view, &mut out);
    out
}

/// A suspected bug on the line that raised: the code is wrong, not the
/// test that shows it (which is left as it is).
fn bug_diagnostics(view: &View, out: &mut Vec<Diagnostic>) {
    let Some((facts, map)) = view.bugs else {
        return;
    };
    for b in &facts.bugs {
        let Some(range) = line_range(view, map, b.line) else {
            continue;
        };
        let function = b.target.rsplit("::").next().unwrap_or(&b.target);
        let shown_by = b
            .test
            .as_deref()
            .map(|t| format!(" (shown by {t})"))
            .unwrap_or_default();
        out.push(diag(
            range,
            DiagnosticSeverity::WARNING,
            SUSPECTED_BUG,
            format!(
                "suspected bug in `{function}`: {} on {}{shown_by}: {}",
                b.error, b.input, b.reason
            ),
            b.target.clone(),
        ));
    }
}

/// The range of an anchor line's text (without its indentation) in the buffer.
fn line_range(view: &View, map: &LineMap, anchor_line: u32) -> Option<Range> {
    let line = map.line(anchor_line)? - 1;
    let text = view.doc.line(line)?;
    let start = text.len() - text.trim_start().len();
    Some(Range {
        start: Position {
            line,
            character: Document::column(text, start, view.encoding),
        },
        end: Position {
            line,
            character: Document::column(text, text.len(), view.encoding),
        },
    })
}

fn import_diagnostics(view: &View, out: &mut Vec<Diagnostic>) {
    let Some((facts, map)) = view.imports else {
        return;
    };
    for e in &facts.errors {
        if let Some(range) = line_range(view, map, e.line) {
            out.push(diag(
                range,
                DiagnosticSeverity::ERROR,
                IMPORT_ERROR,
                e.message.clone(),
                String::new(),
            ));
        }
    }
}

/// Why the last generation wrote nothing for a function, as a hint on it.
fn skipped_diagnostics(view: &View, out: &mut Vec<Diagnostic>) {
    if view.skipped.is_empty() {
        return;
    }
    for (f, range, _) in view.functions() {
        if let Some((_, why)) = view.skipped.iter().find(|(q, _)| *q == f.qualname) {
            out.push(diag(
                range,
                DiagnosticSeverity::HINT,
                NOT_GENERATED,
                format!("not generated: {why}"),
                f.qualname.clone(),
            ));
        }
    }
}

fn coverage_diagnostics(view: &View, settings: &Config, out: &mut Vec<Diagnostic>) {
    {
        for (f, range, map) in view.functions() {
            if f.is_uncovered() {
                out.push(diag(
                    range,
                    severity(settings.uncovered_severity),
                    UNCOVERED,
                    format!("`{}` is not covered by any test", f.qualname),
                    f.qualname.clone(),
                ));
            } else if f.statements > 0 && f.percent < settings.partial_threshold {
                let missing: Vec<String> = f
                    .missing
                    .iter()
                    .filter_map(|&(a, b)| {
                        // Only ranges that still exist unchanged in the buffer.
                        let (a2, b2) = (map.line(a)?, map.line(b)?);
                        map.unchanged(a, b).then(|| {
                            if a2 == b2 {
                                format!("{a2}")
                            } else {
                                format!("{a2}-{b2}")
                            }
                        })
                    })
                    .collect();
                let what = if missing.is_empty() {
                    "some branches are not taken".to_string()
                } else {
                    format!("lines {} are not run by any test", missing.join(", "))
                };
                out.push(diag(
                    range,
                    DiagnosticSeverity::HINT,
                    PARTIAL,
                    format!("`{}` is {:.0}% covered: {what}", f.qualname, f.percent),
                    f.qualname.clone(),
                ));
            }
        }
    }
}

fn test_diagnostics(view: &View, uri: &Uri, out: &mut Vec<Diagnostic>) {
    for (t, range, map) in view.tests() {
        if !t.is_failing() {
            continue;
        }
        let mut d = diag(
            range,
            DiagnosticSeverity::ERROR,
            FAILING,
            format!(
                "test `{}` {}: {}",
                t.name,
                if t.outcome == crate::runner::TestOutcome::Error {
                    "errors"
                } else {
                    "fails"
                },
                t.message.as_deref().unwrap_or("see the test output")
            ),
            t.nodeid.clone(),
        );
        if let Some(line) = t.failing_line.and_then(|l| map.line(l)) {
            let text = view.doc.line(line - 1).unwrap_or("");
            let start = text.len() - text.trim_start().len();
            d.related_information = Some(vec![DiagnosticRelatedInformation {
                location: Location {
                    uri: uri.clone(),
                    range: Range {
                        start: Position {
                            line: line - 1,
                            character: Document::column(text, start, view.encoding),
                        },
                        end: Position {
                            line: line - 1,
                            character: Document::column(text, text.len(), view.encoding),
                        },
                    },
                },
                message: "the failing assertion".into(),
            }]);
        }
        out.push(d);
    }
}

fn diag(
    range: Range,
    severity: DiagnosticSeverity,
    code: &str,
    message: String,
    key: String,
) -> Diagnostic {
    Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(code.into())),
        source: Some(SOURCE.into()),
        message,
        // The function's qualname or the test's node id, for code actions.
        data: Some(serde_json::json!({ "key": key })),
        ..Default::default()
    }
}

/// What a lens stands for; resolved into a command in `codeLens/resolve`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum LensData {
    Function {
        uri: String,
        qualname: String,
        percent: f64,
        covered: u32,
        tests: usize,
    },
    FailingTest {
        uri: String,
        nodeid: String,
    },
    RunTest {
        uri: String,
        nodeid: String,
    },
}

pub fn lenses(view: &View, uri: &Uri, test_file: bool) -> Vec<CodeLens> {
    let u = uri.as_str().to_string();
    let mut out = Vec::new();
    if !test_file {
        for (f, range, _) in view.functions() {
            if f.statements == 0 {
                continue;
            }
            out.push(lens(
                range,
                LensData::Function {
                    uri: u.clone(),
                    qualname: f.qualname.clone(),
                    percent: f.percent,
                    covered: f.covered,
                    tests: f.tests,
                },
            ));
        }
    }
    for (t, range, _) in view.tests() {
        if t.is_failing() {
            out.push(lens(
                range,
                LensData::FailingTest {
                    uri: u.clone(),
                    nodeid: t.nodeid.clone(),
                },
            ));
        }
        out.push(lens(
            range,
            LensData::RunTest {
                uri: u.clone(),
                nodeid: t.nodeid.clone(),
            },
        ));
    }
    out
}

fn lens(range: Range, data: LensData) -> CodeLens {
    CodeLens {
        range,
        command: None,
        data: serde_json::to_value(data).ok(),
    }
}

/// The command of a resolved lens: its title and what it runs.
pub fn lens_command(data: &LensData) -> tower_lsp_server::ls_types::Command {
    use serde_json::json;
    use tower_lsp_server::ls_types::Command;
    match data {
        LensData::Function {
            uri,
            qualname,
            percent,
            covered,
            tests,
        } => {
            if *covered == 0 {
                Command::new(
                    "not covered · Generate tests".into(),
                    super::commands::GENERATE.into(),
                    Some(vec![json!({"uri": uri, "qualname": qualname})]),
                )
            } else {
                let tests = match tests {
                    1 => "1 test".to_string(),
                    n => format!("{n} tests"),
                };
                Command::new(
                    format!("{percent:.0}% covered · {tests}"),
                    super::commands::GENERATE.into(),
                    Some(vec![json!({"uri": uri, "qualname": qualname})]),
                )
            }
        }
        LensData::FailingTest { uri, nodeid } => Command::new(
            "failing · Fix test".into(),
            super::commands::FIX.into(),
            Some(vec![json!({"uri": uri, "nodeid": nodeid})]),
        ),
        LensData::RunTest { uri, nodeid } => Command::new(
            "Run test".into(),
            super::commands::RUN.into(),
            Some(vec![json!({"uri": uri, "nodeids": [nodeid]})]),
        ),
    }
}
