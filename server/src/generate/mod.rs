//! Test generation: measure what the suite misses, choose targets, let an
//! engine propose tests, keep only those that pass 3 runs in a row and add
//! coverage, and hand back whole-file edits under `tests/generated/`. The
//! CLI writes the edits to disk; the language server sends them to the
//! editor (`workspace/applyEdit`).
//!
//! The pipeline is engine-neutral: `baseline` → `targets` →
//! [`engine::Engine::propose`] → `candidates` (tests per file, the ones
//! that add coverage) → `validate` (3 runs, per test) → `edits` (merged
//! files and the manifest). Engines live in their own modules (`explore/`)
//! and know nothing of validation or files.

pub mod baseline;
mod candidates;
mod edits;
pub mod engine;
pub mod explore;
pub mod llm;
pub mod output;
pub mod suspected;
pub mod targets;
pub mod validate;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::index::Index;
use crate::runner::{python, RunRequest, RunnerError, Selection};
use crate::workspace::{artifacts, Project};
pub use baseline::{Coverage, Kind as BaselineKind, Source as BaselineSource};
pub use engine::{AnyEngine, Engine, Limits};
use output::FileEdit;
pub use suspected::{Finder, SuspectedBug};
pub use targets::{Filter, NotTargeted, Target};
pub use validate::Dropped;

/// Why a proposed test that reaches nothing new is not written.
pub const NO_NEW_COVERAGE: &str = "adds no coverage the suite lacks";

