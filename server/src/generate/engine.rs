//! The one interface every test engine implements. The pipeline
//! (`generate::plan`) chooses targets, hands them to an engine with their
//! context and a budget, and gets back proposed tests; validation, the
//! coverage check, rendering and writing are the pipeline's and know
//! nothing of the engine that proposed a test.
//!
//! Engines: `explore` (offline, `generate/explore/`), `llm` (a language
//! model, `generate/llm/`) and the hybrid `auto` (explore first, the LLM for
//! what is left, `generate/llm/hybrid.rs`), the variants of [`AnyEngine`].

use std::future::Future;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::targets::{NotTargeted, Target};
use crate::config::{Config, EngineChoice};
use crate::index::Index;
use crate::workspace::Project;

/// One proposed test, as pytest source that stands on its own once its
/// imports are added (the imports travel with the test).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestSource {
    pub name: String,
    /// A complete top-level `def` (or `async def`, decorators included),
    /// after the top-level helpers, fixtures and constants it uses (an LLM
    /// writes them beside its tests); the file renders a helper once.
    pub source: String,
    /// Whole import lines the test needs.
    pub imports: Vec<String>,
    /// pytest fixtures it takes from the generated conftest (e.g. `client`).
    pub fixtures: Vec<String>,
}

/// A test an engine proposes for one target.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub target: Target,
    pub test: TestSource,
    /// The target's lines this test reaches, when the engine knows them
    /// (explore traces its calls). None: the pipeline measures them from the
    /// validation run's per-test coverage contexts.
    pub reaches: Option<Vec<u32>>,
}

/// What the generated tests need besides themselves: the body of
/// `tests/generated/conftest.py` (fixtures over the real application, or
/// a Django configuration).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Support {
    pub conftest: Option<String>,
    /// The conftest is needed by every test (Django), not only by tests
    /// that take one of its fixtures.
    pub always: bool,
}

/// An engine's answer for a batch of targets.
#[derive(Debug, Clone, Default)]
pub struct Proposals {
    /// In the order the engine ranks them, per target.
    pub tests: Vec<Proposal>,
    /// Targets the engine could not address, with the reason.
    pub skipped: Vec<NotTargeted>,
    pub support: Support,
    /// Calls that raised where the project's code looks wrong.
    pub suspected_bugs: Vec<super::SuspectedBug>,
    /// Model calls, tokens and cost so far (engines that call a model).
    pub usage: Option<super::llm::accounting::RunUsage>,
    /// Targets whose search the wall-clock cap cut short (`path::Qualname`).
    pub capped: Vec<String>,
}

/// A proposed test that failed validation, handed back to its engine.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Failure {
    pub target: Target,
    /// The test's name as written in its file.
    pub test: String,
    /// What validation said (the error).
    pub reason: String,
    /// The target's lines no kept test reaches yet.
    pub missing: Vec<u32>,
    /// Where in the project's code its exception was raised, if there.
    pub raised: Option<super::validate::Raised>,
}

/// Limits of one generation, whatever the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Wall-clock cap per target, seconds.
    pub budget_s: f64,
    /// Calls (of the code under test, or of a model) per target at most.
    pub max_calls: u32,
    pub seed: u64,
    /// Targets that delete files, start processes or use the network.
    pub allow_unsafe: bool,
    /// Resource limits of the sandboxed children (harness, validation).
    pub sandbox: crate::sandbox::Limits,
    /// A generated test slower than this in validation is dropped, seconds.
    pub slow_test_s: f64,
    /// Variables kept from sandboxed children besides the credential-like
    /// ones (the configured LLM key's name).
    pub secret_names: Vec<String>,
}

impl Limits {
    /// What confines every child running project code for this generation.
    pub fn confinement(&self) -> crate::sandbox::Settings {
        crate::sandbox::Settings {
            limits: self.sandbox.clone(),
            allow_process: self.allow_unsafe,
            secret_names: self.secret_names.clone(),
        }
    }

    pub fn from_config(c: &Config) -> Limits {
        Limits {
            budget_s: c.explore.budget_s,
            max_calls: c.explore.max_calls,
            seed: c.explore.seed,
            allow_unsafe: c.explore.allow_unsafe,
            sandbox: c.sandbox.clone(),
            slow_test_s: c.slow_test_s,
            secret_names: c.llm.key_env().into_iter().collect(),
        }
    }
}

/// Everything an engine may look at for one batch.
pub struct Job<'a> {
    pub project: &'a Project,
    /// Describes the files on disk (coverage was measured on them).
    pub index: &'a Index,
    /// The project's interpreter, checked.
    pub python: PathBuf,
    /// Where the project's modules import from (`sys.path` entries).
    pub import_roots: Vec<PathBuf>,
    pub targets: Vec<Target>,
    pub limits: &'a Limits,
    pub cancel: &'a CancellationToken,
}

