//! `testgen lsp [--max-message-mb N]` / `testgen --stdio`: the language
//! server over stdio. Logs go to stderr (stdout carries the protocol). Exit
//! code 0 when the client asked for `shutdown` before `exit`, else 1.

use std::process::ExitCode;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Refuse messages larger than this, in MiB (a document that large is
    /// not source code; buffering it would exhaust memory).
    #[arg(long, value_name = "N", default_value_t = (testgen::lsp::DEFAULT_MAX_BODY >> 20) as u64)]
    pub max_message_mb: u64,
}

impl Args {
    /// `testgen --stdio` takes no options of its own.
    pub fn default_limits() -> Args {
        Args {
            max_message_mb: (testgen::lsp::DEFAULT_MAX_BODY >> 20) as u64,
        }
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if args.max_message_mb == 0 {
        return Err(super::Failure::usage("--max-message-mb must be at least 1").into());
    }
    let rt = super::runtime().context("starting the async runtime")?;
    let max = usize::try_from(args.max_message_mb << 20).unwrap_or(usize::MAX);
    let clean = rt.block_on(testgen::lsp::serve_stdio(max));
    // Whatever the runtime still runs (a pytest being killed, a watcher)
    // must not keep the process alive after `exit`.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    testgen::lsp::stop_background(std::time::Duration::from_secs(2));
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
