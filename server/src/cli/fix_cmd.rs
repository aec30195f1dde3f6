//! `testgen fix PATH [--test NODEID...] [--max-iterations N] [--python P]
//! [--timeout S] [--no-cache] [--provider/--model/--base-url] [--json]`:
//! repairs the failing tests' own mistakes and reports the code's bugs
//! (`fix::run`, with the LLM when one is configured), writing
//! `.testgen/auto_fixer_report.json`. Exit 0 when every test mistake was
//! fixed and no code bug was found, 1 otherwise, 2 on bad input or when
//! pytest could not run.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use testgen::fix::{self, FixOutcome, Report};
use testgen::generate::Limits;

use super::generate_cmd::LlmArgs;
use super::project_config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// Only these failing tests (pytest node ids relative to the Python root) [default: every failing test].
    #[arg(long = "test", value_name = "NODEID", num_args = 1..)]
    pub tests: Vec<String>,
    /// Rounds of run → fix at most; the loop also stops when a round fixes nothing.
    #[arg(long, value_name = "N", default_value_t = fix::DEFAULT_MAX_ITERATIONS,
          value_parser = clap::value_parser!(u32).range(1..=20))]
    pub max_iterations: u32,
    /// The Python interpreter [default: $VIRTUAL_ENV, .venv/ or venv/ in the project, python3].
    #[arg(long, value_name = "P")]
    pub python: Option<PathBuf>,
    /// Limit of each pytest run, in seconds [default: 600].
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
    /// LLM: ask the model even when .testgen/llm-cache/ holds the answer.
    #[arg(long)]
    pub no_cache: bool,
    #[command(flatten)]
    pub llm: LlmArgs,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut layer = project_config::cli_layer();
    layer.values.python = args.python.clone();
    layer.values.test_timeout_s = args.timeout;
    args.llm.apply(&mut layer.values.llm);
    let (project, config) = project_config::load(&args.path, layer)?;
    if let Some(bad) = args
        .tests
        .iter()
        .find(|t| t.trim().is_empty() || t.starts_with('-'))
    {
        return Err(super::Failure::usage(format!(
            "--test {bad:?}: expected a pytest node id such as tests/test_a.py::test_b"
        ))
        .into());
    }
    let req = fix::Request {
        python: config.python.clone(),
        tests: args.tests.clone(),
        max_iterations: args.max_iterations,
        timeout: Duration::from_secs(config.test_timeout_s),
        pytest_args: config.pytest_args.clone(),
        sandbox: Limits::from_config(&config).confinement(),
        apply: fix::Apply::Write,
    };
    let no_cache = args.no_cache;
    let result = super::run_cancellable(|cancel| async move {
        // The model when an LLM is configured (as generation resolves it);
        // without one, the deterministic fixes only.
        let model = fix::llm::from_config(&config, &project.root, no_cache, &cancel)
            .map_err(super::Failure::usage)?;
        fix::run(&project, &req, model.as_ref(), &cancel)
            .await
            .map_err(|e| match e {
                fix::FixError::Cancelled => super::Failure {
                    code: 130,
                    message: "cancelled; test files not yet fixed are unchanged".into(),
                },
                other => super::Failure::usage(other.to_string()),
            })
    })?;
    let fixed = result?;
    let report = fixed.report;
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut w, &report).context("writing JSON")?;
        writeln!(w)?;
    } else {
        summary(&mut w, &report)?;
    }
    w.flush()?;
    Ok(if report.all_fixed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary(w: &mut impl Write, r: &Report) -> std::io::Result<()> {
    if r.failures.is_empty() {
        writeln!(w, "no failing tests")?;
    }
    for f in &r.failures {
        let what = match f.outcome {
            FixOutcome::Fixed => "fixed",
            FixOutcome::CodeBug => "code bug",
            FixOutcome::Unfixed => "not fixed",
            FixOutcome::NeedsModel => "not fixed (needs an LLM)",
        };
        writeln!(w, "{what}: {} — {}", f.nodeid, f.reason)?;
        if let Some(a) = f.attempts.iter().rev().find(|a| a.result == "passed") {
            writeln!(w, "    {} ({})", a.description, a.by)?;
        }
    }
    for b in &r.suspected_bugs {
        writeln!(
            w,
            "suspected bug in {} ({}:{}): {} on {}",
            b.target, b.file, b.line, b.error, b.input
        )?;
    }
    for n in &r.notes {
        writeln!(w, "note: {n}")?;
    }
    if let Some(u) = &r.llm {
        writeln!(
            w,
            "{}: {} calls ({} cached), {} tokens, ~${:.4}",
            r.model.as_deref().unwrap_or("llm"),
            u.calls,
            u.cached,
            u.prompt_tokens + u.completion_tokens,
            u.cost_usd
        )?;
    }
    let s = &r.summary;
    writeln!(
        w,
        "{} failing tests: {} fixed, {} code bugs, {} not fixed ({} iterations, {:.1} s); report in .testgen/{}",
        s.failures,
        s.fixed,
        s.code_bugs,
        s.unfixed + s.needs_model,
        r.iterations,
        r.duration_s,
        fix::report::FILE
    )
}
