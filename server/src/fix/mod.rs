//! The auto-fixer (issue 13, the reference pipeline's section 8): failing
//! tests are classified, a test's mistakes repaired, the code's bugs
//! reported. `testgen fix` and the editor's "Fix failing test" call [`run`].
//!
//! Per iteration: run the selected tests (`runner/`), read each failure
//! (`failure.rs`), classify it (`classify.rs`, then the [`Model`] for what
//! the rules leave unknown), report a code bug as a [`SuspectedBug`] and
//! leave its test alone, or repair a test mistake (`repair.rs`):
//! deterministic fixes first (`deterministic.rs`, no model call), then the
//! model's; each spliced into exactly the test function's range
//! (`patch.rs`) and kept only if it passes every validation run on a
//! temporary copy (`verify.rs`). The loop stops when an iteration fixes
//! nothing. `report.rs` writes `.testgen/auto_fixer_report.json`.
//!
//! The user's tests are only ever changed here, on an explicit request.

mod classify;
mod context;
mod deterministic;
mod failure;
pub mod llm;
pub mod model;
mod patch;
mod repair;
pub mod report;
mod verify;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::generate::output::FileEdit;
use crate::generate::SuspectedBug;
use crate::index::model::RelPath;
use crate::index::{index_source, Index};
use crate::runner::{self, python, RunRequest, RunnerError, Selection, TestRun};
use crate::workspace::{artifacts, Project};

pub use classify::Kind;
pub use llm::LlmModel;
pub use model::{Model, NoModel};
pub use report::{Outcome as FixOutcome, Report};

pub const DEFAULT_MAX_ITERATIONS: u32 = 3;

/// What becomes of the fixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Apply {
    /// Written to the test files (the command line), then confirmed by a
    /// run in place; a file whose fixed test fails there is restored.
    Write,
    /// Handed back as edits (the editor applies them); one iteration.
    Return,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub python: Option<PathBuf>,
    /// Node ids relative to the Python root; empty: every failing test.
    pub tests: Vec<String>,
    pub max_iterations: u32,
    pub timeout: Duration,
    pub pytest_args: Vec<String>,
    /// Confines runs of fixes a model wrote.
    pub sandbox: crate::sandbox::Settings,
    pub apply: Apply,
}

#[derive(Debug)]
pub struct Fixed {
    pub report: Report,
    /// With [`Apply::Return`]: the test modules' new texts.
    pub edits: Vec<FileEdit>,
    /// The last run of the tests (with [`Apply::Write`], after the fixes).
    pub run: Option<TestRun>,
}

#[derive(Debug, thiserror::Error)]
pub enum FixError {
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Runner(RunnerError),
    /// pytest could not run the selection (a node id that does not exist).
    #[error("{0}")]
    Run(String),
    #[error("writing {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<RunnerError> for FixError {
    fn from(e: RunnerError) -> Self {
        match e {
            RunnerError::Cancelled => FixError::Cancelled,
            e => FixError::Runner(e),
        }
    }
}

impl From<repair::RepairError> for FixError {
    fn from(e: repair::RepairError) -> Self {
        match e {
            repair::RepairError::Cancelled => FixError::Cancelled,
            repair::RepairError::Runner(e) => e.into(),
        }
    }
}

/// Fixes the failing tests of `project` that `req` selects.
pub async fn run<M: Model>(
    project: &Project,
    req: &Request,
    model: Option<&M>,
    cancel: &CancellationToken,
) -> Result<Fixed, FixError> {
    use tracing::Instrument;
    let span = tracing::info_span!("fix", root = %project.root.display(), tests = req.tests.len());
    run_in_span(project, req, model, cancel)
        .instrument(span)
        .await
}

