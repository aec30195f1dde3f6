//! `testgen generate PATH [--engine explore] [--target path.py::Qualname...]
//! [--budget-s N] [--seed N] [--python P] [--json]`: writes validated tests
//! for the project's gaps under `tests/generated/` and reports coverage
//! before and after. Exit 0 when it ran (also when some targets were
//! skipped: the report says why), 2 when it could not run.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use testgen::generate::{self, explore, Baseline, Engine, Filter, Report};
use testgen::workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EngineArg {
    /// Offline, coverage-guided exploration in the project's interpreter.
    Explore,
    /// A language model (OpenAI-compatible API).
    Llm,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// Which engine writes the tests.
    #[arg(long, value_enum, default_value_t = EngineArg::Explore)]
    pub engine: EngineArg,
    /// Only these functions (path relative to the project root), whatever their coverage.
    #[arg(long, value_name = "PATH.py::QUALNAME", num_args = 1..)]
    pub target: Vec<String>,
    /// Wall-clock cap per target, in seconds.
    #[arg(long, value_name = "N", default_value_t = 10.0)]
    pub budget_s: f64,
    /// Calls tried per target at most (what keeps a seed's output stable).
    #[arg(long, value_name = "N", default_value_t = 400)]
    pub max_calls: u32,
    /// Seed of the search: the same seed gives the same tests.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also explore functions that delete files, start processes or use the network.
    #[arg(long)]
    pub allow_unsafe: bool,
    /// The Python interpreter [default: $VIRTUAL_ENV, .venv/ or venv/ in the project, python3].
    #[arg(long, value_name = "P")]
    pub python: Option<PathBuf>,
    /// Limit of each run of the project's test suite, in seconds.
    #[arg(long, value_name = "S", default_value_t = 600)]
    pub timeout: u64,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let engine = match args.engine {
        EngineArg::Explore => Engine::Explore,
        EngineArg::Llm => {
            return Err(super::Failure::usage(
                "the llm engine is not available yet; use --engine explore (the default, no API key needed)",
            )
            .into())
        }
    };
    if !(args.budget_s > 0.0 && args.budget_s <= 3600.0) {
        return Err(super::Failure::usage("--budget-s must be between 0 and 3600").into());
    }
    if args.timeout == 0 || args.max_calls == 0 {
        return Err(super::Failure::usage("--timeout and --max-calls must be at least 1").into());
    }
    let project =
        workspace::discover(&args.path).map_err(|e| super::Failure::usage(e.to_string()))?;
    let filter = if args.target.is_empty() {
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
    let req = generate::Request {
        python: args.python.clone(),
        engine,
        filter,
        settings: explore::Settings {
            budget_s: args.budget_s,
            max_calls: args.max_calls,
            seed: args.seed,
            allow_unsafe: args.allow_unsafe,
            ..explore::Settings::default()
        },
        baseline: Baseline::Measure,
        suite_timeout: Duration::from_secs(args.timeout),
    };
    let result =
        super::run_cancellable(
            |cancel| async move { generate::run(&project, &req, &cancel).await },
        )?;
    let report = result.map_err(|e| super::Failure::usage(e.to_string()))?;
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
    writeln!(
        w,
        "{} tests for {} targets in {:.1} s (engine {}, seed {}); line coverage {:.2}% -> {after}",
        r.tests_written,
        r.targets.len(),
        r.duration_s,
        r.engine.as_str(),
        r.seed,
        r.coverage_before.line_percent,
    )
}
