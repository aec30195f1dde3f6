//! Runs the project's own pytest with coverage, in the project's own Python,
//! and turns what pytest and coverage.py write into a [`TestRun`] that the
//! CLI (`testgen test`), the language server and the generators share.
//!
//! One run: find and check the interpreter → plan the selection → pytest
//! with pytest-cov (own process group, timeout, cancellable) → JUnit XML →
//! `coverage json --show-contexts` → results, totals and per-test contexts,
//! all written under `PATH/.testgen/`.

pub mod contexts;
pub mod diagnose;
pub mod junit;
mod outcome;
pub mod plain;
pub mod process;
pub mod project_config;
pub mod python;
pub mod reaper;
mod resolve;
pub mod selection;
pub mod setup;

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::index::model::RelPath;
use crate::workspace::{artifacts, Project};

pub use contexts::{CoverageTotals, TestContexts};
pub use junit::{TestOutcome, TestResult};
pub use outcome::{Counts, RunOutcome};
pub use selection::{Change, Selection};

/// Default limit of one pytest run, as the issue and the reference use.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug, thiserror::Error)]
pub enum RunnerError {
    #[error("no usable Python interpreter: {detail}")]
    NoInterpreter { detail: String },
    #[error(
        "{} not installed in {python}; install with: {python} -m pip install pytest pytest-cov",
        missing.join(" and "),
        python = python.display()
    )]
    MissingPackages {
        python: PathBuf,
        missing: Vec<String>,
    },
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("setting up {}: {detail}", venv.display())]
    Setup { venv: PathBuf, detail: String },
    #[error("cancelled")]
    Cancelled,
}

/// Takes the project's lock for a run (docs/architecture.md: one testgen
/// run per project), waiting while another process holds it.
pub async fn lock_project(
    root: &Path,
    cancel: &CancellationToken,
) -> Result<crate::workspace::lock::ProjectLock, RunnerError> {
    use crate::workspace::lock::{self, LockError};
    lock::acquire(root, cancel, |who| {
        tracing::warn!(
            "another testgen run ({who}) is using {}; waiting for it to end",
            root.display()
        )
    })
    .await
    .map_err(|e| match e {
        LockError::Cancelled => RunnerError::Cancelled,
        LockError::Io { path, source } => RunnerError::Io {
            context: format!("locking {}", path.display()),
            source,
        },
    })
}

impl RunnerError {
    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> RunnerError {
        let context = context.into();
        move |source| RunnerError::Io { context, source }
    }
}

#[derive(Debug, Clone)]
pub struct RunRequest {
    /// `--python` / the editor's setting; None discovers one.
    pub python: Option<PathBuf>,
    pub selection: Selection,
    pub timeout: Duration,
    /// Passed to pytest after testgen's own options.
    pub extra_args: Vec<String>,
    /// Told the percentage of tests done as pytest prints it (`[ 45%]`).
    pub progress: Option<Progress>,
}

/// A callback with the percentage of the run done.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(u32) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl Progress {
    /// pytest's progress column: a line ending in `[ 45%]`.
    fn observer(&self) -> process::LineObserver {
        let f = self.0.clone();
        process::LineObserver(std::sync::Arc::new(move |line: &str| {
            let t = line.trim_end();
            if let Some(p) = t
                .strip_suffix("%]")
                .and_then(|r| r.rsplit_once('['))
                .and_then(|(_, n)| n.trim().parse::<u32>().ok())
            {
                f(p.min(100));
            }
        }))
    }
}

impl Default for RunRequest {
    fn default() -> Self {
        RunRequest {
            python: None,
            selection: Selection::All,
            timeout: DEFAULT_TIMEOUT,
            extra_args: Vec::new(),
            progress: None,
        }
    }
}

/// Whether a run's coverage describes the whole suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Full,
    Partial,
}

