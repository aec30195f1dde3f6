//! The offline engine: coverage-guided exploration in the project's own
//! interpreter. This side groups targets by module, runs one harness per
//! module (a few modules at a time), enforces each target's deadline and
//! survives a harness that hangs or crashes: the target is skipped with the
//! reason and a fresh harness carries on with the rest.

pub mod harness;
pub mod package;
pub mod protocol;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::engine::{Engine, EngineError, Job, Proposal, Proposals, Support, TestSource};
use super::targets::{NotTargeted, Target, TargetKind};
use super::{Finder, SuspectedBug};
use crate::index::model::Framework;
use crate::index::Index;
use harness::{Harness, HarnessError};
pub use protocol::ExploredTest;
use protocol::{
    AppFramework, AppRef, ExploreAnswer, ExploreRequest, FindAppAnswer, FindAppRequest, Request,
    RequestId, Status, TargetRef,
};

/// The explore engine as the pipeline sees it.
#[derive(Debug, Clone)]
pub struct ExploreEngine {
    /// Harnesses running at once.
    pub jobs: usize,
    pub call_timeout_s: f64,
}

impl Default for ExploreEngine {
    fn default() -> Self {
        let d = Settings::default();
        ExploreEngine {
            jobs: d.jobs,
            call_timeout_s: d.call_timeout_s,
        }
    }
}

impl Engine for ExploreEngine {
    fn name(&self) -> &'static str {
        "explore"
    }

    async fn propose(&self, job: Job<'_>) -> Result<Proposals, EngineError> {
        let settings = Settings {
            budget_s: job.limits.budget_s,
            max_calls: job.limits.max_calls,
            call_timeout_s: self.call_timeout_s,
            seed: job.limits.seed,
            allow_unsafe: job.limits.allow_unsafe,
            jobs: self.jobs,
            confine: job.limits.confinement(),
        };
        let env = Env {
            python: job.python.clone(),
            root: job.project.root.clone(),
            sys_path: job.import_roots.clone(),
            cache_dir: cache_dir(&job.project.root),
        };
        let exploration = explore(&env, job.index, job.targets, &settings, job.cancel).await;
        if job.cancel.is_cancelled() {
            return Err(EngineError::Cancelled);
        }
        Ok(proposals(exploration))
    }
}

/// The harness's answers as proposals: each kept call is a test whose
/// reach the tracer measured.
fn proposals(exploration: Exploration) -> Proposals {
    let mut out = Proposals {
        support: Support {
            conftest: exploration.conftest,
            always: exploration.django,
        },
        ..Proposals::default()
    };
    for r in exploration.modules.into_iter().flat_map(|m| m.results) {
        if r.capped {
            out.capped.push(r.target.id());
        }
        match r.explored {
            Explored::Skipped(reason) => out.skipped.push(NotTargeted {
                target: r.target.id(),
                reason,
            }),
            Explored::Tests(tests) => {
                for t in tests {
                    if let Some(bug) = t.suspected_bug {
                        out.suspected_bugs.push(SuspectedBug {
                            target: r.target.id(),
                            file: bug.file,
                            line: bug.line,
                            input: bug.input,
                            error: bug.error,
                            reason: bug.reason,
                            test: bug.test.or_else(|| Some(t.name.clone())),
                            found_by: Finder::Explore,
                        });
                    }
                    out.tests.push(Proposal {
                        target: r.target.clone(),
                        reaches: Some(t.new_lines),
                        test: TestSource {
                            name: t.name,
                            source: t.source,
                            imports: t.imports,
                            fixtures: t.fixtures,
                        },
                    });
                }
            }
        }
    }
    out
}

/// Grace on top of a target's budget before its harness is killed.
const DEADLINE_GRACE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct Settings {
    /// Wall-clock cap per target (the search normally ends on `max_calls`).
    pub budget_s: f64,
    /// Calls per target: what makes a fixed seed give the same tests.
    pub max_calls: u32,
    pub call_timeout_s: f64,
    pub seed: u64,
    /// Explore targets that delete files, spawn processes or use the network.
    pub allow_unsafe: bool,
    /// Harnesses running at once.
    pub jobs: usize,
    /// The OS sandbox of each harness.
    pub confine: harness::Confinement,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            budget_s: 30.0,
            max_calls: 400,
            call_timeout_s: 2.0,
            seed: 0,
            allow_unsafe: false,
            jobs: std::thread::available_parallelism().map_or(2, |n| n.get().min(4)),
            confine: harness::Confinement::default(),
        }
    }
}

#[derive(Debug, Clone)]
pub enum Explored {
    Tests(Vec<ExploredTest>),
    Skipped(String),
}

#[derive(Debug, Clone)]
pub struct TargetResult {
    pub target: Target,
    pub explored: Explored,
    /// The wall-clock cap cut its search (the output depends on the machine).
    pub capped: bool,
}

/// What exploration produced for one module, targets in the order given.
#[derive(Debug, Clone)]
pub struct ModuleResult {
    pub module: String,
    pub results: Vec<TargetResult>,
}

