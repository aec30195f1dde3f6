//! `testgen run [PATH] [--setup] [--engine auto|explore|llm] [--min-coverage N]
//! [--min-delta N] [--iterations N] [--diff BASE] [--shard K/N]
//! [--format text|github|sarif] [--json]`: the CI pipeline end to end (src/pipeline/). Exit 0 when the
//! gates pass, 1 when one fails, 2 when the run could not be done.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use testgen::config::EngineChoice;
use testgen::generate::AnyEngine;
use testgen::pipeline::{self, render, Options, RunReport, Shard};
use testgen::workspace::artifacts;

use super::{progress, project_config};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A summary for people.
    Text,
    /// GitHub Actions workflow commands: annotations for uncovered functions, suspected bugs and failed gates.
    Github,
    /// Also write .testgen/testgen.sarif (SARIF 2.1.0) for code scanning.
    Sarif,
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory [default: $TARGET_ROOT, else the current directory].
    pub path: Option<PathBuf>,
    /// Create .venv when there is none and install the project and its requirements plus pytest and pytest-cov first.
    #[arg(long)]
    pub setup: bool,
    /// Which engine writes the tests [default: auto: the LLM when one is configured, explore otherwise].
    #[arg(long, value_enum)]
    pub engine: Option<EngineChoice>,
    /// The coverage gate, percent; above 100 always fails [default: 90; MIN_COVERAGE_THRESHOLD].
    #[arg(long, value_name = "N")]
    pub min_coverage: Option<f64>,
    /// Coverage must rise by at least this many points [default: 0].
    #[arg(long, value_name = "N")]
    pub min_delta: Option<f64>,
    /// Generation rounds at most [default: 3].
    #[arg(long, value_name = "N")]
    pub iterations: Option<u32>,
    /// Pull-request mode: only the functions changed since this git revision are targets, and the gates are the changed lines' coverage.
    #[arg(long, value_name = "BASE")]
    pub diff: Option<String>,
    /// LLM: requests the whole run may send [default: no cap].
    #[arg(long, value_name = "N")]
    pub max_llm_calls: Option<u32>,
    /// LLM: tokens (prompt and completion) the whole run may use [default: no cap].
    #[arg(long, value_name = "N")]
    pub max_tokens: Option<u64>,
    /// Only this job's deterministic share of the files (a CI matrix); merge with `testgen merge`.
    #[arg(long, value_name = "K/N", value_parser = Shard::parse)]
    pub shard: Option<Shard>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The Python interpreter [default: $VIRTUAL_ENV, .venv/ or venv/ in the project, python3].
    #[arg(long, value_name = "P")]
    pub python: Option<PathBuf>,
    /// Wall-clock safety cap per target, in seconds; the search itself is bounded by calls [default: 30].
    #[arg(long, value_name = "N")]
    pub budget_s: Option<f64>,
    /// Seed of the search: the same seed gives the same tests [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Limit of each run of the project's test suite, in seconds [default: 600].
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
    /// Write the fixer's verified fixes into the project's failing tests (otherwise they are only reported).
    #[arg(long)]
    pub fix_user_tests: bool,
    /// Ask the LLM even when .testgen/llm-cache/ has the answer.
    #[arg(long)]
    pub no_cache: bool,
    /// Print the report as one JSON object (iteration_report.json) instead.
    #[arg(long)]
    pub json: bool,
    /// Generate nothing: print how much generation the project needs and how many `--shard K/N` jobs finish it within a CI job's time (from the last run's measured costs, else defaults).
    #[arg(long)]
    pub plan: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let path = args
        .path
        .clone()
        .or_else(|| std::env::var_os("TARGET_ROOT").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("."));
    let mut layer = project_config::cli_layer();
    let v = &mut layer.values;
    v.python = args.python.clone();
    v.engine = args.engine;
    v.test_timeout_s = args.timeout;
    v.explore.budget_s = args.budget_s;
    v.explore.seed = args.seed;
    v.run.min_delta = args.min_delta;
    v.run.iterations = args.iterations;
    v.llm.max_calls = args.max_llm_calls;
    v.llm.max_tokens = args.max_tokens;
    let (project, config) = project_config::load(&path, layer)?;
    let how = testgen::generate::engine::Choice {
        no_cache: args.no_cache,
    };
    let engine = AnyEngine::choose(config.engine, &config, &project.root, how)
        .map_err(super::Failure::usage)?;
    let mut opts = Options::from_config(&config);
    opts.shard = args.shard;
    opts.fix_user_tests = args.fix_user_tests;
    opts.diff = args.diff.clone();
    // A flag may ask for more than 100%: a gate that cannot pass, to check
    // a workflow's failure path. Settings files keep 0-100.
    if let Some(m) = args.min_coverage {
        if !(m.is_finite() && m >= 0.0) {
            return Err(super::Failure::usage("--min-coverage must be a number >= 0").into());
        }
        opts.min_coverage = m;
    }
    let setup = args.setup;
    if args.plan {
        return plan(&project, &opts, setup, args.json);
    }
    let show = progress::Progress::new();
    let project = &project;
    let result = super::run_cancellable(|cancel| {
        let show = &show;
        async move {
            if setup {
                show.step("setting up the project's environment (.venv)");
                opts.python = super::python_for(project, opts.python.take(), true, &cancel)
                    .await
                    .map_err(pipeline::PipelineError::from)?;
            }
            let events = |e: pipeline::Event| show.event(e);
            pipeline::run(project, &opts, &engine, &events, &cancel).await
        }
    })?;
    show.finish();
    let report = result.map_err(super::pipeline_failure)?;
    print_report(args.format, args.json, &project.root, &report)?;
    if let Some(shard) = args.shard {
        // A shard covers a part: `testgen merge` gates the whole.
        eprintln!("testgen: shard {shard}: the gates apply to the merged result (testgen merge)");
        Ok(ExitCode::SUCCESS)
    } else if report.passed {
        Ok(ExitCode::SUCCESS)
    } else {
        Ok(ExitCode::from(1))
    }
}

