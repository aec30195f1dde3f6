//! The product's configuration, one type for the command line, the language
//! server and the pipeline. Sources in rising priority (a later one
//! overrides only the keys it sets): defaults, the editor's
//! `initializationOptions`, the editor's `workspace/configuration`,
//! `[tool.testgen]` in pyproject.toml, environment variables, command-line
//! flags. docs/configuration.md documents every key; `schema::KEYS` is the
//! table the docs and the VS Code extension are checked against.
//!
//! Relative paths resolve against the directory of the layer that set them
//! (pyproject.toml's directory; the workspace root for editor settings and
//! environment variables; the working directory for command-line flags,
//! as a shell user expects), never against the process's working directory
//! otherwise.

pub mod layer;
pub mod schema;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use layer::{Layer, Source, Values};

/// Which engine writes tests. `auto` uses the LLM when one is configured,
/// explore otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum EngineChoice {
    #[default]
    Auto,
    /// Offline, coverage-guided exploration in the project's interpreter.
    Explore,
    /// A language model (OpenAI, Azure OpenAI or an OpenAI-compatible server).
    Llm,
}

impl EngineChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineChoice::Auto => "auto",
            EngineChoice::Explore => "explore",
            EngineChoice::Llm => "llm",
        }
    }

    pub fn parse(s: &str) -> Result<EngineChoice, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(EngineChoice::Auto),
            "explore" => Ok(EngineChoice::Explore),
            "llm" => Ok(EngineChoice::Llm),
            other => Err(format!(
                "engine {other:?}: expected \"auto\", \"explore\" or \"llm\""
            )),
        }
    }
}

/// Where LLM requests go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Provider {
    Openai,
    Azure,
    OpenaiCompatible,
}

/// Severity of `uncovered-function` diagnostics (the server maps it onto
/// LSP's type).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Severity {
    Error,
    Warning,
    #[default]
    Information,
    Hint,
}

impl Severity {
    fn parse(s: &str) -> Result<Severity, String> {
        match s.to_ascii_lowercase().as_str() {
            "error" => Ok(Severity::Error),
            "warning" => Ok(Severity::Warning),
            "information" | "info" => Ok(Severity::Information),
            "hint" => Ok(Severity::Hint),
            other => Err(format!(
                "uncoveredSeverity {other:?}: expected error, warning, information or hint"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExploreConfig {
    /// Wall-clock cap per target, seconds.
    pub budget_s: f64,
    /// Calls per target: what makes a fixed seed give the same tests.
    pub max_calls: u32,
    pub seed: u64,
    /// Explore targets that delete files, start processes or use the network.
    pub allow_unsafe: bool,
}

impl Default for ExploreConfig {
    fn default() -> Self {
        ExploreConfig {
            budget_s: 30.0,
            max_calls: 400,
            seed: 0,
            allow_unsafe: false,
        }
    }
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Openai => "openai",
            Provider::Azure => "azure",
            Provider::OpenaiCompatible => "openai-compatible",
        }
    }

    /// The provider's name as a user reads it in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Provider::Openai => "OpenAI",
            Provider::Azure => "Azure OpenAI",
            Provider::OpenaiCompatible => "the OpenAI-compatible server",
        }
    }

    /// The variable holding the key when `llm.apiKeyEnv` is not set.
    pub fn default_key_env(self) -> &'static str {
        match self {
            Provider::Azure => "AZURE_OPENAI_API_KEY",
            Provider::Openai | Provider::OpenaiCompatible => "OPENAI_API_KEY",
        }
    }

    fn parse(s: &str) -> Result<Provider, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Ok(Provider::Openai),
            "azure" => Ok(Provider::Azure),
            "openai-compatible" | "compatible" => Ok(Provider::OpenaiCompatible),
            other => Err(format!(
                "provider {other:?}: expected \"openai\", \"azure\" or \"openai-compatible\""
            )),
        }
    }
}

/// The coverage gate when nothing sets one (the reference's `MIN_COVERAGE_THRESHOLD` default).
pub const DEFAULT_MIN_COVERAGE: f64 = 90.0;

