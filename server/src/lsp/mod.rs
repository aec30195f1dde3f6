//! The language server (`testgen lsp`, `testgen --stdio`): a thin protocol
//! layer (`server.rs`) over a session (`session.rs`: documents, workspaces,
//! settings), per-workspace state (`state.rs`: index + measured data turned
//! into per-file `facts.rs`), pure renderers (`render.rs`: diagnostics,
//! lenses), and background work (`runs.rs`: run on save, `watch.rs`:
//! changes outside the editor). `line_map.rs` keeps measured lines on the
//! right buffer lines while the user types.

mod background;
mod commands;
mod coverage_view;
pub mod document;
mod error;
mod facts;
mod handlers;
mod import_facts;
mod indexing;
pub mod line_map;
mod progress;
mod render;
mod runs;
mod server;
mod session;
mod state;
mod transport;
#[cfg(test)]
mod transport_fuzz;
mod watch;

use tower_lsp_server::{LspService, Server};

/// Messages handled at once (tower-lsp-server's default is 4).
const CONCURRENCY: usize = 64;

/// Serves LSP over stdin/stdout until the client says exit; true when it
/// asked for `shutdown` first (the process then exits 0, else 1). Messages
/// over `max_body` bytes are refused.
pub async fn serve_stdio(max_body: usize) -> bool {
    background::lower_rayon_priority();
    // The server talks to in-process pipes; `transport` guards the real stdio.
    let (server_in, client_side_in) = tokio::io::duplex(1 << 20);
    let (server_out, client_side_out) = tokio::io::duplex(1 << 20);
    let (errors_tx, errors_rx) = tokio::sync::mpsc::unbounded_channel();
    let (ended_tx, ended_rx) = tokio::sync::oneshot::channel();
    let clean = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    tokio::spawn(transport::pump_input(
        tokio::io::stdin(),
        client_side_in,
        errors_tx,
        ended_tx,
        max_body,
        clean.clone(),
    ));
    let output = tokio::spawn(transport::pump_output(
        client_side_out,
        tokio::io::stdout(),
        errors_rx,
    ));
    let (service, socket) = LspService::build(server::Backend::new)
        .custom_method(
            "window/workDoneProgress/cancel",
            server::Backend::work_done_progress_cancel,
        )
        .custom_method("testgen/coverageSummary", server::Backend::coverage_summary)
        .custom_method("testgen/fileCoverage", server::Backend::file_coverage)
        .custom_method("testgen/testsForLine", server::Backend::tests_for_line)
        .finish();
    // Long commands (a generation, a run) each hold one of these until they
    // end; the rest of the server must keep answering meanwhile.
    let serve = Server::new(server_in, server_out, socket)
        .concurrency_level(CONCURRENCY)
        .serve(service);
    // tower-lsp-server dispatches `exit` only when a handler slot is free; a
    // handler still waiting (indexing a large workspace, a run) must not keep
    // the process alive after the client said exit or went away.
    let over = async move {
        if ended_rx.await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        } else {
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        _ = serve => {}
        _ = over => tracing::info!("client ended the session; pending handlers abandoned"),
    }
    // The server's pipe is closed now: flush what is left to stdout.
    let _ = tokio::time::timeout(std::time::Duration::from_secs(2), output).await;
    clean.load(std::sync::atomic::Ordering::SeqCst)
}

pub use transport::DEFAULT_MAX_BODY;

/// Stops the server's background work (indexing, runs, generation: their
/// processes are killed), waiting up to `timeout`. Call after
/// [`serve_stdio`] returned, outside the runtime that ran it.
pub fn stop_background(timeout: std::time::Duration) {
    background::shutdown(timeout);
}
