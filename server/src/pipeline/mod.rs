//! `testgen run`: the reference pipeline end to end, for a CI job. Clean the
//! previous run's artifacts → detect the user's tests → measure them
//! (baseline; 0% without tests) → quality gate → up to N gap-focused rounds
//! (generate → validate → write → re-measure) → final run of every test →
//! artifacts and reports → gates.
//!
//! The pipeline only orchestrates: generation is `generate::run`, test runs
//! are `runner`, coverage is `coverage`. Renderers (`render/`) turn the
//! [`RunReport`] into summary.md, report.html, SARIF and annotations; the
//! CLI prints and exits by [`RunReport::passed`].

pub mod changes;
pub mod files;
pub mod gates;
pub mod merge;
pub mod render;
pub mod report;
mod rounds;
pub mod shard;
pub mod sizing;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::generate::baseline::{self, Baseline};
use crate::generate::{self, AnyEngine, Engine, Limits};
use crate::index::model::RelPath;
use crate::index::Index;
use crate::runner::{self, RunRequest, Selection, TestOutcome, TestRun};
use crate::workspace::Project;
pub use report::{RunReport, Stop};
use rounds::Rounds;
pub use shard::Shard;

/// What `testgen run` was asked to do, resolved from the configuration.
#[derive(Debug, Clone)]
pub struct Options {
    pub python: Option<PathBuf>,
    pub min_coverage: f64,
    pub min_delta: f64,
    pub iterations: u32,
    pub generation_timeout: Duration,
    pub shard: Option<Shard>,
    pub limits: Limits,
    pub suite_timeout: Duration,
    pub pytest_args: Vec<String>,
    /// Write the fixer's verified fixes into the user's failing tests
    /// (`--fix-user-tests`); without it they are only reported.
    pub fix_user_tests: bool,
    /// Pull-request mode (`--diff BASE`): only the functions changed since
    /// BASE are targets, and the gates are the changed lines' coverage.
    pub diff: Option<String>,
}

impl Options {
    pub fn from_config(c: &crate::config::Config) -> Options {
        Options {
            python: c.python.clone(),
            min_coverage: c.min_coverage,
            min_delta: c.run.min_delta,
            iterations: c.run.iterations,
            generation_timeout: Duration::from_secs(c.run.generation_timeout_s),
            shard: None,
            limits: Limits::from_config(c),
            suite_timeout: Duration::from_secs(c.test_timeout_s),
            pytest_args: c.pytest_args.clone(),
            fix_user_tests: false,
            diff: None,
        }
    }
}

