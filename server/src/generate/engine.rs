//! The one interface every test engine implements. The pipeline
//! (`generate::plan`) chooses targets, hands them to an engine with their
//! context and a budget, and gets back proposed tests; validation, the
//! coverage check, rendering and writing are the pipeline's and know
//! nothing of the engine that proposed a test.
//!
//! Engines: `explore` (offline, `generate/explore/`). An LLM engine plugs
//! in as another variant of [`AnyEngine`] implementing [`Engine`].

use std::future::Future;
use std::path::PathBuf;

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
    /// A complete top-level `def` (or `async def`, decorators included).
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
            secret_names: c.llm.api_key_env.iter().cloned().collect(),
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
}

/// The engines testgen has; the one `match` that dispatches to them.
#[derive(Debug, Clone)]
pub enum AnyEngine {
    Explore(super::explore::ExploreEngine),
}

impl AnyEngine {
    /// The engine `choice` names, given the configuration. `auto` is the
    /// LLM when one is configured, explore otherwise.
    pub fn choose(choice: EngineChoice, config: &Config) -> Result<AnyEngine, String> {
        match choice {
            EngineChoice::Explore => Ok(AnyEngine::Explore(Default::default())),
            EngineChoice::Auto => {
                if config.llm.provider.is_some() {
                    tracing::info!("an LLM is configured, but the llm engine is not available yet: using explore");
                }
                Ok(AnyEngine::Explore(Default::default()))
            }
            EngineChoice::Llm => Err(
                "the llm engine is not available yet; use the explore engine (the default, no API key needed)"
                    .into(),
            ),
        }
    }
}

impl Engine for AnyEngine {
    fn name(&self) -> &'static str {
        match self {
            AnyEngine::Explore(e) => e.name(),
        }
    }

    async fn propose(&self, job: Job<'_>) -> Result<Proposals, EngineError> {
        match self {
            AnyEngine::Explore(e) => e.propose(job).await,
        }
    }
}