#[derive(Debug, Clone, Serialize)]
pub struct Artifacts {
    pub dir: PathBuf,
    pub junit_xml: PathBuf,
    pub coverage_xml: PathBuf,
    pub coverage_json: PathBuf,
    pub contexts: PathBuf,
    pub results: PathBuf,
}

impl Artifacts {
    fn new(dir: PathBuf, scope: Scope) -> Artifacts {
        // A partial run must not replace the whole suite's coverage.
        let cov = match scope {
            Scope::Full => "coverage",
            Scope::Partial => "coverage.partial",
        };
        Artifacts {
            junit_xml: dir.join("test-results.xml"),
            coverage_xml: dir.join(format!("{cov}.xml")),
            coverage_json: dir.join(format!("{cov}.json")),
            contexts: dir.join("contexts.json"),
            results: dir.join("test-results.json"),
            dir,
        }
    }

    /// Where pytest-cov writes the report, renamed into place after the run.
    fn coverage_xml_tmp(&self) -> PathBuf {
        self.coverage_xml.with_extension("xml.writing")
    }

    fn data_file(&self, scope: Scope) -> PathBuf {
        self.dir.join(match scope {
            Scope::Full => ".coverage",
            Scope::Partial => ".coverage.partial",
        })
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct TestRun {
    pub python: PathBuf,
    pub toolchain: python::Toolchain,
    /// pytest's exit code; None when it was killed or never started.
    pub exit_code: Option<i32>,
    pub outcome: RunOutcome,
    pub duration_s: f64,
    pub scope: Scope,
    /// Why the selection ran more or less than asked (e.g. no contexts yet).
    pub note: Option<String>,
    pub counts: Counts,
    pub tests: Vec<TestResult>,
    pub coverage: Option<CoverageTotals>,
    pub artifacts: Artifacts,
    /// The end of pytest's output, kept when the run did not end normally.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output_tail: Vec<String>,
    /// Why pytest could not start on this project's setup, in one message
    /// naming the setting, the file and the fix (`diagnose.rs`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// Runs the tests of `project` as `req` asks. Errors are only what prevents
/// a run (no interpreter, missing packages, unwritable .testgen/); failing
/// tests, timeouts and crashes are outcomes of a [`TestRun`].
pub async fn run_tests(
    project: &Project,
    req: &RunRequest,
    cancel: &CancellationToken,
) -> Result<TestRun, RunnerError> {
    use tracing::Instrument;
    let span = tracing::info_span!("run_tests", root = %project.root.display());
    run_tests_in_span(project, req, cancel)
        .instrument(span)
        .await
}

async fn run_tests_in_span(
    project: &Project,
    req: &RunRequest,
    cancel: &CancellationToken,
) -> Result<TestRun, RunnerError> {
    let interp = python::discover(req.python.as_deref(), &project.root, &project.python_root)?;
    let toolchain = python::check(&interp.path).await?;
    let _lock = lock_project(&project.root, cancel).await?;
    let dir = artifacts::ensure_dir(&project.root)
        .map_err(RunnerError::io(format!("creating {}", artifacts::DIR)))?;

    let prefix = RelPath::from_abs(&project.root, &project.python_root)
        .map(|p| p.to_string())
        .unwrap_or_default();
    let known = TestContexts::load(&dir.join("contexts.json"));
    let (scope, selection_args, note) =
        match selection::plan(&req.selection, known.as_ref(), &prefix, &last_failing(&dir)) {
            selection::Plan::Full { note } => (Scope::Full, Vec::new(), note),
            selection::Plan::Partial { args } => (Scope::Partial, args, None),
            selection::Plan::Nothing { note } => {
                tracing::info!("{note}");
                return Ok(nothing_to_run(interp.path, toolchain, dir, note));
            }
        };
    if let Some(n) = &note {
        tracing::info!("{n}");
    }
    let art = Artifacts::new(dir, scope);
    let cfg = project_config::ProjectConfig::read(&project.python_root);
    if let Err(e) = diagnose::create_missing_tests_dir(&project.python_root, &cfg) {
        tracing::warn!("could not create the tests/ directory testpaths names: {e}");
    }
    // Stale outputs of an earlier run must not pass for this run's.
    for f in [&art.junit_xml, &art.coverage_json] {
        let _ = std::fs::remove_file(f);
    }

    let mut finished = pytest(
        project,
        &interp.path,
        req,
        &art,
        scope,
        &selection_args,
        cancel,
    )
    .await?;
    if scope == Scope::Partial && no_collectors(&finished) {
        // pytest refuses node ids of a module that does not import ("found
        // no collectors"): the files themselves report the import error.
        let files = files_of(&selection_args);
        tracing::info!("a selected test module does not import: running {files:?}");
        finished = pytest(project, &interp.path, req, &art, scope, &files, cancel).await?;
    }
    let cancelled = finished.exit == process::Exit::Cancelled;
    // pytest-cov wrote the report beside its place; readers (the editor's
    // watcher) only ever see a whole file. A cancelled run keeps what was
    // measured before it: nothing of it replaces the last results.
    if !cancelled {
        let _ = std::fs::rename(art.coverage_xml_tmp(), &art.coverage_xml);
    }

    let mut tests = read_junit(&art.junit_xml);
    resolve::locate(&mut tests, &project.root, &project.python_root);
    let mut outcome = RunOutcome::of(finished.exit, &tests);
    // An internal error on the configuration is one error result in the
    // JUnit file, not an empty one.
    let stopped_early = tests.is_empty()
        || (outcome == RunOutcome::InternalError
            && tests.iter().all(|t| t.outcome == TestOutcome::Error));
    let problem = if stopped_early && outcome.could_be_setup() {
        diagnose::explain(&finished.tail, &cfg, &interp.path)
    } else {
        None
    };
    if problem.is_some() {
        // pytest stopped on the project's setup before any test (a crash
        // on a warning made an error exits 1, like failed tests).
        outcome = RunOutcome::UsageError;
    }
    let coverage = if outcome.has_coverage() {
        collect_coverage(project, &interp.path, &art, scope, &tests, cancel).await
    } else {
        None
    };
    let problem = match (problem, &coverage) {
        (None, None) if outcome.has_coverage() && scope == Scope::Full => {
            diagnose::coverage_source(&finished.tail, &cfg)
        }
        (p, _) => p,
    };
    if !cancelled {
        save_results(&art, scope, &tests);
    }
    let counts = Counts::of(&tests);
    tracing::info!(?outcome, ?counts, "pytest finished");
    Ok(TestRun {
        python: interp.path,
        toolchain,
        exit_code: match finished.exit {
            process::Exit::Code(c) => Some(c),
            _ => None,
        },
        outcome,
        duration_s: finished.duration.as_secs_f64(),
        scope,
        note,
        counts,
        tests,
        coverage,
        output_tail: if outcome.is_abnormal() {
            finished.tail
        } else {
            Vec::new()
        },
        problem,
        artifacts: art,
    })
}

fn nothing_to_run(
    python: PathBuf,
    toolchain: python::Toolchain,
    dir: PathBuf,
    note: String,
) -> TestRun {
    TestRun {
        python,
        toolchain,
        exit_code: None,
        outcome: RunOutcome::NoTestsSelected,
        duration_s: 0.0,
        scope: Scope::Partial,
        note: Some(note),
        counts: Counts::default(),
        tests: Vec::new(),
        coverage: None,
        artifacts: Artifacts::new(dir, Scope::Partial),
        output_tail: Vec::new(),
        problem: None,
    }
}

/// One pytest process for the run.
async fn pytest(
    project: &Project,
    python: &Path,
    req: &RunRequest,
    art: &Artifacts,
    scope: Scope,
    selection_args: &[String],
    cancel: &CancellationToken,
) -> Result<process::Finished, RunnerError> {
    let spec = pytest_spec(project, python, req, art, scope, selection_args)
        .on_line(req.progress.as_ref().map(Progress::observer));
    tracing::info!(args = ?spec.args, "running pytest");
    process::run(&spec, cancel)
        .await
        .map_err(RunnerError::io(format!("starting {}", python.display())))
}

fn no_collectors(f: &process::Finished) -> bool {
    f.exit == process::Exit::Code(4) && f.tail.iter().any(|l| l.contains("found no collectors for"))
}

/// `tests/a.py::t` → `tests/a.py`, each file once.
fn files_of(args: &[String]) -> Vec<String> {
    let mut out: Vec<String> = args
        .iter()
        .map(|a| a.split("::").next().unwrap_or(a).to_string())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// What `--cov` measures: the Python root, and a src-layout's `src/` by
/// name. coverage.py reports files no test imported only inside packages
/// of a source directory, and `src/` is no package: without it a src-layout
/// project with no tests would have no report at all.
pub fn coverage_sources(python_root: &Path) -> Vec<PathBuf> {
    let mut out = vec![python_root.to_path_buf()];
    let src = python_root.join("src");
    if src.is_dir() && !src.join("__init__.py").exists() {
        out.push(src);
    }
    out
}

/// pytest's command line: the project's own configuration stays in force;
/// testgen adds what it needs and leaves out what the project already set.
fn pytest_spec(
    project: &Project,
    python: &Path,
    req: &RunRequest,
    art: &Artifacts,
    scope: Scope,
    selection_args: &[String],
) -> process::Spec {
    let cfg = project_config::ProjectConfig::read(&project.python_root);
    let mut args: Vec<OsString> = vec!["-m".into(), "pytest".into()];
    if !cfg.has_option("--cov") {
        if cfg.coverage_source {
            args.push("--cov".into());
        } else {
            for dir in coverage_sources(&project.python_root) {
                args.push(format!("--cov={}", dir.display()).into());
            }
        }
    }
    if !cfg.has_option("--cov-branch") && !cfg.coverage_branch {
        args.push("--cov-branch".into());
    }
    args.push("--cov-context=test".into());
    args.push(format!("--cov-report=xml:{}", art.coverage_xml_tmp().display()).into());
    args.push(format!("--junitxml={}", art.junit_xml.display()).into());
    // xunit1 carries each test's file, which node ids are rebuilt from.
    args.extend(["-o".into(), "junit_family=xunit1".into()]);
    args.extend(["-p".into(), "no:cacheprovider".into()]);
    if !cfg.has_option("--import-mode") {
        args.push("--import-mode=importlib".into());
    }
    if cfg.testpaths_all_missing(&project.python_root) {
        // Only the warning that says so is silenced (the command line's
        // filters come after the ini's), so a project without its tests
        // directory yet measures at 0% instead of failing to start.
        args.extend(["-W".into(), "ignore::pytest.PytestConfigWarning".into()]);
    }
    args.extend(req.extra_args.iter().map(OsString::from));
    args.extend(selection_args.iter().map(OsString::from));

    let mut spec = process::Spec::new(python, &project.python_root, req.timeout)
        .args(args)
        // Under .testgen/, so the project's tree stays clean; a partial run
        // has its own data file so the full suite's stays whole.
        .env("COVERAGE_FILE", art.data_file(scope))
        .env("PYTHONDONTWRITEBYTECODE", "1");
    spec = spec.env("PYTHONPATH", python_path(project));
    spec
}

/// importlib mode does not touch sys.path: the Python root goes first so
/// the project's packages import as the reference pipeline's PYTHONPATH did.
pub(crate) fn python_path(project: &Project) -> OsString {
    let mut path = OsString::from(project.python_root.as_os_str());
    if let Some(old) = std::env::var_os("PYTHONPATH").filter(|p| !p.is_empty()) {
        path.push(":");
        path.push(old);
    }
    path
}

fn read_junit(path: &Path) -> Vec<TestResult> {
    match std::fs::read(path) {
        Ok(bytes) => junit::parse(&bytes).unwrap_or_else(|e| {
            tracing::warn!("{}: {e}", path.display());
            Vec::new()
        }),
        Err(_) => Vec::new(),
    }
}

/// coverage.py's totals and per-test contexts of the data the run wrote;
/// updates `.testgen/contexts.json`. None when coverage.py could not report.
async fn collect_coverage(
    project: &Project,
    python: &Path,
    art: &Artifacts,
    scope: Scope,
    tests: &[TestResult],
    cancel: &CancellationToken,
) -> Option<CoverageTotals> {
    let spec = process::Spec::new(python, &project.python_root, Duration::from_secs(300))
        .args([
            "-m",
            "coverage",
            "json",
            "--show-contexts",
            "-q",
            "-i",
            "-o",
        ])
        .arg(&art.coverage_json)
        .env("COVERAGE_FILE", art.data_file(scope));
    let finished = process::run(&spec, cancel).await.ok()?;
    if finished.exit != process::Exit::Code(0) {
        // Expected after a run that collected nothing: not the user's concern.
        tracing::info!(
            "coverage json failed: {}",
            finished.tail.last().map_or("", String::as_str)
        );
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&art.coverage_json).ok()?)
        .map_err(|e| tracing::warn!("{}: {e}", art.coverage_json.display()))
        .ok()?;
    let (fresh, totals) =
        TestContexts::from_coverage_json(&json, &project.root, &project.python_root);
    let merged = match (scope, TestContexts::load(&art.contexts)) {
        (Scope::Partial, Some(mut old)) => {
            let rerun: BTreeSet<String> = tests.iter().map(|t| t.nodeid.clone()).collect();
            old.merge(fresh, &rerun);
            old
        }
        _ => fresh,
    };
    if let Err(e) = merged.save(&art.contexts) {
        tracing::warn!("{}: {e}", art.contexts.display());
    }
    totals
}

/// `.testgen/test-results.json`: every known test's latest result. A partial
/// run updates the tests it ran and keeps the others.
fn save_results(art: &Artifacts, scope: Scope, tests: &[TestResult]) {
    let mut all: Vec<TestResult> = match scope {
        Scope::Full => Vec::new(),
        Scope::Partial => load_results(&art.results),
    };
    let ran: BTreeSet<&str> = tests.iter().map(|t| t.nodeid.as_str()).collect();
    // A module that collects now replaces its collection error (whose node
    // id is the file alone).
    let files: BTreeSet<&str> = tests
        .iter()
        .map(|t| t.nodeid.split("::").next().unwrap_or(&t.nodeid))
        .collect();
    let collection_error_of_a_ran_file =
        |t: &TestResult| !t.nodeid.contains("::") && files.contains(t.nodeid.as_str());
    all.retain(|t| !ran.contains(t.nodeid.as_str()) && !collection_error_of_a_ran_file(t));
    all.extend(tests.iter().cloned());
    match serde_json::to_vec_pretty(&all) {
        Ok(bytes) => {
            if let Err(e) = artifacts::write_atomic(&art.results, &bytes) {
                tracing::warn!("{}: {e}", art.results.display());
            }
        }
        Err(e) => tracing::warn!("{e}"),
    }
}

/// Node ids that failed or errored in their latest run.
fn last_failing(dir: &Path) -> Vec<String> {
    load_results(&dir.join("test-results.json"))
        .into_iter()
        .filter(|t| matches!(t.outcome, TestOutcome::Failed | TestOutcome::Error))
        .map(|t| t.nodeid)
        .collect()
}

/// The latest known result of every test (`.testgen/test-results.json`).
pub fn load_results(path: &Path) -> Vec<TestResult> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}
