//! `testgen test PATH [--python P] [--only NODEID...] [--affected FILE[:A-B]...]
//! [--timeout S] [--setup] [--json] [-- extra pytest args]`: runs the
//! project's pytest with coverage. Exit 0 when the tests pass (or none were
//! collected / selected), 1 when tests fail or error, 2 when testgen could
//! not get a result (no interpreter, missing pytest-cov, timeout, pytest's
//! own usage or internal error).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use testgen::runner::{self, Change, RunOutcome, RunRequest, Selection, TestOutcome, TestRun};

use super::project_config;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: PathBuf,
    /// The Python interpreter [default: $VIRTUAL_ENV, .venv/ or venv/ in the project, python3].
    #[arg(long, value_name = "P")]
    pub python: Option<PathBuf>,
    /// Run only these pytest node ids (relative to the Python root).
    #[arg(long, value_name = "NODEID", num_args = 1.., conflicts_with = "affected")]
    pub only: Vec<String>,
    /// Run only the tests whose recorded coverage touches these lines.
    #[arg(long, value_name = "FILE[:A-B]", num_args = 1..)]
    pub affected: Vec<String>,
    /// Kill pytest (and everything it started) after this many seconds [default: 600].
    #[arg(long, value_name = "S")]
    pub timeout: Option<u64>,
    /// Create .venv when there is none and install the project's
    /// requirements plus pytest and pytest-cov into it first.
    #[arg(long)]
    pub setup: bool,
    /// Print the run as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Extra arguments for pytest, after `--`.
    #[arg(last = true, value_name = "PYTEST_ARGS")]
    pub pytest_args: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut layer = project_config::cli_layer();
    layer.values.python = args.python.clone();
    layer.values.test_timeout_s = args.timeout;
    if !args.pytest_args.is_empty() {
        layer.values.pytest_args = Some(args.pytest_args.clone());
    }
    let (project, config) = project_config::load(&args.path, layer)?;
    let selection = if !args.only.is_empty() {
        Selection::Only(args.only.clone())
    } else if !args.affected.is_empty() {
        let changes = args
            .affected
            .iter()
            .map(|s| Change::parse(s, &project.root))
            .collect::<Result<Vec<_>, _>>()
            .map_err(super::Failure::usage)?;
        Selection::Affected(changes)
    } else {
        Selection::All
    };
    let timeout = config.test_timeout_s;
    let result = super::run_cancellable(|cancel| async move {
        let python =
            super::python_for(&project, config.python.clone(), args.setup, &cancel).await?;
        let req = RunRequest {
            python,
            selection,
            timeout: Duration::from_secs(timeout),
            extra_args: config.pytest_args.clone(),
            progress: None,
        };
        runner::run_tests(&project, &req, &cancel).await
    })?;
    let run = result.map_err(|e| super::Failure::usage(e.to_string()))?;

    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::new(stdout.lock());
    if args.json {
        serde_json::to_writer(&mut w, &run).context("writing JSON")?;
        writeln!(w)?;
    } else {
        summary(&mut w, &run)?;
    }
    w.flush()?;
    Ok(exit_code(&run, timeout))
}

fn exit_code(run: &TestRun, timeout: u64) -> ExitCode {
    if let Some(problem) = &run.problem {
        eprintln!("testgen: error: {problem}");
        return ExitCode::from(2);
    }
    let problem = match run.outcome {
        RunOutcome::Passed | RunOutcome::NoTestsCollected | RunOutcome::NoTestsSelected => {
            return ExitCode::SUCCESS
        }
        RunOutcome::TestsFailed => return ExitCode::from(1),
        // Collection errors interrupt pytest; they are the project's errors.
        RunOutcome::Interrupted if run.counts.error > 0 => return ExitCode::from(1),
        RunOutcome::Interrupted => "pytest was interrupted".to_string(),
        RunOutcome::InternalError => "pytest hit an internal error".to_string(),
        RunOutcome::UsageError => "pytest rejected its arguments or configuration".to_string(),
        RunOutcome::TimedOut => {
            format!("pytest did not finish within {timeout} s; it was killed with every process it started")
        }
        RunOutcome::Cancelled => "cancelled; pytest was killed".to_string(),
        RunOutcome::Crashed => "pytest crashed".to_string(),
    };
    let last = run
        .output_tail
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| format!(": {}", l.trim()))
        .unwrap_or_default();
    eprintln!("testgen: error: {problem}{last}");
    ExitCode::from(2)
}

fn summary(w: &mut impl Write, run: &TestRun) -> std::io::Result<()> {
    if let Some(note) = &run.note {
        writeln!(w, "note: {note}")?;
    }
    for t in &run.tests {
        if matches!(t.outcome, TestOutcome::Failed | TestOutcome::Error) {
            let place = match (&t.file, t.line) {
                (Some(f), Some(l)) => format!(" ({f}:{l})"),
                _ => String::new(),
            };
            let msg = t.message.as_deref().unwrap_or("");
            let kind = if t.outcome == TestOutcome::Failed {
                "FAILED"
            } else {
                "ERROR"
            };
            writeln!(w, "{kind} {}{place}: {msg}", t.nodeid)?;
        }
    }
    let c = &run.counts;
    let mut parts = Vec::new();
    for (n, label) in [
        (c.passed, "passed"),
        (c.failed, "failed"),
        (c.error, "error"),
        (c.skipped, "skipped"),
        (c.xfailed, "xfailed"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {label}"));
        }
    }
    if parts.is_empty() {
        parts.push("no tests ran".into());
    }
    write!(w, "{} in {:.2}s", parts.join(", "), run.duration_s)?;
    if let Some(cov) = &run.coverage {
        write!(
            w,
            " · coverage {:.2}% ({} of {} statements missing)",
            cov.percent, cov.missing, cov.statements
        )?;
    }
    writeln!(w, " · {}", run.outcome.describe())?;
    writeln!(
        w,
        "python: {} (pytest {}, pytest-cov {}, coverage {})",
        run.python.display(),
        run.toolchain.pytest,
        run.toolchain.pytest_cov,
        run.toolchain.coverage
    )?;
    writeln!(w, "artifacts: {}", run.artifacts.dir.display())
}
