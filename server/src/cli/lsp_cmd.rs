//! `testgen lsp` / `testgen --stdio`: the language server over stdio. Logs
//! go to stderr (stdout carries the protocol).

use std::process::ExitCode;

use anyhow::Context;

pub fn run() -> anyhow::Result<ExitCode> {
    let rt = super::runtime().context("starting the async runtime")?;
    rt.block_on(testgen::lsp::serve_stdio());
    // Whatever the runtime still runs (a pytest being killed, a watcher)
    // must not keep the process alive after `exit`.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    Ok(ExitCode::SUCCESS)
}