#[derive(Debug, Clone)]
pub struct Request {
    pub python: Option<PathBuf>,
    pub filter: Filter,
    pub limits: Limits,
    pub baseline: BaselineSource,
    /// Limit of each pytest run of the project's suite.
    pub suite_timeout: Duration,
    /// Extra pytest arguments of the suite's runs (the `pytestArgs` setting).
    pub pytest_args: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Runner(RunnerError),
    #[error("the project's own tests could not be measured: {0}")]
    NoBaseline(String),
    #[error("{0}")]
    Coverage(String),
    #[error("{0}")]
    Engine(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Outside(String),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl From<RunnerError> for GenerateError {
    fn from(e: RunnerError) -> Self {
        match e {
            RunnerError::Cancelled => GenerateError::Cancelled,
            other => GenerateError::Runner(other),
        }
    }
}

impl From<engine::EngineError> for GenerateError {
    fn from(e: engine::EngineError) -> Self {
        match e {
            engine::EngineError::Cancelled => GenerateError::Cancelled,
            engine::EngineError::Failed(m) => GenerateError::Engine(m),
        }
    }
}

impl From<validate::ValidateError> for GenerateError {
    fn from(e: validate::ValidateError) -> Self {
        match e {
            validate::ValidateError::Cancelled => GenerateError::Cancelled,
            validate::ValidateError::Runner(r) => r.into(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    /// Relative to the project root.
    pub path: String,
    pub tests: Vec<WrittenTest>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenTest {
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub engine: &'static str,
    pub seed: u64,
    pub python: PathBuf,
    pub duration_s: f64,
    /// How `coverage_before` was obtained (`no_tests`: the project has none).
    pub baseline: BaselineKind,
    pub coverage_before: Coverage,
    /// Measured after writing (CLI); None when not measured.
    pub coverage_after: Option<Coverage>,
    pub targets: Vec<String>,
    pub files: Vec<WrittenFile>,
    pub tests_written: usize,
    /// Targets that got no tests, and why.
    pub skipped: Vec<NotTargeted>,
    /// Tests the engine proposed that were not written, and why.
    pub dropped: Vec<Dropped>,
    /// Calls that raised where the project's code looks wrong (engines
    /// report them; they are never pinned silently).
    pub suspected_bugs: Vec<SuspectedBug>,
    /// What the OS sandbox enforced on explored code and validation runs
    /// (docs/security.md), in words.
    pub sandbox: String,
    /// Model calls, tokens and estimated cost (engines that call a model).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<llm::accounting::RunUsage>,
    /// Repair rounds run (tests that failed validation sent back).
    pub repair_rounds: u32,
}

/// Validated edits, not yet applied.
#[derive(Debug, Clone)]
pub struct Plan {
    pub edits: Vec<FileEdit>,
    pub report: Report,
}

/// Measures, proposes, validates; returns the edits without writing them.
/// `index` must describe the files on disk: coverage was measured on them.
pub async fn plan(
    project: &Project,
    index: &Index,
    req: &Request,
    engine: &impl Engine,
    cancel: &CancellationToken,
) -> Result<Plan, GenerateError> {
    use tracing::Instrument;
    let span =
        tracing::info_span!("generate", root = %project.root.display(), engine = engine.name());
    plan_in_span(project, index, req, engine, cancel)
        .instrument(span)
        .await
}

async fn plan_in_span(
    project: &Project,
    index: &Index,
    req: &Request,
    engine: &impl Engine,
    cancel: &CancellationToken,
) -> Result<Plan, GenerateError> {
    let started = Instant::now();
    let interp = python::discover(req.python.as_deref(), &project.root, &project.python_root)?;
    python::check(&interp.path).await?;
    let _lock = crate::runner::lock_project(&project.root, cancel).await?;
    let gen_dir = project.python_root.join(output::DIR);
    artifacts::check_inside(&project.root, &gen_dir).map_err(GenerateError::Outside)?;
    let before = baseline::measure(
        project,
        index,
        &suite_request(req, &interp.path),
        req.baseline,
        cancel,
    )
    .await?;

    let import_roots = targets::import_roots(project);
    let roots_rel = targets::relative_roots(project, &import_roots);
    let (chosen, mut skipped) =
        targets::choose(project, index, &before.gaps, &req.filter, &import_roots);
    tracing::info!(targets = chosen.len(), "proposing tests");
    let target_ids: Vec<String> = chosen.iter().map(Target::id).collect();
    let by_id: std::collections::BTreeMap<String, Target> =
        chosen.iter().map(|t| (t.id(), t.clone())).collect();
    let confine = req.limits.confinement();
    let job = engine::Job {
        project,
        index,
        python: interp.path.clone(),
        import_roots,
        targets: Vec::new(),
        limits: &req.limits,
        cancel,
    };
    let mut proposals = engine.propose(job.with_targets(chosen)).await?;
    skipped.extend(std::mem::take(&mut proposals.skipped));
    let mut dropped = drop_secrets(&mut proposals);
    let support = std::mem::take(&mut proposals.support);
    let mut suspected = std::mem::take(&mut proposals.suspected_bugs);
    let mut tests = std::mem::take(&mut proposals.tests);
    let mut round = 0;
    // Rounds in which the engine gave repaired tests back (a round whose
    // failures were all judged suspected bugs asked the model nothing).
    let mut repaired_rounds = 0;
    let (mut found, validated, conftest, header) = loop {
        let found = candidates::assemble(&gen_dir, tests.clone());
        let sources = found.sources();
        let name = engine.name();
        let header = move |file: &str| {
            let source = sources.get(file).map(String::as_str).unwrap_or_default();
            output::header(name, source)
        };
        let conftest = support_conftest(&support, &found);
        let opts = validate::Options {
            conftest: conftest.as_deref(),
            import_roots: &roots_rel,
            header: &header,
            measure: found.needs_measuring(),
            timeout: req.suite_timeout,
            slow_test_s: req.limits.slow_test_s,
            confine: Some(&confine),
        };
        let validated =
            validate::validate(project, &interp.path, &found.modules, &opts, cancel).await?;
        let failures = repairable(&found, &validated.dropped, &by_id);
        if !failures.is_empty() && round >= llm::REPAIR_ROUNDS {
            // No round left to repair in, but the engine still judges the
            // failures that may be bugs of the code (it asks nothing).
            let bugs: Vec<engine::Failure> = failures
                .into_iter()
                .map(|(_, f)| f)
                .filter(|f| f.raised.as_ref().is_some_and(suspected::is_unintended))
                .collect();
            if !bugs.is_empty() {
                let mut judged = engine.repair(job.with_targets(Vec::new()), bugs).await?;
                suspected.append(&mut judged.suspected_bugs);
            }
            break (found, validated, conftest, header);
        }
        if failures.is_empty() {
            break (found, validated, conftest, header);
        }
        round += 1;
        tracing::info!(round, failing = failures.len(), "asking for repaired tests");
        let failing: std::collections::BTreeSet<usize> = failures.iter().map(|(i, _)| *i).collect();
        let mut repaired = engine
            .repair(
                job.with_targets(Vec::new()),
                failures.into_iter().map(|(_, f)| f).collect(),
            )
            .await?;
        dropped.extend(drop_secrets(&mut repaired));
        suspected.append(&mut repaired.suspected_bugs);
        if repaired.tests.is_empty() {
            break (found, validated, conftest, header);
        }
        repaired_rounds += 1;
        // The failing tests' drops stay in the report, marked with their round.
        dropped.extend(
            validated
                .dropped
                .iter()
                .filter(|d| {
                    found
                        .proposal
                        .get(&(d.file.clone(), d.test.clone()))
                        .is_some_and(|i| failing.contains(i))
                })
                .map(|d| Dropped {
                    reason: if d.raised.as_ref().is_some_and(suspected::is_unintended) {
                        format!("{} (round {round}: raised in the project's code, not sent back for repair)", d.reason)
                    } else {
                        format!("{} (round {round}: sent back for repair)", d.reason)
                    },
                    ..d.clone()
                }),
        );
        tests = tests
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !failing.contains(i))
            .map(|(_, t)| t)
            .chain(repaired.tests)
            .collect();
    };
    skipped.append(&mut found.skipped);
    dropped.append(&mut found.dropped);
    dropped.extend(validated.dropped.iter().cloned());
    let kept = found.keep_measured(validated, &mut dropped);

    let usage = engine.usage();
    let written = edits::build(edits::Input {
        project,
        gen_dir: &gen_dir,
        engine: engine.name(),
        seed: req.limits.seed,
        files: &kept,
        origin: &found.origin,
        header: &header,
        conftest: conftest.as_deref(),
        import_roots: &roots_rel,
        llm: usage.as_ref(),
    });
    skipped.extend(written.skipped);
    Ok(Plan {
        edits: written.edits,
        report: Report {
            engine: engine.name(),
            seed: req.limits.seed,
            python: interp.path,
            duration_s: started.elapsed().as_secs_f64(),
            baseline: before.kind,
            coverage_before: before.coverage,
            coverage_after: None,
            targets: target_ids,
            files: written.files,
            tests_written: written.tests_written,
            skipped,
            dropped,
            suspected_bugs: suspected,
            sandbox: crate::sandbox::support().describe(),
            llm: usage,
            repair_rounds: repaired_rounds,
        },
    })
}

/// The tests validation dropped that their engine may repair (failures,
/// not tests that merely add nothing), with their position in the batch.
fn repairable(
    found: &candidates::Candidates,
    dropped: &[Dropped],
    targets: &std::collections::BTreeMap<String, Target>,
) -> Vec<(usize, engine::Failure)> {
    dropped
        .iter()
        .filter(|d| d.reason != NO_NEW_COVERAGE)
        .filter_map(|d| {
            let key = (d.file.clone(), d.test.clone());
            let i = *found.proposal.get(&key)?;
            let target = targets.get(found.origin.get(&key)?)?;
            Some((
                i,
                engine::Failure {
                    target: target.clone(),
                    test: d.test.clone(),
                    reason: d.reason.clone(),
                    missing: target.missing_lines.clone(),
                    raised: d.raised.clone(),
                },
            ))
        })
        .collect()
}

/// Proposed tests holding a secret (a value of testgen's environment, a
/// string shaped like a key) are never written, whatever the engine.
fn drop_secrets(p: &mut engine::Proposals) -> Vec<Dropped> {
    let mut out = Vec::new();
    p.tests.retain(|t| {
        let text = format!("{}\n{}", t.test.imports.join("\n"), t.test.source);
        match crate::sandbox::env::leak_in(&text) {
            None => true,
            Some(reason) => {
                out.push(Dropped::new(
                    output::test_file_name(&t.target.module),
                    t.test.name.clone(),
                    reason,
                ));
                false
            }
        }
    });
    out
}

/// The conftest body, when the candidates need it: route tests take its
/// `client`; Django's is needed by every test.
fn support_conftest(support: &engine::Support, found: &candidates::Candidates) -> Option<String> {
    let needed = found.uses_fixture("client") || (support.always && !found.is_empty());
    support.conftest.clone().filter(|_| needed)
}

fn suite_request(req: &Request, python: &std::path::Path) -> RunRequest {
    RunRequest {
        python: Some(python.to_path_buf()),
        selection: Selection::All,
        timeout: req.suite_timeout,
        extra_args: req.pytest_args.clone(),
        progress: None,
    }
}

/// The targets `req` selects, with their missing lines from the baseline
/// (`req.baseline`), and the project's import roots: what `testgen prompt`
/// renders prompts for.
pub async fn targets_for(
    project: &Project,
    index: &Index,
    req: &Request,
    cancel: &CancellationToken,
) -> Result<(Vec<Target>, Vec<NotTargeted>, Vec<PathBuf>), GenerateError> {
    let interp = python::discover(req.python.as_deref(), &project.root, &project.python_root)?;
    python::check(&interp.path).await?;
    let before = baseline::measure(
        project,
        index,
        &suite_request(req, &interp.path),
        req.baseline,
        cancel,
    )
    .await?;
    let roots = targets::import_roots(project);
    let (chosen, skipped) = targets::choose(project, index, &before.gaps, &req.filter, &roots);
    Ok((chosen, skipped, roots))
}

/// Writes the plan's files (each atomically) to disk, never through a
/// symbolic link that leaves the project at `root`.
pub fn apply(root: &std::path::Path, edits: &[FileEdit]) -> Result<(), GenerateError> {
    for e in edits {
        artifacts::check_inside(root, &e.path).map_err(GenerateError::Outside)?;
    }
    for e in edits {
        let err = |source| GenerateError::Write {
            path: e.path.clone(),
            source,
        };
        if let Some(dir) = e.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        artifacts::write_atomic(&e.path, e.new_text.as_bytes()).map_err(err)?;
    }
    Ok(())
}

/// The whole job for the command line: plan, write, measure again.
pub async fn run(
    project: &Project,
    req: &Request,
    engine: &impl Engine,
    cancel: &CancellationToken,
) -> Result<Report, GenerateError> {
    let started = Instant::now();
    let _lock = crate::runner::lock_project(&project.root, cancel).await?;
    // One index for both measurements: the files written in between are
    // tests, which the coverage figures leave out anyway.
    let index = Index::build(project);
    let plan = plan(project, &index, req, engine, cancel).await?;
    apply(&project.root, &plan.edits)?;
    let mut report = plan.report;
    report.coverage_after = if plan.edits.is_empty() {
        Some(report.coverage_before.clone())
    } else {
        let again = suite_request(req, &report.python);
        baseline::measure(project, &index, &again, BaselineSource::Measure, cancel)
            .await
            .ok()
            .map(|b| b.coverage)
    };
    report.duration_s = started.elapsed().as_secs_f64();
    Ok(report)
}