/// What the pipeline tells whoever shows progress.
#[derive(Debug, Clone)]
pub enum Event {
    /// A step began (`measuring the project's tests`, ...).
    Step(String),
    /// A round began.
    Round { round: u32, of: u32, coverage: f64 },
    /// A round ended.
    RoundDone(report::Round),
    /// A round's work so far: after each batch, and at least every 30 s.
    Progress(report::Progress),
}

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("{0}")]
    Generate(#[from] generate::GenerateError),
    #[error(transparent)]
    Runner(runner::RunnerError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Merge(#[from] merge::MergeError),
    #[error(transparent)]
    Changes(#[from] changes::ChangesError),
    /// The suite cannot be measured, but the fixer can repair it.
    #[error("{0}")]
    FixableSuite(String),
    #[error("cancelled")]
    Cancelled,
}

impl From<runner::RunnerError> for PipelineError {
    fn from(e: runner::RunnerError) -> Self {
        match e {
            runner::RunnerError::Cancelled => PipelineError::Cancelled,
            other => PipelineError::Runner(other),
        }
    }
}

pub(crate) fn io(context: &str) -> impl FnOnce(std::io::Error) -> PipelineError + '_ {
    move |source| PipelineError::Io {
        context: context.to_string(),
        source,
    }
}

/// Runs the pipeline on `project` and writes every artifact; the caller
/// exits by `report.passed`.
pub async fn run(
    project: &Project,
    opts: &Options,
    engine: &AnyEngine,
    events: &(dyn Fn(Event) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<RunReport, PipelineError> {
    use tracing::Instrument;
    let span = tracing::info_span!("pipeline", root = %project.root.display());
    run_in_span(project, opts, engine, events, cancel)
        .instrument(span)
        .await
}

async fn run_in_span(
    project: &Project,
    opts: &Options,
    engine: &AnyEngine,
    events: &(dyn Fn(Event) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<RunReport, PipelineError> {
    let started = Instant::now();
    let _lock = runner::lock_project(&project.root, cancel).await?;
    let opts = &with_xdist(project, opts, events).await?;
    // Before anything is written: the change is the user's, not testgen's.
    let changes = match &opts.diff {
        Some(base) => Some(changes::Changes::read(&project.root, base).await?),
        None => None,
    };
    files::clean(&project.root).map_err(io("removing the previous run's artifacts"))?;
    let manual = files::manual_tests(project);
    files::write_json(&project.root, "manual_test_result.json", &manual)
        .map_err(io("writing manual_test_result.json"))?;
    let index = Index::build(project);
    write_analysis(project, &index)?;

    events(Event::Step(if manual.manual_tests_found {
        format!(
            "measuring the project's {} test files",
            manual.test_files_count
        )
    } else {
        "no tests found: measuring the baseline (0%)".into()
    }));
    let mut first = full_run(project, opts, cancel).await?;
    let (fixer, fixer_bugs) = fixer_step(project, opts, engine, &first, events, cancel).await?;
    if matches!(fixer, report::FixerStep::Ran { written: true, fixed, .. } if fixed > 0) {
        events(Event::Step("measuring the fixed tests".into()));
        first = full_run(project, opts, cancel).await?;
    }
    let before = baseline::of_run(project, &index, &first, opts.min_coverage)
        .map_err(|e| fixer_hint(e, &fixer))?;
    // Read now: the next run of the suite overwrites coverage.xml.
    let before_lines = match &changes {
        Some(_) => Some(read_coverage(project, &first)?),
        None => None,
    };
    let filter = targets_filter(opts, &before, changes.as_ref(), &index);

    let mut loop_ = Rounds::new(before.coverage.line_percent);
    loop_.bugs = fixer_bugs;
    let gated_before = match (&changes, &before_lines) {
        (Some(c), Some(lines)) => {
            let (statements, covered) = c.covered(lines);
            events(Event::Step(format!(
                "pull-request mode: {} functions changed since {}, {covered} of {statements} changed statements covered",
                c.functions(&index).len(),
                c.base
            )));
            changes::ChangedReport::percent(statements, covered)
        }
        _ => {
            loop_.target = Some(opts.min_coverage);
            before.coverage.line_percent
        }
    };
    if gated_before >= opts.min_coverage {
        loop_.stop = Some(Stop::NoGenerationNeeded);
    } else {
        loop_
            .run(project, opts, engine, filter, events, cancel)
            .await?;
    }
    let loop_costs = loop_.costs();
    let stop = loop_.stop.unwrap_or(Stop::LastRound {
        round: opts.iterations,
    });

    events(Event::Step(
        "final run of the project's and the generated tests".into(),
    ));
    let last = if loop_.rounds.is_empty() {
        first
    } else {
        full_run(project, opts, cancel).await?
    };
    let after_index = Index::build(project);
    let after = baseline::of_run(project, &after_index, &last, opts.min_coverage)?;
    let generated = render::generated_tests(project);
    let changed = match (&changes, &before_lines) {
        (Some(c), Some(lines)) => {
            let after_lines = read_coverage(project, &last)?;
            Some(c.report(
                &after_index,
                (lines, &before.gaps),
                (&after_lines, &after.gaps),
            ))
        }
        _ => None,
    };
    let gates = match &changed {
        Some(c) => gates::check_changed(opts, c, stop),
        None => gates::check(opts, &before.coverage, &after.coverage, stop),
    };
    let report = RunReport {
        version: 1,
        engine: engine.name().to_string(),
        python_root: RelPath::from_abs(&project.root, &project.python_root)
            .map(|p| p.to_string())
            .unwrap_or_default(),
        shard: opts.shard,
        manual_tests: manual,
        baseline: before.kind,
        delta: round2(after.coverage.line_percent - before.coverage.line_percent),
        coverage_before: before.coverage,
        rounds: loop_
            .rounds
            .into_iter()
            .map(|r| report::Round {
                shard: opts.shard,
                ..r
            })
            .collect(),
        stop,
        final_tests: last.counts,
        failing_tests: failing(&last.tests),
        generated,
        remaining_gaps: render::remaining_gaps(&after, &loop_.skipped),
        files: after.files.clone(),
        coverage_after: after.coverage.clone(),
        changed,
        suspected_bugs: loop_.bugs,
        capped: loop_.capped,
        fixer,
        passed: gates.iter().all(|g| g.passed),
        gates,
        duration_s: started.elapsed().as_secs_f64(),
    };
    write_reports(project, &after, &last, &report, cancel).await?;
    if let Some(costs) = loop_costs {
        files::write_json(&project.root, sizing::COSTS_FILE, &costs)
            .map_err(io("writing generation_costs.json"))?;
    }
    if let Some(shard) = opts.shard {
        merge::save_shard(project, shard)?;
    }
    Ok(report)
}

/// Every artifact after the final run (coverage.xml and test-results.xml
/// are already there: the runner wrote them).
async fn write_reports(
    project: &Project,
    after: &Baseline,
    last: &TestRun,
    report: &RunReport,
    cancel: &CancellationToken,
) -> Result<(), PipelineError> {
    let root = &project.root;
    files::write_json(root, "coverage_gaps.json", &after.gaps)
        .map_err(io("writing coverage_gaps.json"))?;
    files::write_json(root, "iteration_report.json", report)
        .map_err(io("writing iteration_report.json"))?;
    files::write_text(root, "summary.md", &render::summary::markdown(report))
        .map_err(io("writing summary.md"))?;
    files::write_text(root, "report.html", &render::html::page(report))
        .map_err(io("writing report.html"))?;
    let data = last.artifacts.dir.join(".coverage");
    files::html_coverage(project, &last.python, &data, cancel).await;
    Ok(())
}

/// What generation may target: the gaps (of this shard's files with
/// `--shard`), or in pull-request mode those of the changed functions.
fn targets_filter(
    opts: &Options,
    before: &Baseline,
    changes: Option<&changes::Changes>,
    index: &Index,
) -> generate::Filter {
    let shard_files = opts.shard.map(|s| s.files(&before.gaps));
    match (changes, shard_files) {
        (Some(c), files) => generate::Filter::Changed(
            c.functions(index)
                .into_iter()
                .filter(|(p, ..)| files.as_ref().is_none_or(|f| f.contains(p)))
                .map(|(p, q, ..)| (p, q))
                .collect(),
        ),
        (None, Some(files)) => generate::Filter::Files(files),
        (None, None) => generate::Filter::AllGaps,
    }
}

/// A finished run's coverage report, every file's lines.
fn read_coverage(
    project: &Project,
    run: &TestRun,
) -> Result<crate::coverage::cobertura::CoverageReport, PipelineError> {
    crate::coverage::cobertura::read(&run.artifacts.coverage_xml, &project.root)
        .map_err(|e| PipelineError::Generate(generate::GenerateError::Coverage(e.to_string())))
}

fn write_analysis(project: &Project, index: &Index) -> Result<(), PipelineError> {
    let snapshot = index.snapshot();
    let analysis = crate::index::analysis::Analysis::of(project, &snapshot);
    files::write_json(&project.root, "analysis.json", &analysis)
        .map_err(io("writing analysis.json"))?;
    Ok(())
}

/// The measuring runs go over every core with pytest-xdist (`-n auto`)
/// when the project's interpreter has it and the user did not choose.
async fn with_xdist(
    project: &Project,
    opts: &Options,
    events: &(dyn Fn(Event) + Send + Sync),
) -> Result<Options, PipelineError> {
    let interp =
        runner::python::discover(opts.python.as_deref(), &project.root, &project.python_root)?;
    let toolchain = runner::python::check(&interp.path).await?;
    let mut out = opts.clone();
    let args = &opts.pytest_args;
    let chose = args
        .iter()
        .any(|a| a.starts_with("-n") || a.starts_with("--numprocesses"))
        || args.windows(2).any(|w| w[0] == "-p" && w[1] == "no:xdist");
    if toolchain.xdist.is_some() && !chose {
        events(Event::Step(format!(
            "pytest-xdist {} found: the measuring runs use -n auto",
            toolchain.xdist.as_deref().unwrap_or("?")
        )));
        out.pytest_args
            .extend(["-n".to_string(), "auto".to_string()]);
    }
    Ok(out)
}

async fn full_run(
    project: &Project,
    opts: &Options,
    cancel: &CancellationToken,
) -> Result<TestRun, PipelineError> {
    let req = RunRequest {
        python: opts.python.clone(),
        selection: Selection::All,
        timeout: opts.suite_timeout,
        extra_args: opts.pytest_args.clone(),
        progress: None,
    };
    Ok(runner::run_tests(project, &req, cancel).await?)
}

/// A suite that cannot be measured stops the run; when the fixer found
/// verified fixes for it, the message says how to apply them.
fn fixer_hint(e: generate::GenerateError, fixer: &report::FixerStep) -> PipelineError {
    match fixer {
        report::FixerStep::Ran {
            fixed,
            written: false,
            ..
        } if *fixed > 0 => PipelineError::FixableSuite(format!(
            "{e}; the fixer has verified fixes for {fixed} of the failing tests: run again with --fix-user-tests (or `testgen fix PATH`) to apply them"
        )),
        _ => e.into(),
    }
}

/// The user's failing tests go to the fixer: it classifies them (a code
/// bug is reported, never bent), and with `--fix-user-tests` writes the
/// fixes that pass 3 runs; without it nothing of the user's changes.
async fn fixer_step(
    project: &Project,
    opts: &Options,
    engine: &AnyEngine,
    run: &TestRun,
    events: &(dyn Fn(Event) + Send + Sync),
    cancel: &CancellationToken,
) -> Result<(report::FixerStep, Vec<generate::SuspectedBug>), PipelineError> {
    let failing: Vec<String> = run
        .tests
        .iter()
        .filter(|t| matches!(t.outcome, TestOutcome::Failed | TestOutcome::Error))
        .map(|t| t.nodeid.clone())
        .collect();
    if failing.is_empty() {
        // Written anyway: the artifact set of a run does not depend on its
        // outcome (CI steps upload and read it unconditionally).
        let mut empty = crate::fix::report::Report::new(None);
        empty
            .notes
            .push("no test of the project failed: nothing to fix".into());
        empty
            .save(&project.root, false)
            .map_err(|source| PipelineError::Io {
                context: format!("writing .testgen/{}", crate::fix::report::FILE),
                source,
            })?;
        return Ok((report::FixerStep::NotNeeded, Vec::new()));
    }
    events(Event::Step(format!(
        "{} of the project's tests fail: classifying them{}",
        failing.len(),
        if opts.fix_user_tests {
            " and fixing what can be fixed"
        } else {
            ""
        }
    )));
    let req = crate::fix::Request {
        python: opts.python.clone(),
        // Every failing test, also those a collection error hid until the
        // fixer's first fix (its iterations re-run the suite).
        tests: Vec::new(),
        max_iterations: crate::fix::DEFAULT_MAX_ITERATIONS,
        timeout: opts.suite_timeout,
        pytest_args: opts.pytest_args.clone(),
        sandbox: opts.limits.confinement(),
        apply: if opts.fix_user_tests {
            crate::fix::Apply::Write
        } else {
            crate::fix::Apply::Return
        },
    };
    // The run's LLM engine, when it has one, is the fixer's model too: one
    // client, so one set of caps, one accounting and one cache.
    let model = match engine.llm() {
        Some(llm) => match crate::fix::LlmModel::new(llm.clone(), &project.root, cancel) {
            Ok(m) => Some(m),
            Err(e) => {
                tracing::warn!("the fixer's prompts: {e}; deterministic fixes only");
                None
            }
        },
        None => None,
    };
    let fixed = match crate::fix::run(project, &req, model.as_ref(), cancel).await {
        Ok(f) => f,
        Err(crate::fix::FixError::Cancelled) => return Err(PipelineError::Cancelled),
        Err(e) => {
            tracing::warn!("the fixer could not run: {e}");
            let note = format!("the project's own tests fail; the fixer could not run ({e}); they are left unchanged");
            return Ok((
                report::FixerStep::Ran {
                    failing: failing.len(),
                    fixed: 0,
                    code_bugs: 0,
                    unfixed: failing.len(),
                    written: false,
                    note,
                },
                Vec::new(),
            ));
        }
    };
    let s = &fixed.report.summary;
    let note = if opts.fix_user_tests {
        format!(
            "the fixer fixed {} of {} failing tests (.testgen/auto_fixer_report.json)",
            s.fixed, s.failures
        )
    } else if s.fixed > 0 {
        format!("the fixer found verified fixes for {} of {} failing tests; run with --fix-user-tests to apply them (the project's tests are never rewritten unasked; .testgen/auto_fixer_report.json)", s.fixed, s.failures)
    } else {
        "the project's own tests fail and are left unchanged; .testgen/auto_fixer_report.json says why each fails".to_string()
    };
    Ok((
        report::FixerStep::Ran {
            failing: failing.len(),
            fixed: s.fixed,
            code_bugs: s.code_bugs,
            unfixed: s.unfixed + s.needs_model,
            written: opts.fix_user_tests,
            note,
        },
        fixed.report.suspected_bugs.clone(),
    ))
}

/// The failed and erroring tests of a run, for the reports.
pub(crate) fn failing(tests: &[runner::TestResult]) -> Vec<report::Failing> {
    tests
        .iter()
        .filter(|t| matches!(t.outcome, TestOutcome::Failed | TestOutcome::Error))
        .map(|t| report::Failing {
            nodeid: t.nodeid.clone(),
            message: t.reason().unwrap_or_default(),
        })
        .collect()
}

pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}