/// Azure's API version when none is configured (the reference's).
pub const AZURE_API_VERSION: &str = "2024-02-15-preview";

#[derive(Debug, Clone, PartialEq)]
pub struct LlmConfig {
    pub provider: Option<Provider>,
    /// The model (for Azure: the deployment).
    pub model: Option<String>,
    /// OpenAI's or a compatible server's base URL; Azure's endpoint.
    pub base_url: Option<String>,
    pub api_key_env: Option<String>,
    pub api_version: String,
    pub max_concurrency: u32,
    /// Whole request (connect, send, answer), seconds.
    pub timeout_s: f64,
    pub connect_timeout_s: f64,
    /// Prompt tokens one request may carry (the context is cut to fit).
    pub request_tokens: u32,
    /// Caps of one run; None: no cap.
    pub max_calls: Option<u32>,
    pub max_tokens: Option<u64>,
    /// Answers cached under `.testgen/llm-cache/`.
    pub cache: bool,
    /// Price override, per million prompt / completion tokens.
    pub prompt_price: Option<f64>,
    pub completion_price: Option<f64>,
}

impl Default for LlmConfig {
    fn default() -> Self {
        LlmConfig {
            provider: None,
            model: None,
            base_url: None,
            api_key_env: None,
            api_version: AZURE_API_VERSION.into(),
            max_concurrency: 8,
            timeout_s: 120.0,
            connect_timeout_s: 10.0,
            request_tokens: 3000,
            max_calls: None,
            max_tokens: None,
            cache: true,
            prompt_price: None,
            completion_price: None,
        }
    }
}

impl LlmConfig {
    /// The variable the key is read from.
    pub fn key_env(&self) -> Option<String> {
        self.api_key_env
            .clone()
            .or_else(|| self.provider.map(|p| p.default_key_env().to_string()))
    }
}

/// The resolved configuration: every key has a value.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Absolute path, or a bare program name looked up on PATH; None:
    /// discover ($VIRTUAL_ENV, .venv/, venv/, python3).
    pub python: Option<PathBuf>,
    pub run_on_save: bool,
    pub debounce_ms: u64,
    pub test_timeout_s: u64,
    pub pytest_args: Vec<String>,
    pub uncovered_severity: Severity,
    pub partial_threshold: f64,
    pub engine: EngineChoice,
    pub min_coverage: f64,
    pub explore: ExploreConfig,
    /// Resource limits of the sandboxed children (src/sandbox/).
    pub sandbox: crate::sandbox::Limits,
    /// A generated test that takes longer than this in validation is
    /// dropped, seconds.
    pub slow_test_s: f64,
    pub run: RunConfig,
    pub llm: LlmConfig,
}

/// `testgen run`: rounds and gates besides `min_coverage`.
#[derive(Debug, Clone, PartialEq)]
pub struct RunConfig {
    /// Coverage must rise by at least this many points (`--min-delta`).
    pub min_delta: f64,
    /// Generation rounds at most (`--iterations`).
    pub iterations: u32,
    /// Wall-clock cap of all generation rounds, seconds.
    pub generation_timeout_s: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            min_delta: 0.0,
            iterations: 3,
            generation_timeout_s: 600,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            python: None,
            run_on_save: true,
            debounce_ms: 300,
            test_timeout_s: 600,
            pytest_args: Vec::new(),
            uncovered_severity: Severity::default(),
            partial_threshold: 80.0,
            engine: EngineChoice::default(),
            min_coverage: DEFAULT_MIN_COVERAGE,
            explore: ExploreConfig::default(),
            sandbox: crate::sandbox::Limits::default(),
            slow_test_s: 5.0,
            run: RunConfig::default(),
            llm: LlmConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: {message}", from.describe())]
    Invalid { from: Source, message: String },
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
}

impl ConfigError {
    fn invalid(source: Source, e: impl std::fmt::Display) -> ConfigError {
        ConfigError::Invalid {
            from: source,
            message: e.to_string(),
        }
    }
}