async fn run_in_span<M: Model>(
    project: &Project,
    req: &Request,
    model: Option<&M>,
    cancel: &CancellationToken,
) -> Result<Fixed, FixError> {
    let started = Instant::now();
    let interp = python::discover(req.python.as_deref(), &project.root, &project.python_root)?;
    python::check(&interp.path).await?;
    let _lock = runner::lock_project(&project.root, cancel).await?;
    let mut report = Report::new(model.map(|m| m.name()));
    if model.is_none() {
        report.notes.push(
            "no LLM is configured: only the deterministic fixes were tried (configure llm.provider for the rest)".into(),
        );
    }
    let sandbox = req.sandbox.clone();
    let verifier = verify::Verifier {
        project,
        python: &interp.path,
        timeout: req.timeout,
        sandbox: Some(&sandbox),
        cancel,
    };
    let repairer = repair::Repairer {
        verifier: &verifier,
        model,
        root: &project.root,
    };
    let prefix = RelPath::from_abs(&project.root, &project.python_root)
        .map(|p| p.to_string())
        .unwrap_or_default();
    let selection = if req.tests.is_empty() {
        Selection::All
    } else {
        Selection::Only(req.tests.clone())
    };
    let run_req = |selection: Selection| RunRequest {
        python: Some(interp.path.clone()),
        selection,
        timeout: req.timeout,
        extra_args: req.pytest_args.clone(),
        progress: None,
    };
    let mut concluded: BTreeSet<String> = BTreeSet::new();
    let mut originals: BTreeMap<RelPath, String> = BTreeMap::new();
    let mut current: BTreeMap<RelPath, String> = BTreeMap::new();
    let mut last_run = None;
    for iteration in 1..=req.max_iterations.max(1) {
        report.iterations = iteration;
        let run = runner::run_tests(project, &run_req(selection.clone()), cancel).await?;
        check_run(&run, &req.tests)?;
        let failures: Vec<failure::Failure> = run
            .tests
            .iter()
            .filter_map(|t| failure::Failure::from_result(t, &project.root, &project.python_root))
            .filter(|f| !concluded.contains(&f.nodeid))
            .collect();
        last_run = Some(run);
        if failures.is_empty() {
            break;
        }
        let index = {
            let p = project.clone();
            tokio::task::spawn_blocking(move || Index::build(&p))
                .await
                .map_err(|e| FixError::Run(format!("indexing the project failed: {e}")))?
        };
        let framework = index.framework();
        let mut fixed_now: Vec<(String, RelPath)> = Vec::new();
        for f in failures {
            concluded.insert(f.nodeid.clone());
            let text = match current.get(&f.file) {
                Some(t) => t.clone(),
                None => match std::fs::read_to_string(project.root.join(f.file.as_str())) {
                    Ok(t) => t,
                    Err(e) => {
                        report
                            .notes
                            .push(format!("{}: cannot read {}: {e}", f.nodeid, f.file));
                        continue;
                    }
                },
            };
            originals
                .entry(f.file.clone())
                .or_insert_with(|| text.clone());
            let fi = index_source(&f.file, text.as_bytes());
            let facts = deterministic::Facts {
                index: &index,
                python_prefix: &prefix,
                framework,
                file: &fi,
            };
            tracing::info!(test = %f.nodeid, error = %f.error_line(), "fixing");
            let h = repairer.handle(&f, &text, &facts, iteration).await?;
            if let Some(new) = h.new_text {
                current.insert(f.file.clone(), new);
                fixed_now.push((f.nodeid.clone(), f.file.clone()));
            }
            report.suspected_bugs.extend(h.bug);
            report.failures.push(h.record);
        }
        if fixed_now.is_empty() || req.apply == Apply::Return {
            break;
        }
        write_fixes(project, &current, &fixed_now)?;
        let confirm = runner::run_tests(
            project,
            &run_req(Selection::Only(
                fixed_now.iter().map(|(n, _)| n.clone()).collect(),
            )),
            cancel,
        )
        .await?;
        restore_failing_in_place(
            project,
            &confirm,
            &fixed_now,
            &originals,
            &mut current,
            &mut report,
        )?;
        last_run = Some(confirm);
    }
    let edits = match req.apply {
        Apply::Write => Vec::new(),
        Apply::Return => current
            .iter()
            .map(|(file, new)| FileEdit {
                path: project.root.join(file.as_str()),
                old_text: originals.get(file).cloned(),
                new_text: new.clone(),
            })
            .collect(),
    };
    dedup_bugs(&mut report.suspected_bugs);
    report.llm = model.and_then(|m| m.usage());
    report.duration_s = started.elapsed().as_secs_f64();
    report.summarize();
    let saved = report
        .save(&project.root, req.apply == Apply::Return)
        .map_err(|source| FixError::Write {
            path: Report::path(&project.root),
            source,
        })?;
    tracing::debug!(bugs = saved.suspected_bugs.len(), "fix report written");
    Ok(Fixed {
        report,
        edits,
        run: last_run,
    })
}

