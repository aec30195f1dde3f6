//! One batch of targets from proposal to kept tests: the engine proposes
//! ([`propose`]), validation runs the candidates 3 times ([`finish`]), failures go back to the engine
//! for repair (at most [`llm::REPAIR_ROUNDS`]), and what survives is kept.
//! Nothing here writes a test file: `plan` merges the kept tests of every
//! finished batch into edits once the run ends (or is cut short).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use tokio_util::sync::CancellationToken;

use super::candidates::{self, TestKey};
use super::engine::{self, Engine};
use super::output::{self, TestModule};
use super::targets::{NotTargeted, Target};
use super::validate::{self, Dropped};
use super::{llm, suspected, GenerateError, Request, SuspectedBug, NO_NEW_COVERAGE};
use crate::index::model::RelPath;
use crate::index::Index;
use crate::workspace::Project;

/// What every batch of one generation shares.
pub(super) struct Ctx<'a> {
    pub project: &'a Project,
    pub index: &'a Index,
    pub req: &'a Request,
    pub python: PathBuf,
    pub import_roots: Vec<PathBuf>,
    /// The same roots relative to the Python root, for the conftest.
    pub roots_rel: Vec<String>,
    pub gen_dir: PathBuf,
    pub confine: crate::sandbox::Settings,
}

/// The kept tests of one finished batch and what it said about the rest.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub kept: BTreeMap<String, TestModule>,
    pub origin: BTreeMap<TestKey, String>,
    /// Test file → the source file its header names.
    pub sources: BTreeMap<String, String>,
    pub conftest: Option<String>,
    pub skipped: Vec<NotTargeted>,
    pub dropped: Vec<Dropped>,
    pub suspected: Vec<SuspectedBug>,
    pub repaired_rounds: u32,
    /// Missing lines of the targets that the kept tests were seen to
    /// reach (engines that know what their tests reach).
    pub gained: BTreeSet<(RelPath, u32)>,
    /// Targets whose search the wall-clock cap cut short.
    pub capped: Vec<String>,
}

fn job<'a>(ctx: &'a Ctx<'_>, cancel: &'a CancellationToken) -> engine::Job<'a> {
    engine::Job {
        project: ctx.project,
        index: ctx.index,
        python: ctx.python.clone(),
        import_roots: ctx.import_roots.clone(),
        targets: Vec::new(),
        limits: &ctx.req.limits,
        cancel,
    }
}

/// The first step of a batch: the engine's proposals for `targets`. Runs
/// while the batch before it is validated ([`finish`]), since the two use
/// different processes and neither depends on the other.
pub(super) async fn propose(
    ctx: &Ctx<'_>,
    engine: &impl Engine,
    targets: Vec<Target>,
    cancel: &CancellationToken,
) -> Result<engine::Proposals, GenerateError> {
    Ok(engine
        .propose(job(ctx, cancel).with_targets(targets))
        .await?)
}

