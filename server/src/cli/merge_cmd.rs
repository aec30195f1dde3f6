//! `testgen merge PATH DIR... [--min-coverage N] [--min-delta N]
//! [--format text|github|sarif] [--json]`: combines the `.testgen/`
//! directories of `testgen run --shard K/N` jobs into PATH (one
//! tests/generated/, one coverage report, one summary) and applies the
//! gates once. Exit codes as `testgen run`.

use std::path::PathBuf;
use std::process::ExitCode;

use testgen::pipeline::{self, Options};
use testgen::runner::python;

use super::project_config;
use super::run_cmd::Format;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project checkout to merge into.
    pub path: PathBuf,
    /// The shards' artifact directories (each one's .testgen/).
    #[arg(required = true, num_args = 1..)]
    pub shards: Vec<PathBuf>,
    /// The coverage gate, percent [default: 90].
    #[arg(long, value_name = "N")]
    pub min_coverage: Option<f64>,
    /// Coverage must rise by at least this many points [default: 0].
    #[arg(long, value_name = "N")]
    pub min_delta: Option<f64>,
    /// How to print the result.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// The Python interpreter that has coverage.py.
    #[arg(long, value_name = "P")]
    pub python: Option<PathBuf>,
    /// Print the report as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut layer = project_config::cli_layer();
    layer.values.python = args.python.clone();
    layer.values.min_coverage = args.min_coverage;
    layer.values.run.min_delta = args.min_delta;
    let (project, config) = project_config::load(&args.path, layer)?;
    let opts = Options::from_config(&config);
    let interp = python::discover(
        config.python.as_deref(),
        &project.root,
        &project.python_root,
    )
    .map_err(|e| super::Failure::usage(e.to_string()))?;
    let shards = args.shards.clone();
    let result = super::run_cancellable(|cancel| async move {
        pipeline::merge::merge(&project, &shards, &opts, &interp.path, &cancel).await
    })?;
    let report = result.map_err(super::pipeline_failure)?;
    let root = std::fs::canonicalize(&args.path).unwrap_or(args.path.clone());
    super::run_cmd::print_report(args.format, args.json, &root, &report)?;
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