impl Config {
    /// Applies `layers` over the defaults, in the order given (the caller
    /// passes them in rising priority; [`load`] does).
    pub fn from_layers<'a>(
        layers: impl IntoIterator<Item = &'a Layer>,
    ) -> Result<Config, ConfigError> {
        let mut c = Config::default();
        let mut layers: Vec<&Layer> = layers.into_iter().collect();
        layers.sort_by_key(|l| l.source);
        for l in layers {
            c.apply(l).map_err(|message| ConfigError::Invalid {
                from: l.source,
                message,
            })?;
        }
        Ok(c)
    }

    fn apply(&mut self, l: &Layer) -> Result<(), String> {
        let v = &l.values;
        if let Some(p) = &v.python {
            self.python = Some(resolve_program(p, l.base.as_deref()));
        }
        set(&mut self.run_on_save, v.run_on_save);
        if let Some(ms) = v.debounce_ms {
            self.debounce_ms = ms.min(60_000);
        }
        if let Some(s) = v.test_timeout_s {
            if s == 0 {
                return Err("testTimeoutS must be at least 1".into());
            }
            self.test_timeout_s = s;
        }
        set(&mut self.pytest_args, v.pytest_args.clone());
        if let Some(s) = &v.uncovered_severity {
            self.uncovered_severity = Severity::parse(s)?;
        }
        if let Some(p) = v.partial_threshold {
            self.partial_threshold = percent("partialThreshold", p)?;
        }
        set(&mut self.engine, v.engine);
        if let Some(p) = v.min_coverage {
            self.min_coverage = percent("minCoverage", p)?;
        }
        let e = &v.explore;
        if let Some(b) = e.budget_s {
            if !(b > 0.0 && b <= 3600.0) {
                return Err("explore.budgetS must be between 0 and 3600 seconds".into());
            }
            self.explore.budget_s = b;
        }
        if let Some(n) = e.max_calls {
            if n == 0 {
                return Err("explore.maxCalls must be at least 1".into());
            }
            self.explore.max_calls = n;
        }
        set(&mut self.explore.seed, e.seed);
        set(&mut self.explore.allow_unsafe, e.allow_unsafe);
        let sb = &v.sandbox;
        let at_least = |key: &str, n: u64, min: u64| -> Result<u64, String> {
            if n < min {
                Err(format!("sandbox.{key} must be at least {min}"))
            } else {
                Ok(n)
            }
        };
        if let Some(n) = sb.memory_mb {
            self.sandbox.memory_mb = at_least("memoryMb", n, 256)?;
        }
        if let Some(n) = sb.file_size_mb {
            self.sandbox.file_size_mb = at_least("fileSizeMb", n, 1)?;
        }
        if let Some(n) = sb.cpu_s {
            self.sandbox.cpu_s = at_least("cpuS", n, 10)?;
        }
        if let Some(n) = sb.open_files {
            self.sandbox.open_files = at_least("openFiles", n, 64)?;
        }
        if let Some(s) = v.validation.slow_test_s {
            if !(s > 0.0 && s <= 3600.0) {
                return Err("validation.slowTestS must be between 0 and 3600 seconds".into());
            }
            self.slow_test_s = s;
        }
        let r = &v.run;
        if let Some(d) = r.min_delta {
            if !(-100.0..=100.0).contains(&d) {
                return Err("run.minDelta must be between -100 and 100".into());
            }
            self.run.min_delta = d;
        }
        if let Some(n) = r.iterations {
            if !(1..=20).contains(&n) {
                return Err("run.iterations must be between 1 and 20".into());
            }
            self.run.iterations = n;
        }
        if let Some(s) = r.generation_timeout_s {
            if s == 0 {
                return Err("run.generationTimeoutS must be at least 1".into());
            }
            self.run.generation_timeout_s = s;
        }
        let m = &v.llm;
        if m.provider.is_some() {
            self.llm.provider = m.provider;
        }
        set_some(&mut self.llm.model, &m.model);
        set_some(&mut self.llm.base_url, &m.base_url);
        set_some(&mut self.llm.api_key_env, &m.api_key_env);
        if let Some(n) = m.max_concurrency {
            if n == 0 {
                return Err("llm.maxConcurrency must be at least 1".into());
            }
            self.llm.max_concurrency = n;
        }
        if let Some(v) = &m.api_version {
            self.llm.api_version.clone_from(v);
        }
        let seconds = |key: &str, s: f64| -> Result<f64, String> {
            if s > 0.0 && s <= 3600.0 {
                Ok(s)
            } else {
                Err(format!("llm.{key} must be between 0 and 3600 seconds"))
            }
        };
        if let Some(s) = m.timeout_s {
            self.llm.timeout_s = seconds("timeoutS", s)?;
        }
        if let Some(s) = m.connect_timeout_s {
            self.llm.connect_timeout_s = seconds("connectTimeoutS", s)?;
        }
        if let Some(n) = m.request_tokens {
            if n < 256 {
                return Err("llm.requestTokens must be at least 256".into());
            }
            self.llm.request_tokens = n;
        }
        if let Some(n) = m.max_calls {
            self.llm.max_calls = (n > 0).then_some(n);
        }
        if let Some(n) = m.max_tokens {
            self.llm.max_tokens = (n > 0).then_some(n);
        }
        set(&mut self.llm.cache, m.cache);
        for (key, v, slot) in [
            ("promptPrice", m.prompt_price, &mut self.llm.prompt_price),
            (
                "completionPrice",
                m.completion_price,
                &mut self.llm.completion_price,
            ),
        ] {
            if let Some(p) = v {
                if !(p >= 0.0 && p.is_finite()) {
                    return Err(format!("llm.{key} must be a price of at least 0"));
                }
                *slot = Some(p);
            }
        }
        Ok(())
    }
}

