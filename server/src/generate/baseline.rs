//! The "before" of a generation: what the project's own suite covers. A
//! project without tests has a real baseline too: pytest collects nothing,
//! and coverage.py, with its source set to the Python root, still reports
//! every file of it at 0%. A suite that cannot be measured (collection
//! errors, a broken interpreter) stops generation with what happened and
//! what to do: tests written against an unknown baseline cannot be shown to
//! add anything.

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{targets, GenerateError};
use crate::coverage::{cobertura, gaps};
use crate::index::Index;
use crate::runner::{self, RunOutcome, RunRequest, Selection, TestOutcome, TestRun};
use crate::workspace::Project;

/// Where the "before" coverage comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Run the suite now.
    Measure,
    /// The newest coverage.xml on disk when there is one (the editor has
    /// just measured), else run the suite.
    Existing,
}

/// How the baseline was obtained, as the report says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The project's suite ran now.
    Measured,
    /// The project has no tests (or pytest collected none): every statement
    /// of the Python root counts as missing.
    NoTests,
    /// The coverage report already on disk (the editor's last run).
    Existing,
}

/// Coverage of the project's own code: test files (the user's and the
/// generated ones) are measured by `--cov=<python root>` but left out here,
/// so that writing tests cannot raise the figure by covering themselves.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Coverage {
    /// Line coverage of the non-test files, percent.
    pub line_percent: f64,
    /// Statements and missing statements of the non-test files.
    pub statements: u32,
    pub missing: u32,
    /// `coverage report`'s TOTAL over everything measured (lines and
    /// branches, test files included), for comparison with coverage.py.
    pub report_percent: f64,
}

impl Coverage {
    /// `project` holds the non-test files only; `everything` is the report
    /// as coverage.py wrote it.
    fn of(project: &cobertura::CoverageReport, everything: &cobertura::CoverageReport) -> Coverage {
        let (mut statements, mut missing) = (0u32, 0u32);
        for f in &project.files {
            statements += f.lines.len() as u32;
            missing += f.missing_lines().count() as u32;
        }
        Coverage {
            line_percent: percent(statements, missing),
            statements,
            missing,
            report_percent: gaps::total_percent(everything),
        }
    }
}

/// Whether a measured file is a test (the user's or a generated one): test
/// files are measured, but they are not the code whose coverage is wanted.
fn is_test(path: &crate::index::model::RelPath) -> bool {
    crate::workspace::is_test_file(path) || targets::is_generated(path)
}

/// The report without its test files.
fn project_files(report: &cobertura::CoverageReport) -> cobertura::CoverageReport {
    cobertura::CoverageReport {
        files: report
            .files
            .iter()
            .filter(|f| !is_test(&f.path))
            .cloned()
            .collect(),
        ..report.clone()
    }
}

/// A measured baseline.
pub struct Baseline {
    pub kind: Kind,
    pub coverage: Coverage,
    /// Per non-test file, for reports.
    pub files: Vec<FileLine>,
    pub gaps: gaps::GapReport,
}

/// One project file's line coverage (test files left out, as in [`Coverage`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FileLine {
    pub path: String,
    pub statements: u32,
    pub missing: u32,
    pub percent: f64,
}

impl FileLine {
    /// `project` holds the non-test files only.
    fn of(project: &cobertura::CoverageReport) -> Vec<FileLine> {
        project
            .files
            .iter()
            .map(|f| {
                let statements = f.lines.len() as u32;
                let missing = f.missing_lines().count() as u32;
                FileLine {
                    path: f.path.to_string(),
                    statements,
                    missing,
                    percent: percent(statements, missing),
                }
            })
            .collect()
    }
}

fn percent(statements: u32, missing: u32) -> f64 {
    if statements == 0 {
        100.0
    } else {
        let p = 100.0 * f64::from(statements - missing) / f64::from(statements);
        (p * 100.0).round() / 100.0
    }
}