/// Everything one exploration produced.
#[derive(Debug, Clone, Default)]
pub struct Exploration {
    pub modules: Vec<ModuleResult>,
    /// The conftest route tests need (the real app's `client` fixture), or
    /// for a Django project the one every generated test needs (settings,
    /// tables, the `db` fixture).
    pub conftest: Option<String>,
    /// The conftest is Django's: written whenever tests are.
    pub django: bool,
}

/// Where and how harnesses run.
#[derive(Debug, Clone)]
pub struct Env {
    pub python: PathBuf,
    pub root: PathBuf,
    pub sys_path: Vec<PathBuf>,
    /// Where the harness script is written (inside the workspace).
    pub cache_dir: PathBuf,
}

/// Explores `targets` (already ordered); results come back grouped by
/// module, modules in order of their first target.
pub async fn explore(
    env: &Env,
    index: &Index,
    targets: Vec<Target>,
    settings: &Settings,
    cancel: &CancellationToken,
) -> Exploration {
    let mut groups: Vec<(String, Vec<Target>)> = Vec::new();
    for t in targets {
        match groups.iter_mut().find(|(m, _)| *m == t.module) {
            Some((_, v)) => v.push(t),
            None => groups.push((t.module.clone(), vec![t])),
        }
    }
    // Django: the harness configures it by itself; its conftest configures
    // it for the generated tests when nothing else does.
    let django = !groups.is_empty() && index.framework() == Framework::Django;
    let app = if django
        || groups
            .iter()
            .flat_map(|(_, ts)| ts)
            .any(|t| t.kind == TargetKind::Route)
    {
        find_app(env, index, settings, cancel).await
    } else {
        Err("no routes".into())
    };
    let conftest = app.as_ref().ok().map(|(_, c)| c.clone());
    let django = django && conftest.is_some();
    // Django views are route targets too: the harness reverses their URLs
    // from the project's patterns once it has set Django up.
    let (app_json, app_error) = match app {
        Ok((app, _)) => (Some(app), None),
        Err(e) => (None, Some(e)),
    };

    let sem = Arc::new(tokio::sync::Semaphore::new(settings.jobs.max(1)));
    let mut set = tokio::task::JoinSet::new();
    for (i, (module, group)) in groups.into_iter().enumerate() {
        let (env, settings, cancel, sem) =
            (env.clone(), settings.clone(), cancel.clone(), sem.clone());
        let (app_json, app_error) = (app_json.clone(), app_error.clone());
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            use tracing::Instrument;
            let span = tracing::info_span!("explore_module", module = %module);
            let results = explore_module(
                &env,
                group,
                &settings,
                app_json.as_ref(),
                app_error.as_deref(),
                &cancel,
            )
            .instrument(span)
            .await;
            (i, ModuleResult { module, results })
        });
    }
    let mut modules: Vec<(usize, ModuleResult)> = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined {
            Ok(m) => modules.push(m),
            Err(e) => tracing::error!("exploration task failed: {e}"),
        }
    }
    modules.sort_by_key(|(i, _)| *i);
    Exploration {
        modules: modules.into_iter().map(|(_, m)| m).collect(),
        conftest,
        django,
    }
}

async fn explore_module(
    env: &Env,
    targets: Vec<Target>,
    settings: &Settings,
    app: Option<&AppRef>,
    app_error: Option<&str>,
    cancel: &CancellationToken,
) -> Vec<TargetResult> {
    let mut harness: Option<Harness> = None;
    let mut out = Vec::with_capacity(targets.len());
    for (n, target) in targets.into_iter().enumerate() {
        if cancel.is_cancelled() {
            out.push(skipped(target, "cancelled"));
            continue;
        }
        if target.kind == TargetKind::Route && app.is_none() {
            let why = format!(
                "route needs the application object: {}",
                app_error.unwrap_or("not found")
            );
            out.push(skipped(target, &why));
            continue;
        }
        if harness.is_none() {
            match start(env, settings).await {
                Ok(h) => harness = Some(h),
                Err(e) => {
                    out.push(skipped(target, &e.to_string()));
                    continue;
                }
            }
        }
        let h = harness.as_mut().expect("started above");
        let req = explore_request(n, &target, settings, app);
        let deadline = Duration::from_secs_f64(settings.budget_s) + DEADLINE_GRACE;
        let answer = tokio::select! {
            a = h.request::<ExploreAnswer>(&req, deadline) => a,
            _ = cancel.cancelled() => Err(HarnessError::Died("cancelled".into(), Default::default())),
        };
        match answer {
            Ok(answer) => {
                if let Some(why) = &answer.restart {
                    tracing::info!(target = %target.id(), "fresh harness for the next target: {why}");
                    if let Some(h) = harness.take() {
                        h.shutdown().await;
                    }
                }
                out.push(TargetResult {
                    capped: answer.capped,
                    explored: explored(answer),
                    target,
                })
            }
            Err(e) => {
                tracing::warn!(target = %target.id(), "harness lost: {e}");
                // A new harness for the rest: this one is dead or killed.
                harness = None;
                out.push(skipped(target, &e.to_string()));
            }
        }
    }
    if let Some(h) = harness {
        h.shutdown().await;
    }
    out
}