/// A run that gave no results to work from is an error the user must see.
fn check_run(run: &TestRun, asked: &[String]) -> Result<(), FixError> {
    use runner::RunOutcome::*;
    match run.outcome {
        Cancelled => Err(FixError::Cancelled),
        Passed | TestsFailed | Interrupted | NoTestsCollected | NoTestsSelected => Ok(()),
        other => {
            let last = run
                .output_tail
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| format!(" ({})", l.trim()))
                .unwrap_or_default();
            let which = if asked.is_empty() {
                String::new()
            } else {
                format!(" for {}", asked.join(", "))
            };
            Err(FixError::Run(format!(
                "pytest could not run the tests{which}: {}{last}",
                other.describe()
            )))
        }
    }
}

fn write_fixes(
    project: &Project,
    current: &BTreeMap<RelPath, String>,
    fixed: &[(String, RelPath)],
) -> Result<(), FixError> {
    let files: BTreeSet<&RelPath> = fixed.iter().map(|(_, f)| f).collect();
    for file in files {
        let path = project.root.join(file.as_str());
        let err = |source| FixError::Write {
            path: path.clone(),
            source,
        };
        artifacts::check_inside(&project.root, &path).map_err(|e| err(std::io::Error::other(e)))?;
        artifacts::write_atomic(&path, current[file].as_bytes()).map_err(err)?;
    }
    Ok(())
}

/// A fix that passed in its copy but fails in place (an order or state
/// dependency the copy did not have) is undone: its file gets its original
/// bytes back, and so every fix of that file this run is undone.
fn restore_failing_in_place(
    project: &Project,
    confirm: &TestRun,
    fixed: &[(String, RelPath)],
    originals: &BTreeMap<RelPath, String>,
    current: &mut BTreeMap<RelPath, String>,
    report: &mut Report,
) -> Result<(), FixError> {
    let failing: BTreeMap<&str, String> = confirm
        .tests
        .iter()
        .filter(|t| {
            matches!(
                t.outcome,
                runner::TestOutcome::Failed | runner::TestOutcome::Error
            )
        })
        .map(|t| (t.nodeid.as_str(), t.reason().unwrap_or_default()))
        .collect();
    let bad_files: BTreeSet<&RelPath> = fixed
        .iter()
        .filter(|(n, f)| failing.contains_key(n.as_str()) || failing.contains_key(f.as_str()))
        .map(|(_, f)| f)
        .collect();
    for file in bad_files {
        let path = project.root.join(file.as_str());
        artifacts::write_atomic(&path, originals[file].as_bytes()).map_err(|source| {
            FixError::Write {
                path: path.clone(),
                source,
            }
        })?;
        current.remove(file);
        for r in report
            .failures
            .iter_mut()
            .filter(|r| r.file == file.as_str() && r.outcome == FixOutcome::Fixed)
        {
            r.outcome = FixOutcome::Unfixed;
            r.diff = None;
            let why = failing
                .get(r.nodeid.as_str())
                .cloned()
                .unwrap_or_else(|| "another fix of the file failed in place".into());
            r.attempts.push(report::AttemptRecord {
                number: r.attempts.len() as u32 + 1,
                by: "confirmation".into(),
                description: "run in place after writing".into(),
                result: format!("failed in place, file restored: {why}"),
            });
        }
    }
    Ok(())
}

fn dedup_bugs(bugs: &mut Vec<SuspectedBug>) {
    let mut seen = BTreeSet::new();
    bugs.retain(|b| seen.insert((b.target.clone(), b.line, b.input.clone(), b.test.clone())));
}