fn set<T>(slot: &mut T, v: Option<T>) {
    if let Some(v) = v {
        *slot = v;
    }
}

fn set_some(slot: &mut Option<String>, v: &Option<String>) {
    if v.is_some() {
        slot.clone_from(v);
    }
}

fn percent(key: &str, p: f64) -> Result<f64, String> {
    if (0.0..=100.0).contains(&p) {
        Ok(p)
    } else {
        Err(format!("{key} must be between 0 and 100"))
    }
}

/// A program setting: a bare name stays a name (looked up on PATH when
/// used); a path is made absolute against `base`.
fn resolve_program(p: &Path, base: Option<&Path>) -> PathBuf {
    if p.is_absolute() || p.components().count() == 1 {
        return p.to_path_buf();
    }
    match base {
        Some(b) => b.join(p),
        None => std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()),
    }
}

/// The directory whose pyproject.toml holds the project's `[tool.testgen]`:
/// the Python root's when it has the table, else the repository root's.
pub fn pyproject_layer(root: &Path, python_root: &Path) -> Result<Layer, ConfigError> {
    let inner = Layer::from_pyproject(python_root)?;
    if inner.values != Values::default() || python_root == root {
        return Ok(inner);
    }
    Layer::from_pyproject(root)
}

/// Everything but the editor: pyproject.toml, the process environment and
/// the command line's own layer (flags the user gave).
pub fn load(
    root: &Path,
    python_root: &Path,
    editor: &[Layer],
    cli: Option<&Layer>,
) -> Result<Config, ConfigError> {
    let py = pyproject_layer(root, python_root)?;
    let env = Layer::from_env(|k| std::env::var(k).ok(), root)?;
    Config::from_layers(editor.iter().chain([&py, &env]).chain(cli))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn editor(source: Source, v: serde_json::Value) -> Layer {
        Layer::from_json(source, &v, Some(Path::new("/ws"))).unwrap()
    }

    #[test]
    fn precedence_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.testgen]\npartial_threshold = 60\nengine = \"explore\"\n[tool.testgen.explore]\nmax-calls = 50\n",
        )
        .unwrap();
        let init = editor(
            Source::InitializationOptions,
            json!({"runOnSave": false, "debounceMs": 100, "partialThreshold": 10}),
        );
        let ws = editor(
            Source::WorkspaceConfiguration,
            json!({"testgen": {"debounceMs": 50}}),
        );
        let py = Layer::from_pyproject(dir.path()).unwrap();
        let env = Layer::from_env(
            |k| (k == "TESTGEN_ENGINE").then(|| "llm".into()),
            dir.path(),
        )
        .unwrap();
        let mut cli = Layer::empty(Source::CommandLine);
        cli.values.explore.seed = Some(7);
        // Given in any order: the sources decide.
        let c = Config::from_layers([&cli, &env, &py, &ws, &init]).unwrap();
        assert!(!c.run_on_save);
        assert_eq!(
            c.debounce_ms, 50,
            "workspace/configuration over initializationOptions"
        );
        assert_eq!(c.partial_threshold, 60.0, "pyproject over the editor");
        assert_eq!(c.engine, EngineChoice::Llm, "environment over pyproject");
        assert_eq!(c.explore.max_calls, 50);
        assert_eq!(c.explore.seed, 7);
        assert_eq!(c.test_timeout_s, 600, "default");
    }

    #[test]
    fn relative_python_resolves_against_the_layer_base() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.testgen]\npython = \".venv/bin/python\"\n",
        )
        .unwrap();
        let py = Layer::from_pyproject(dir.path()).unwrap();
        let c = Config::from_layers([&py]).unwrap();
        assert_eq!(c.python.unwrap(), dir.path().join(".venv/bin/python"));
        let ws = editor(
            Source::WorkspaceConfiguration,
            json!({"python": "env/bin/python"}),
        );
        assert_eq!(
            Config::from_layers([&ws]).unwrap().python.unwrap(),
            Path::new("/ws/env/bin/python")
        );
        let bare = editor(
            Source::WorkspaceConfiguration,
            json!({"python": "python3.11"}),
        );
        assert_eq!(
            Config::from_layers([&bare]).unwrap().python.unwrap(),
            Path::new("python3.11")
        );
    }

    #[test]
    fn bad_values_name_their_source() {
        let l = editor(
            Source::WorkspaceConfiguration,
            json!({"uncoveredSeverity": "loud"}),
        );
        let e = Config::from_layers([&l]).unwrap_err().to_string();
        assert!(
            e.starts_with("the editor's testgen settings: uncoveredSeverity"),
            "{e}"
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.testgen]\nmin_coverage = 120\n",
        )
        .unwrap();
        let py = Layer::from_pyproject(dir.path()).unwrap();
        let e = Config::from_layers([&py]).unwrap_err().to_string();
        assert_eq!(
            e,
            "pyproject.toml [tool.testgen]: minCoverage must be between 0 and 100"
        );
        std::fs::write(dir.path().join("pyproject.toml"), "[tool.testgen\n").unwrap();
        let e = Layer::from_pyproject(dir.path()).unwrap_err().to_string();
        assert!(e.contains("pyproject.toml"), "{e}");
    }

    #[test]
    fn the_python_roots_pyproject_wins_when_it_has_the_table() {
        let dir = tempfile::tempdir().unwrap();
        let backend = dir.path().join("backend");
        std::fs::create_dir_all(&backend).unwrap();
        std::fs::write(
            dir.path().join("pyproject.toml"),
            "[tool.testgen]\ndebounce_ms = 1\n",
        )
        .unwrap();
        let l = pyproject_layer(dir.path(), &backend).unwrap();
        assert_eq!(
            l.values.debounce_ms,
            Some(1),
            "falls back to the repository root"
        );
        std::fs::write(
            backend.join("pyproject.toml"),
            "[tool.testgen]\ndebounce_ms = 2\n",
        )
        .unwrap();
        let l = pyproject_layer(dir.path(), &backend).unwrap();
        assert_eq!(l.values.debounce_ms, Some(2));
        assert_eq!(l.base.as_deref(), Some(backend.as_path()));
    }
}