/// The suite's coverage: measured now, or read from the newest report.
/// Gap analysis for targeting does not depend on a threshold: the report's
/// `min_coverage` is the configuration's default.
pub async fn measure(
    project: &Project,
    index: &Index,
    run_req: &RunRequest,
    source: Source,
    cancel: &CancellationToken,
) -> Result<Baseline, GenerateError> {
    let existing = match source {
        Source::Existing => crate::coverage::fresh_report(&project.root),
        Source::Measure => None,
    };
    let (kind, xml) = match existing {
        Some(xml) => (Kind::Existing, xml),
        None => {
            let req = RunRequest {
                selection: Selection::All,
                ..run_req.clone()
            };
            let run = runner::run_tests(project, &req, cancel).await?;
            return of_run(project, index, &run, crate::config::DEFAULT_MIN_COVERAGE);
        }
    };
    read(
        project,
        index,
        kind,
        &xml,
        crate::config::DEFAULT_MIN_COVERAGE,
    )
}

/// The baseline a finished run of the whole suite gives (the CI pipeline
/// runs the suite itself: it also reports the run's failures).
/// `min_coverage` is the gate the gap report (`coverage_gaps.json`) states.
pub fn of_run(
    project: &Project,
    index: &Index,
    run: &TestRun,
    min_coverage: f64,
) -> Result<Baseline, GenerateError> {
    let kind = usable(run)?;
    read(
        project,
        index,
        kind,
        &run.artifacts.coverage_xml,
        min_coverage,
    )
}

/// The baseline a coverage report on disk gives. Its gaps are the project
/// code's only: a generated conftest's unused fixture is no gap to close,
/// and test files covering themselves would inflate the figures.
pub fn read(
    project: &Project,
    index: &Index,
    kind: Kind,
    xml: &std::path::Path,
    min_coverage: f64,
) -> Result<Baseline, GenerateError> {
    let everything =
        cobertura::read(xml, &project.root).map_err(|e| GenerateError::Coverage(e.to_string()))?;
    let report = project_files(&everything);
    let coverage = Coverage::of(&report, &everything);
    let mut gaps = gaps::analyze(&report, |p| index.file(p), min_coverage);
    // The gate is on line coverage (the reference's line-rate), so is the
    // report's verdict.
    gaps.needs_ai_generation = coverage.line_percent < min_coverage;
    Ok(Baseline {
        kind,
        coverage,
        files: FileLine::of(&report),
        gaps,
    })
}

/// Whether a run of the whole suite gives a baseline, and which kind.
fn usable(run: &TestRun) -> Result<Kind, GenerateError> {
    if let Some(problem) = &run.problem {
        return Err(GenerateError::NoBaseline(problem.clone()));
    }
    let kind = match run.outcome {
        RunOutcome::Cancelled => return Err(GenerateError::Cancelled),
        RunOutcome::NoTestsCollected => Kind::NoTests,
        // Failing tests still measure what they run.
        RunOutcome::Passed | RunOutcome::TestsFailed => Kind::Measured,
        _ => return Err(GenerateError::NoBaseline(unmeasurable(run))),
    };
    if run.coverage.is_none() {
        return Err(GenerateError::NoBaseline(
            "pytest ran, but coverage.py wrote no report; run `testgen test PATH` to see its output"
                .into(),
        ));
    }
    Ok(kind)
}

/// What went wrong with the suite, in words, with pytest's first errors.
fn unmeasurable(run: &TestRun) -> String {
    let errors: Vec<String> = run
        .tests
        .iter()
        .filter(|t| t.outcome == TestOutcome::Error)
        .take(3)
        .map(|t| format!("{}: {}", t.nodeid, t.reason().unwrap_or_default()))
        .collect();
    let detail = if errors.is_empty() {
        run.output_tail
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
            .unwrap_or_default()
    } else {
        errors.join("; ")
    };
    let what = run.outcome.describe();
    if detail.is_empty() {
        what.to_string()
    } else {
        format!("{what} ({detail})")
    }
}