async fn start(env: &Env, settings: &Settings) -> Result<Harness, HarnessError> {
    Harness::start(
        &env.python,
        &env.cache_dir,
        &env.root,
        &env.sys_path,
        settings.seed,
        &settings.confine,
    )
    .await
}

fn skipped(target: Target, reason: &str) -> TargetResult {
    TargetResult {
        target,
        explored: Explored::Skipped(reason.to_string()),
        capped: false,
    }
}

fn explore_request(id: usize, t: &Target, s: &Settings, app: Option<&AppRef>) -> Request {
    Request::Explore(ExploreRequest {
        id: RequestId::Number(id as u64),
        target: TargetRef {
            file: t.abs.clone(),
            module: t.module.clone(),
            qualname: t.qualname.clone(),
            kind: t.kind,
            line: t.line,
            end_line: t.end_line,
        },
        budget_s: s.budget_s,
        max_calls: s.max_calls,
        call_timeout_s: s.call_timeout_s,
        seed: s.seed,
        allow_unsafe: s.allow_unsafe,
        app: app.filter(|_| t.kind == TargetKind::Route).cloned(),
    })
}

fn explored(answer: ExploreAnswer) -> Explored {
    let reason = || {
        answer
            .reason
            .clone()
            .unwrap_or_else(|| "no reason given".into())
    };
    match answer.status {
        // No test kept: the harness says why (an object it could not
        // build, calls outside the contract, a line no argument reached),
        // which the report shows instead of a generic "no passing test".
        Status::Ok if answer.tests.is_empty() && answer.reason.is_some() => {
            Explored::Skipped(reason())
        }
        Status::Ok => Explored::Tests(answer.tests),
        Status::Skipped => Explored::Skipped(reason()),
        Status::Error => Explored::Skipped(format!("harness error: {}", reason())),
    }
}

/// Finds the application object of a Flask/FastAPI project: candidates are
/// the modules that import `Flask`/`FastAPI` (known from the index).
async fn find_app(
    env: &Env,
    index: &Index,
    settings: &Settings,
    cancel: &CancellationToken,
) -> Result<(AppRef, String), String> {
    let (framework, fw, class) = match index.framework() {
        Framework::Flask => (AppFramework::Flask, "flask", "Flask"),
        Framework::Fastapi => (AppFramework::Fastapi, "fastapi", "FastAPI"),
        Framework::Django => (AppFramework::Django, "django", ""),
        other => return Err(format!("{} project", other.as_str())),
    };
    let modules = if framework == AppFramework::Django {
        Vec::new()
    } else {
        app_modules(env, index, fw, class)
    };
    if modules.is_empty() && framework != AppFramework::Django {
        return Err(format!("no module imports {class} from {fw}"));
    }
    let mut h = start(env, settings).await.map_err(|e| e.to_string())?;
    let req = Request::FindApp(FindAppRequest {
        id: RequestId::Text("app".into()),
        framework,
        modules,
    });
    let answer = tokio::select! {
        a = h.request::<FindAppAnswer>(&req, Duration::from_secs(60)) => a.map_err(|e| e.to_string()),
        _ = cancel.cancelled() => Err("cancelled".to_string()),
    };
    h.shutdown().await;
    let answer = answer?;
    if answer.status != Status::Ok {
        return Err(answer.reason.unwrap_or_else(|| "not found".into()));
    }
    let app = answer.app.ok_or("harness gave no app")?;
    let conftest = answer.conftest.ok_or("harness gave no conftest")?;
    Ok((app, conftest))
}

fn app_modules(env: &Env, index: &Index, fw: &str, class: &str) -> Vec<String> {
    let mut out: Vec<String> = index
        .snapshot()
        .into_iter()
        .filter(|(path, _)| !super::targets::is_generated(path))
        .filter(|(path, _)| !crate::workspace::is_test_file(path))
        .filter(|(_, fi)| {
            fi.imports.iter().any(|imp| {
                imp.module == fw && (imp.names.is_empty() || imp.names.iter().any(|n| n == class))
            })
        })
        .filter_map(|(path, _)| {
            super::targets::module_name(&env.root.join(path.as_str()), &env.sys_path)
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The directory harness scripts are written to: inside the workspace.
pub fn cache_dir(root: &Path) -> PathBuf {
    root.join(crate::workspace::artifacts::DIR).join("explore")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(v: serde_json::Value) -> ExploreAnswer {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn a_target_without_a_test_carries_the_harness_reason() {
        let why = "could not build a `Cart`: its constructor raised ValueError: bad currency";
        let got = explored(answer(serde_json::json!({
            "id": 1, "status": "ok", "reason": why, "tests": []
        })));
        assert!(
            matches!(got, Explored::Skipped(ref r) if r == why),
            "{got:?}"
        );
        let kept = explored(answer(serde_json::json!({
            "id": 1, "status": "ok", "reason": null, "tests": []
        })));
        assert!(
            matches!(kept, Explored::Tests(ref t) if t.is_empty()),
            "{kept:?}"
        );
    }
}