/// Validates and repairs the proposed tests of `targets`; `cancel` ends
/// it with [`GenerateError::Cancelled`] and nothing kept.
pub(super) async fn finish(
    ctx: &Ctx<'_>,
    engine: &impl Engine,
    targets: &[Target],
    mut proposals: engine::Proposals,
    cancel: &CancellationToken,
) -> Result<Outcome, GenerateError> {
    let by_id: BTreeMap<String, Target> = targets.iter().map(|t| (t.id(), t.clone())).collect();
    let job = job(ctx, cancel);
    let mut out = Outcome {
        skipped: std::mem::take(&mut proposals.skipped),
        dropped: super::drop_secrets(&mut proposals),
        suspected: std::mem::take(&mut proposals.suspected_bugs),
        capped: std::mem::take(&mut proposals.capped),
        ..Outcome::default()
    };
    let support = std::mem::take(&mut proposals.support);
    let mut tests = std::mem::take(&mut proposals.tests);
    let mut round = 0;
    let (mut found, validated, conftest) = loop {
        let found = candidates::assemble(&ctx.gen_dir, tests.clone());
        let sources = found.sources();
        let name = engine.name();
        let header = move |file: &str| {
            let source = sources.get(file).map(String::as_str).unwrap_or_default();
            output::header(name, source)
        };
        let conftest = super::support_conftest(&support, &found);
        let opts = validate::Options {
            conftest: conftest.as_deref(),
            import_roots: &ctx.roots_rel,
            header: &header,
            measure: found.needs_measuring(),
            timeout: ctx.req.suite_timeout,
            slow_test_s: ctx.req.limits.slow_test_s,
            confine: Some(&ctx.confine),
        };
        let validated =
            validate::validate(ctx.project, &ctx.python, &found.modules, &opts, cancel).await?;
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
                out.suspected.append(&mut judged.suspected_bugs);
            }
            break (found, validated, conftest);
        }
        if failures.is_empty() {
            break (found, validated, conftest);
        }
        round += 1;
        tracing::info!(round, failing = failures.len(), "asking for repaired tests");
        let failing: BTreeSet<usize> = failures.iter().map(|(i, _)| *i).collect();
        let mut repaired = engine
            .repair(
                job.with_targets(Vec::new()),
                failures.into_iter().map(|(_, f)| f).collect(),
            )
            .await?;
        out.dropped.extend(super::drop_secrets(&mut repaired));
        out.suspected.append(&mut repaired.suspected_bugs);
        if repaired.tests.is_empty() {
            break (found, validated, conftest);
        }
        out.repaired_rounds += 1;
        // The failing tests' drops stay in the report, marked with their round.
        out.dropped
            .extend(sent_back(&found, &validated.dropped, &failing, round));
        tests = tests
            .into_iter()
            .enumerate()
            .filter(|(i, _)| !failing.contains(i))
            .map(|(_, t)| t)
            .chain(repaired.tests)
            .collect();
    };
    out.skipped.append(&mut found.skipped);
    out.dropped.append(&mut found.dropped);
    out.dropped.extend(validated.dropped.iter().cloned());
    out.kept = found.keep_measured(validated, &mut out.dropped);
    out.gained = gained(&found, &tests, &out.kept);
    out.origin = found.origin.clone();
    out.sources = found.sources();
    out.conftest = conftest;
    Ok(out)
}

/// Validation's drops of the tests sent back for repair in `round`.
fn sent_back<'a>(
    found: &'a candidates::Candidates,
    dropped: &'a [Dropped],
    failing: &'a BTreeSet<usize>,
    round: u32,
) -> impl Iterator<Item = Dropped> + 'a {
    dropped
        .iter()
        .filter(move |d| {
            found
                .proposal
                .get(&(d.file.clone(), d.test.clone()))
                .is_some_and(|i| failing.contains(i))
        })
        .map(move |d| Dropped {
            reason: if d.raised.as_ref().is_some_and(suspected::is_unintended) {
                format!(
                    "{} (round {round}: raised in the project's code, not sent back for repair)",
                    d.reason
                )
            } else {
                format!("{} (round {round}: sent back for repair)", d.reason)
            },
            ..d.clone()
        })
}

/// The tests validation dropped that their engine may repair (failures,
/// not tests that merely add nothing), with their position in the batch.
fn repairable(
    found: &candidates::Candidates,
    dropped: &[Dropped],
    targets: &BTreeMap<String, Target>,
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

/// The targets' missing lines the kept tests reach, as their engine saw it.
fn gained(
    found: &candidates::Candidates,
    tests: &[engine::Proposal],
    kept: &BTreeMap<String, TestModule>,
) -> BTreeSet<(RelPath, u32)> {
    let mut out = BTreeSet::new();
    for (file, module) in kept {
        for name in module.names() {
            let Some(p) = found
                .proposal
                .get(&(file.clone(), name.to_string()))
                .and_then(|i| tests.get(*i))
            else {
                continue;
            };
            let Some(reaches) = &p.reaches else { continue };
            for l in reaches {
                if p.target.missing_lines.contains(l) {
                    out.insert((p.target.path.clone(), *l));
                }
            }
        }
    }
    out
}