impl<'a> Job<'a> {
    /// The same job for other targets.
    pub fn with_targets(&self, targets: Vec<Target>) -> Job<'a> {
        Job {
            project: self.project,
            index: self.index,
            python: self.python.clone(),
            import_roots: self.import_roots.clone(),
            targets,
            limits: self.limits,
            cancel: self.cancel,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// The user cancelled (Ctrl-C, the editor's cancel button).
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

pub trait Engine {
    /// The name written into test headers and the manifest.
    fn name(&self) -> &'static str;

    fn propose(&self, job: Job<'_>) -> impl Future<Output = Result<Proposals, EngineError>> + Send;

    /// New versions of tests that failed validation (an engine that holds
    /// a conversation per target asks again in it); the default has none.
    /// The pipeline calls it for at most a few rounds.
    fn repair(
        &self,
        job: Job<'_>,
        failures: Vec<Failure>,
    ) -> impl Future<Output = Result<Proposals, EngineError>> + Send {
        let _ = (job, failures);
        async { Ok(Proposals::default()) }
    }

    /// Model calls, tokens and cost of the run so far (None: no model).
    fn usage(&self) -> Option<super::llm::accounting::RunUsage> {
        None
    }
}

/// The engines testgen has; the one `match` that dispatches to them.
#[derive(Debug, Clone)]
pub enum AnyEngine {
    Explore(super::explore::ExploreEngine),
    Llm(super::llm::LlmEngine),
    /// `auto` with an LLM configured: explore first, the LLM for the rest.
    Hybrid(super::llm::hybrid::HybridEngine),
}

/// How the engine is built besides the configuration.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choice {
    /// `--no-cache`: ask the model even when an answer is cached.
    pub no_cache: bool,
}

impl AnyEngine {
    /// The engine `choice` names, given the configuration, for the project
    /// at `root`. `auto` is the hybrid when an LLM is configured (a
    /// provider is set), explore otherwise. A configured LLM whose settings
    /// are incomplete is an error naming the setting, also under `auto`.
    pub fn choose(
        choice: EngineChoice,
        config: &Config,
        root: &Path,
        how: Choice,
    ) -> Result<AnyEngine, String> {
        let llm = || super::llm::LlmEngine::from_config(config, root, how.no_cache);
        match choice {
            EngineChoice::Explore => Ok(AnyEngine::Explore(Default::default())),
            EngineChoice::Auto if config.llm.provider.is_none() => {
                Ok(AnyEngine::Explore(Default::default()))
            }
            EngineChoice::Auto => Ok(AnyEngine::Hybrid(super::llm::hybrid::HybridEngine::new(
                Default::default(),
                llm()?,
            ))),
            EngineChoice::Llm => Ok(AnyEngine::Llm(llm()?)),
        }
    }
}

impl AnyEngine {
    /// Its LLM engine (`llm`, or the hybrid's), for other callers of the
    /// same model (the fixer).
    pub fn llm(&self) -> Option<&super::llm::LlmEngine> {
        match self {
            AnyEngine::Explore(_) => None,
            AnyEngine::Llm(e) => Some(e),
            AnyEngine::Hybrid(e) => Some(&e.llm),
        }
    }
}

impl Engine for AnyEngine {
    fn name(&self) -> &'static str {
        match self {
            AnyEngine::Explore(e) => e.name(),
            AnyEngine::Llm(e) => e.name(),
            AnyEngine::Hybrid(e) => e.name(),
        }
    }

    async fn propose(&self, job: Job<'_>) -> Result<Proposals, EngineError> {
        match self {
            AnyEngine::Explore(e) => e.propose(job).await,
            AnyEngine::Llm(e) => e.propose(job).await,
            AnyEngine::Hybrid(e) => e.propose(job).await,
        }
    }

    async fn repair(&self, job: Job<'_>, failures: Vec<Failure>) -> Result<Proposals, EngineError> {
        match self {
            AnyEngine::Explore(e) => e.repair(job, failures).await,
            AnyEngine::Llm(e) => e.repair(job, failures).await,
            AnyEngine::Hybrid(e) => e.repair(job, failures).await,
        }
    }

    fn usage(&self) -> Option<super::llm::accounting::RunUsage> {
        match self {
            AnyEngine::Explore(e) => e.usage(),
            AnyEngine::Llm(e) => Some(e.usage()),
            AnyEngine::Hybrid(e) => Some(e.llm.usage()),
        }
    }
}
