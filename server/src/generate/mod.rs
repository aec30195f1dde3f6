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
mod batch;
pub mod batches;
mod candidates;
mod edits;
pub mod engine;
pub mod explore;
pub mod llm;
pub mod output;
pub mod progress;
pub mod suspected;
pub mod targets;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::index::model::RelPath;
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
    /// A time limit that keeps what is finished, and progress reports.
    pub anytime: progress::Anytime,
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
    /// Why the run was cut short (the time limit): the targets after the
    /// cut say "not tried", the batch it cut says "interrupted"; what was
    /// validated before it is written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
    /// Targets whose search the wall-clock safety cap (`budget_s`) cut
    /// short: the one place where the machine's speed changes the output.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capped: Vec<String>,
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
    let (chosen, skipped) =
        targets::choose(project, index, &before.gaps, &req.filter, &import_roots);
    tracing::info!(targets = chosen.len(), "proposing tests");
    let target_ids: Vec<String> = chosen.iter().map(Target::id).collect();
    let ctx = batch::Ctx {
        project,
        index,
        req,
        python: interp.path.clone(),
        import_roots,
        roots_rel,
        gen_dir,
        confine: req.limits.confinement(),
    };
    let mut kept = Kept {
        skipped,
        ..Kept::default()
    };
    let interrupted = each_batch(&ctx, engine, chosen, &before.coverage, &mut kept, cancel).await?;

    let usage = engine.usage();
    let sources = std::mem::take(&mut kept.sources);
    let name = engine.name();
    let header = move |file: &str| {
        let source = sources.get(file).map(String::as_str).unwrap_or_default();
        output::header(name, source)
    };
    let written = edits::build(edits::Input {
        project,
        gen_dir: &ctx.gen_dir,
        engine: engine.name(),
        seed: req.limits.seed,
        files: &kept.files,
        origin: &kept.origin,
        header: &header,
        conftest: kept.conftest.as_deref(),
        import_roots: &ctx.roots_rel,
        llm: usage.as_ref(),
    });
    kept.skipped.extend(written.skipped);
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
            skipped: kept.skipped,
            dropped: kept.dropped,
            suspected_bugs: kept.suspected,
            sandbox: crate::sandbox::support().describe(),
            llm: usage,
            repair_rounds: kept.repaired_rounds,
            interrupted,
            capped: kept.capped,
        },
    })
}

/// Everything the finished batches kept and said.
#[derive(Debug, Default)]
struct Kept {
    files: BTreeMap<String, output::TestModule>,
    origin: BTreeMap<candidates::TestKey, String>,
    sources: BTreeMap<String, String>,
    conftest: Option<String>,
    skipped: Vec<NotTargeted>,
    dropped: Vec<Dropped>,
    suspected: Vec<SuspectedBug>,
    repaired_rounds: u32,
    gained: BTreeSet<(RelPath, u32)>,
    tests: usize,
    capped: Vec<String>,
}

impl Kept {
    fn add(&mut self, mut b: batch::Outcome) {
        self.tests += b.kept.values().map(|m| m.tests.len()).sum::<usize>();
        self.files.append(&mut b.kept);
        self.origin.append(&mut b.origin);
        self.sources.append(&mut b.sources);
        if self.conftest.is_none() {
            self.conftest = b.conftest;
        }
        self.skipped.append(&mut b.skipped);
        self.dropped.append(&mut b.dropped);
        self.suspected.append(&mut b.suspected);
        self.repaired_rounds = self.repaired_rounds.max(b.repaired_rounds);
        self.gained.append(&mut b.gained);
        self.capped.append(&mut b.capped);
    }
}

/// Why a target has no test when the time limit cut the run before it.
pub const NOT_TRIED: &str = "not tried: the time limit ran out";
/// ... and when the limit cut the batch it was in.
pub const INTERRUPTED: &str =
    "interrupted: the time limit ran out while its module was explored or validated";