pub fn print_report(
    format: Format,
    json: bool,
    root: &std::path::Path,
    report: &RunReport,
) -> anyhow::Result<()> {
    let dir = root.join(artifacts::DIR);
    if format == Format::Sarif {
        let log = render::sarif::log(report);
        let bytes = serde_json::to_vec_pretty(&log)?;
        artifacts::write_atomic(&dir.join("testgen.sarif"), &bytes)
            .context("writing .testgen/testgen.sarif")?;
    }
    super::append_step_summary(&dir.join("summary.md"));
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    if json {
        serde_json::to_writer(&mut w, report).context("writing JSON")?;
        writeln!(w)?;
    } else {
        if format == Format::Github {
            w.write_all(render::annotations::commands(report).as_bytes())?;
        }
        render::terminal::summary(&mut w, report, &dir)?;
        if format == Format::Sarif {
            writeln!(w, "sarif: {}", dir.join("testgen.sarif").display())?;
        }
    }
    w.flush()?;
    Ok(())
}

/// `--plan`: the targets a run would take, priced with the measured costs.
fn plan(
    project: &testgen::workspace::Project,
    opts: &Options,
    setup: bool,
    json: bool,
) -> anyhow::Result<ExitCode> {
    use testgen::pipeline::sizing::{self, Costs, Sizing};
    let costs_file = project.root.join(artifacts::DIR).join(sizing::COSTS_FILE);
    let costs: Costs = std::fs::read(&costs_file)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(sizing::DEFAULT_COSTS);
    let targets = super::run_cancellable(|cancel| async move {
        let python = super::python_for(project, opts.python.clone(), setup, &cancel)
            .await
            .map_err(testgen::generate::GenerateError::from)?;
        let index = testgen::index::Index::build(project);
        let req = testgen::generate::Request {
            python,
            filter: testgen::generate::Filter::AllGaps,
            limits: opts.limits.clone(),
            baseline: testgen::generate::BaselineSource::Existing,
            suite_timeout: opts.suite_timeout,
            pytest_args: opts.pytest_args.clone(),
            anytime: Default::default(),
        };
        testgen::generate::targets_for(project, &index, &req, &cancel)
            .await
            .map(|(t, _, _)| t)
    })?
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let limit = opts.generation_timeout.as_secs_f64();
    let sizes: Vec<Sizing> = [2, 4]
        .iter()
        .map(|c| Sizing::of(&targets, costs, *c))
        .collect();
    if json {
        println!("{}", serde_json::to_string(&sizes)?);
    } else {
        for s in &sizes {
            println!("On a runner of {} cores:\n{}", s.cores, s.render(limit));
        }
    }
    Ok(ExitCode::SUCCESS)
}
