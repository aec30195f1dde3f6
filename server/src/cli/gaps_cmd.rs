//! `testgen gaps`.

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory.
    pub path: std::path::PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    Err(super::Failure::usage(format!(
        "`testgen gaps` is not available yet ({})",
        args.path.display()
    ))
    .into())
}