/// Runs the batches in order, keeping each finished one; returns why the
/// run was cut short, if it was. `cancel` abandons everything.
async fn each_batch(
    ctx: &batch::Ctx<'_>,
    engine: &impl Engine,
    chosen: Vec<Target>,
    before: &Coverage,
    kept: &mut Kept,
    cancel: &CancellationToken,
) -> Result<Option<String>, GenerateError> {
    use tracing::Instrument;
    let started = Instant::now();
    let batches = batches::split(chosen);
    let mut tally = progress::Tally {
        modules_total: batches.iter().map(|b| b.modules.len()).sum(),
        targets_total: batches.iter().map(|b| b.targets.len()).sum(),
        coverage: before.line_percent,
        ..progress::Tally::default()
    };
    // The totals before any batch ends: a heartbeat in between shows them.
    if let Some(p) = &ctx.req.anytime.progress {
        p.send(&tally);
    }
    let stop = ctx.req.anytime.stop.as_ref();
    let stopped = || stop.is_some_and(|s| s.is_cancelled());
    let mut interrupted: Option<String> = None;
    let mut queue = batches.into_iter();
    // The batch whose proposals were made while the one before it was
    // validated (or are about to be made), with its own work token.
    let mut current: Option<Proposed> = None;
    loop {
        if cancel.is_cancelled() {
            return Err(GenerateError::Cancelled);
        }
        if interrupted.is_some() || stopped() {
            interrupted.get_or_insert_with(|| TIME_LIMIT.to_string());
            if let Some(p) = current.take() {
                p.work.cancel();
                kept.skipped
                    .extend(not_tried(&p.batch.targets, INTERRUPTED));
            }
            for b in queue.by_ref() {
                kept.skipped.extend(not_tried(&b.targets, NOT_TRIED));
            }
            break;
        }
        let p = match current.take() {
            Some(p) => p,
            None => match queue.next() {
                Some(b) => propose(ctx, engine, b, cancel, stop).await,
                None => break,
            },
        };
        let upcoming = queue.next();
        let span = tracing::info_span!(
            "batch",
            modules = p.batch.modules.len(),
            targets = p.batch.targets.len()
        );
        let Proposed {
            batch: b,
            work,
            proposals,
        } = p;
        // Kept and reported as soon as it is validated, whether or not the
        // next batch's exploration is still going on.
        let finished = async {
            let result = async { batch::finish(ctx, engine, &b.targets, proposals?, &work).await }
                .instrument(span)
                .await;
            work.cancel();
            match result {
                Ok(outcome) => kept.add(outcome),
                Err(GenerateError::Cancelled) if !cancel.is_cancelled() => {
                    interrupted = Some(TIME_LIMIT.to_string());
                    kept.skipped.extend(not_tried(&b.targets, INTERRUPTED));
                    return Ok(());
                }
                Err(e) => return Err(e),
            }
            tally.modules_done += b.modules.len();
            tally.targets_tried += b.targets.len();
            tally.tests_kept = kept.tests;
            tally.coverage = estimate(before, kept.gained.len());
            tally.elapsed_s = started.elapsed().as_secs_f64();
            if let Some(p) = &ctx.req.anytime.progress {
                p.send(&tally);
            }
            Ok(())
        };
        let ahead = async {
            match upcoming {
                Some(b) => Some(propose(ctx, engine, b, cancel, stop).await),
                None => None,
            }
        };
        let (result, ahead) = tokio::join!(finished, ahead);
        current = ahead;
        if let Err(e) = result {
            if let Some(a) = current.take() {
                a.work.cancel();
            }
            return Err(e);
        }
    }
    if cancel.is_cancelled() {
        return Err(GenerateError::Cancelled);
    }
    Ok(interrupted)
}

/// A batch and its engine's proposals (made under `work`, which the stop
/// and the cancel both fire).
struct Proposed {
    batch: batches::Batch,
    work: CancellationToken,
    proposals: Result<engine::Proposals, GenerateError>,
}

async fn propose(
    ctx: &batch::Ctx<'_>,
    engine: &impl Engine,
    batch: batches::Batch,
    cancel: &CancellationToken,
    stop: Option<&CancellationToken>,
) -> Proposed {
    use tracing::Instrument;
    let work = progress::either(cancel, stop);
    let span = tracing::info_span!("propose", targets = batch.targets.len());
    let proposals = batch::propose(ctx, engine, batch.targets.clone(), &work)
        .instrument(span)
        .await;
    Proposed {
        batch,
        work,
        proposals,
    }
}

/// What `Report::interrupted` says when the time limit cut the run.
pub const TIME_LIMIT: &str = "the time limit ran out";

fn not_tried(targets: &[Target], reason: &str) -> Vec<NotTargeted> {
    targets
        .iter()
        .map(|t| NotTargeted {
            target: t.id(),
            reason: reason.to_string(),
        })
        .collect()
}

/// Line coverage once `gained` more statements are covered.
fn estimate(before: &Coverage, gained: usize) -> f64 {
    if before.statements == 0 {
        return before.line_percent;
    }
    let covered = before.statements.saturating_sub(before.missing) as usize + gained;
    let pct = covered as f64 * 100.0 / f64::from(before.statements);
    (pct.min(100.0) * 100.0).round() / 100.0
}

/// Proposed tests holding a secret (a value of testgen's environment, a
/// string shaped like a key) are never written, whatever the engine.
pub(super) fn drop_secrets(p: &mut engine::Proposals) -> Vec<Dropped> {
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
pub(super) fn support_conftest(
    support: &engine::Support,
    found: &candidates::Candidates,
) -> Option<String> {
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
