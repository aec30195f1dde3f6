//! `testgen generate PATH [--engine auto|explore|llm] [--target path.py::Qualname...]
//! [--budget-s N] [--max-calls N] [--max-tokens N] [--no-cache] [--provider P]
//! [--model M] [--base-url URL] [--seed N] [--allow-unsafe] [--python P]
//! [--setup] [--timeout S] [--json]`: writes validated tests for the
//! project's gaps under `tests/generated/` and reports coverage before and
//! after. Flags override `[tool.testgen]` (docs/configuration.md). Exit 0
//! when it ran (also when some targets were skipped: the report says why),
//! 2 when it could not run.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use testgen::config::EngineChoice;
use testgen::generate::{self, AnyEngine, BaselineKind, BaselineSource, Filter, Limits, Report};

use super::project_config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// Which engine writes the tests [default: auto: the LLM when one is configured, explore otherwise].
    #[arg(long, value_enum)]
    pub engine: Option<EngineChoice>,
    /// Only these functions (path relative to the project root), whatever their coverage.
    #[arg(long, value_name = "PATH.py::QUALNAME", num_args = 1..)]
    pub target: Vec<String>,
    /// Only the functions with a gap in these files (paths relative to the project root).
    #[arg(long, value_name = "PATH.py", num_args = 1.., conflicts_with = "target")]
    pub file: Vec<String>,
    /// Wall-clock safety cap per target, in seconds; the search itself is bounded by calls [default: 30].
    #[arg(long, value_name = "N")]
    pub budget_s: Option<f64>,
    /// Explore: calls tried per target at most (what keeps a seed's output stable) [default: 400].
    /// LLM: requests the whole run may send [default: no cap].
    #[arg(long, value_name = "N")]
    pub max_calls: Option<u32>,
    /// LLM: tokens (prompt and completion) the whole run may use [default: no cap].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// LLM: ask the model even when .testgen/llm-cache/ holds the answer.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
    /// Seed of the search: the same seed gives the same tests [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Also explore functions that delete files, start processes or use the network.
    #[arg(long)]
    pub allow_unsafe: bool,
    /// The Python interpreter [default: $VIRTUAL_ENV, .venv/ or venv/ in the project, python3].
    #[arg(long, value_name = "P")]
    pub python: Option<PathBuf>,
    /// Create .venv when there is none and install the project (and its
    /// requirements) plus pytest and pytest-cov into it first.
    #[arg(long)]
    pub setup: bool,
    /// Limit of each run of the project's test suite, in seconds [default: 600].
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

/// Where LLM requests go (`testgen generate` and `testgen prompt`).
#[derive(Debug, Clone, clap::Args)]
pub struct LlmArgs {
    /// LLM provider [default: llm.provider; AZURE_OPENAI_ENDPOINT selects azure].
    #[arg(long, value_enum)]
    pub provider: Option<testgen::config::Provider>,
    /// LLM model (for Azure: the deployment).
    #[arg(long)]
    pub model: Option<String>,
    /// Base URL of OpenAI, an OpenAI-compatible server, or Azure's endpoint.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,
}

