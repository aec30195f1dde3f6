//! The command line: parses arguments, calls into the library, prints. Each
//! subcommand lives in its own file and owns its output format.

mod fix_cmd;
mod gaps_cmd;
mod generate_cmd;
mod index_cmd;
mod lsp_cmd;
mod merge_cmd;
mod progress;
mod project_config;
mod prompt_cmd;
mod run_cmd;
mod test_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// testgen finds the untested code of a Python project and writes the missing pytest tests.
#[derive(Debug, Parser)]
#[command(name = "testgen", version, about, long_about = None)]
pub struct Cli {
    /// More log output on stderr (repeat for more). RUST_LOG overrides it.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,
    /// Speak LSP over stdin/stdout (what editors pass; same as `testgen lsp`).
    #[arg(long, global = true)]
    stdio: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Index a Python project: functions, classes, routes, imports, framework, tests.
    Index(index_cmd::Args),
    /// Map coverage.py's Cobertura XML onto functions: what is not tested.
    Gaps(gaps_cmd::Args),
    /// Run the project's pytest with coverage and report results.
    Test(test_cmd::Args),
    /// Write validated tests for the untested code under tests/generated/.
    Generate(generate_cmd::Args),
    /// Repair failing tests' own mistakes; report the bugs they expose in the code.
    Fix(fix_cmd::Args),
    /// The CI pipeline: measure, generate in rounds, validate, report, gate.
    Run(run_cmd::Args),
    /// Combine the results of `testgen run --shard K/N` jobs and gate once.
    Merge(merge_cmd::Args),
    /// Print the exact LLM request for a target, without sending it.
    Prompt(prompt_cmd::Args),
    /// Run the language server over stdio.
    Lsp(lsp_cmd::Args),
}

/// An error that carries the exit code the CLI should end with.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    /// Bad input: a missing path, malformed data. Exit code 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: 2,
            message: message.into(),
        }
    }
}

/// The exit a pipeline error gives: 130 when cancelled, else 2 (the run
/// could not be done), with the error's message.
fn pipeline_failure(e: testgen::pipeline::PipelineError) -> Failure {
    match e {
        testgen::pipeline::PipelineError::Cancelled
        | testgen::pipeline::PipelineError::Generate(testgen::generate::GenerateError::Cancelled) => {
            Failure {
                code: 130,
                message: "cancelled; tests written by finished rounds stay in tests/generated/"
                    .into(),
            }
        }
        other => Failure::usage(other.to_string()),
    }
}

/// Appends the run's summary.md to the GitHub job summary when the job has
/// one (`$GITHUB_STEP_SUMMARY`).
fn append_step_summary(summary: &std::path::Path) {
    let Some(target) = std::env::var_os("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let Ok(text) = std::fs::read(summary) else {
        return;
    };
    use std::io::Write;
    let done = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&target)
        .and_then(|mut f| f.write_all(&text));
    if let Err(e) = done {
        tracing::warn!("could not append to $GITHUB_STEP_SUMMARY: {e}");
    }
}

/// Runs `job` on a fresh multi-threaded runtime; Ctrl-C, SIGTERM (a CI
/// job's cancel, `kill`) and SIGHUP (a closed terminal) cancel the token
/// the job gets, which kills whatever process group it is running and lets
/// it clean up (staging directories, the project lock).
/// The interpreter a command runs the project with: with `--setup`, the
/// project's `.venv` (made and filled first when needed), else `python`.
async fn python_for(
    project: &testgen::workspace::Project,
    python: Option<std::path::PathBuf>,
    setup: bool,
    cancel: &tokio_util::sync::CancellationToken,
) -> Result<Option<std::path::PathBuf>, testgen::runner::RunnerError> {
    if !setup {
        return Ok(python);
    }
    testgen::runner::setup::ensure_venv(
        &project.root,
        &project.python_root,
        python.as_deref(),
        cancel,
    )
    .await
    .map(Some)
}

fn run_cancellable<T, F, Fut>(job: F) -> anyhow::Result<T>
where
    F: FnOnce(tokio_util::sync::CancellationToken) -> Fut,
    Fut: std::future::Future<Output = T>,
{
    use anyhow::Context;
    let rt = runtime().context("starting the async runtime")?;
    let cancel = tokio_util::sync::CancellationToken::new();
    Ok(rt.block_on(async {
        let c = cancel.clone();
        tokio::spawn(async move {
            if let Some(name) = termination().await {
                tracing::warn!("{name}: stopping");
                c.cancel();
            }
        });
        job(cancel).await
    }))
}

/// Waits for SIGINT, SIGTERM or SIGHUP; returns its name.
async fn termination() -> Option<&'static str> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate()).ok()?;
    let mut hup = signal(SignalKind::hangup()).ok()?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r.ok().map(|_| "interrupted"),
        _ = term.recv() => Some("terminated (SIGTERM)"),
        _ = hup.recv() => Some("hung up (SIGHUP)"),
    }
}

/// The async runtime of every command: its threads have a known, large
/// stack, so the files they parse (index/stack.rs) mostly parse inline.
pub(crate) fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    const STACK: usize = 16 << 20;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(STACK)
        .on_thread_start(|| testgen::index::stack::set_thread_stack(STACK))
        .build()
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let result = match cli.command {
        Some(Command::Index(args)) => index_cmd::run(args),
        Some(Command::Gaps(args)) => gaps_cmd::run(args),
        Some(Command::Test(args)) => test_cmd::run(args),
        Some(Command::Generate(args)) => generate_cmd::run(args),
        Some(Command::Fix(args)) => fix_cmd::run(args),
        Some(Command::Run(args)) => run_cmd::run(args),
        Some(Command::Merge(args)) => merge_cmd::run(args),
        Some(Command::Prompt(args)) => prompt_cmd::run(args),
        Some(Command::Lsp(args)) => lsp_cmd::run(args),
        None if cli.stdio => lsp_cmd::run(lsp_cmd::Args::default_limits()),
        None => {
            use clap::CommandFactory;
            let _ = Cli::command().print_help();
            Ok(ExitCode::from(2))
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            let code = err.downcast_ref::<Failure>().map_or(2, |f| f.code);
            eprintln!("testgen: error: {err:#}");
            ExitCode::from(code)
        }
    }
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let default = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    // Logs go to stderr so that --json output on stdout stays parseable.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