impl LlmArgs {
    pub fn apply(&self, v: &mut testgen::config::layer::LlmValues) {
        v.provider = self.provider;
        v.model.clone_from(&self.model);
        v.base_url.clone_from(&self.base_url);
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut layer = project_config::cli_layer();
    let v = &mut layer.values;
    args.llm.apply(&mut v.llm);
    v.llm.max_calls = args.max_calls;
    v.llm.max_tokens = args.max_tokens;
    v.python = args.python.clone();
    v.engine = args.engine;
    v.test_timeout_s = args.timeout;
    v.explore.budget_s = args.budget_s;
    v.explore.max_calls = args.max_calls;
    v.explore.seed = args.seed;
    v.explore.allow_unsafe = args.allow_unsafe.then_some(true);
    let (project, config) = project_config::load(&args.path, layer)?;
    let how = generate::engine::Choice {
        no_cache: args.no_cache,
    };
    let engine = AnyEngine::choose(config.engine, &config, &project.root, how)
        .map_err(super::Failure::usage)?;
    let filter = if !args.file.is_empty() {
        if let Some(missing) = args.file.iter().find(|f| !project.root.join(f).is_file()) {
            return Err(anyhow::Error::new(super::Failure::usage(format!(
                "--file {missing:?}: no such file under {} (paths are relative to the project root)",
                project.root.display()
            ))));
        }
        Filter::Files(args.file.iter().map(|f| Filter::parse_file(f)).collect())
    } else if args.target.is_empty() {
        Filter::AllGaps
    } else {
        Filter::Functions(
            args.target
                .iter()
                .map(|t| Filter::parse_target(t))
                .collect::<Result<_, _>>()
                .map_err(super::Failure::usage)?,
        )
    };
    let setup = args.setup;
    let result = super::run_cancellable(|cancel| async move {
        let python = super::python_for(&project, config.python.clone(), setup, &cancel).await?;
        let req = generate::Request {
            python,
            filter,
            limits: Limits::from_config(&config),
            baseline: BaselineSource::Measure,
            suite_timeout: Duration::from_secs(config.test_timeout_s),
            pytest_args: config.pytest_args.clone(),
            anytime: Default::default(),
        };
        generate::run(&project, &req, &engine, &cancel).await
    })?;
    let report = result.map_err(|e| match e {
        generate::GenerateError::Cancelled => super::Failure {
            code: 130,
            message: "cancelled; nothing was written".into(),
        },
        other => super::Failure::usage(other.to_string()),
    })?;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut w, &report).context("writing JSON")?;
        writeln!(w)?;
    } else {
        summary(&mut w, &report)?;
    }
    w.flush()?;
    Ok(ExitCode::SUCCESS)
}

fn summary(w: &mut impl Write, r: &Report) -> std::io::Result<()> {
    if r.baseline == BaselineKind::NoTests {
        writeln!(
            w,
            "no tests found: baseline 0% ({} statements, none run)",
            r.coverage_before.statements
        )?;
    }
    for f in &r.files {
        writeln!(w, "wrote {} ({} tests)", f.path, f.tests.len())?;
    }
    for s in &r.skipped {
        writeln!(w, "skipped {}: {}", s.target, s.reason)?;
    }
    // Proposals that add nothing are normal in a search: a count, not a list.
    let (useless, failing): (Vec<_>, Vec<_>) = r
        .dropped
        .iter()
        .partition(|d| d.reason == generate::NO_NEW_COVERAGE);
    for d in failing {
        writeln!(w, "dropped {}::{}: {}", d.file, d.test, d.reason)?;
    }
    if !useless.is_empty() {
        writeln!(
            w,
            "{} proposed tests were not written: they reach nothing the suite misses",
            useless.len()
        )?;
    }
    let after = r
        .coverage_after
        .as_ref()
        .map_or("not measured".to_string(), |c| {
            format!("{:.2}%", c.line_percent)
        });
    for b in &r.suspected_bugs {
        writeln!(
            w,
            "suspected bug in {} ({}:{}): {} raises {}",
            b.target, b.file, b.line, b.input, b.error
        )?;
    }
    if let Some(u) = &r.llm {
        writeln!(
            w,
            "LLM {} {}: {} calls ({} cached), {} prompt + {} completion tokens, est. ${:.4}",
            u.provider,
            u.model,
            u.calls,
            u.cached,
            u.prompt_tokens,
            u.completion_tokens,
            u.cost_usd
        )?;
        if let Some(why) = &u.stopped {
            writeln!(
                w,
                "the run {why}; targets it did not reach are listed as skipped"
            )?;
        }
    }
    writeln!(
        w,
        "{} tests for {} targets in {:.1} s (engine {}, seed {}); line coverage {:.2}% -> {after}",
        r.tests_written,
        r.targets.len(),
        r.duration_s,
        r.engine,
        r.seed,
        r.coverage_before.line_percent,
    )
}
