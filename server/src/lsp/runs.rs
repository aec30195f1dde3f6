//! Test runs started by the server: run on save (debounced, affected tests
//! only) and the `testgen.runTests` command. One run at a time per server;
//! a newer save cancels the run in flight (its process group is killed) and
//! the changed files of both are run together. Results refresh every file.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::index::model::RelPath;
use crate::runner::{self, Change, RunOutcome, RunRequest, Selection, TestRun};

use super::session::Session;
use super::state::WorkspaceState;

#[derive(Default)]
pub struct Runs {
    /// Bumped by every save: a debounced run only starts if it is still the newest.
    generation: AtomicU64,
    /// Files saved since the last completed run, per workspace root.
    pending: Mutex<BTreeSet<(std::path::PathBuf, RelPath)>>,
    current: Mutex<Option<CancellationToken>>,
    /// Held for the duration of a run: runs never overlap.
    lock: tokio::sync::Mutex<()>,
}

impl Runs {
    /// Holds off every other run until the guard is dropped (the fixer's
    /// runs must not interleave with a run on save).
    pub async fn exclusive(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.lock.lock().await
    }

    /// Cancels the run in flight, if any.
    pub fn cancel_current(&self) {
        if let Some(t) = self.current.lock().ok().and_then(|c| c.clone()) {
            t.cancel();
        }
    }
}

/// A document was saved: after the debounce, run the tests its lines affect.
pub fn on_save(session: Arc<Session>, runs: Arc<Runs>, ws: Arc<WorkspaceState>, rel: RelPath) {
    let settings = session.config(ws.root());
    if !settings.run_on_save {
        return;
    }
    if let Ok(mut p) = runs.pending.lock() {
        p.insert((ws.root().to_path_buf(), rel));
    }
    let gen = runs.generation.fetch_add(1, Ordering::SeqCst) + 1;
    // A newer save makes the running run obsolete.
    runs.cancel_current();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(settings.debounce_ms)).await;
        if runs.generation.load(Ordering::SeqCst) != gen {
            return;
        }
        let changes: Vec<Change> = runs
            .pending
            .lock()
            .map(|p| {
                p.iter()
                    .filter(|(root, _)| root == ws.root())
                    .map(|(_, rel)| Change {
                        file: rel.clone(),
                        lines: None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let done = run(
            &session,
            &runs,
            &ws,
            Selection::Affected(changes.clone()),
            "on save",
            &CancellationToken::new(),
        )
        .await;
        if done.is_some_and(|r| r.outcome != RunOutcome::Cancelled) {
            if let Ok(mut p) = runs.pending.lock() {
                for c in &changes {
                    p.remove(&(ws.root().to_path_buf(), c.file.clone()));
                }
            }
        }
    });
}

/// Runs tests with progress, then reloads the data and republishes. Errors
/// (no Python, no pytest-cov, a crashed run) are shown, never swallowed.
/// The run stops (its process group killed, the coverage view left as it
/// was) when `cancel` is cancelled, when the user cancels its progress, or
/// when a newer save comes; it then ends as `RunOutcome::Cancelled`.
pub async fn run(
    session: &Arc<Session>,
    runs: &Arc<Runs>,
    ws: &Arc<WorkspaceState>,
    selection: Selection,
    why: &str,
    cancel: &CancellationToken,
) -> Option<TestRun> {
    let _guard = tokio::select! {
        g = runs.lock.lock() => g,
        _ = cancel.cancelled() => return None,
    };
    let token = cancel.child_token();
    if let Ok(mut c) = runs.current.lock() {
        *c = Some(token.clone());
    }
    let settings = session.config(ws.root());
    let task = session
        .progress(&format!("testgen: running tests ({why})"), Some(&token))
        .await;
    let follower = task.follow();
    let percent = follower.value.clone();
    let req = RunRequest {
        python: settings.python.clone(),
        selection,
        timeout: Duration::from_secs(settings.test_timeout_s),
        extra_args: settings.pytest_args.clone(),
        progress: Some(runner::Progress(Arc::new(move |p| {
            percent.store(p, std::sync::atomic::Ordering::Relaxed)
        }))),
    };
    let result = runner::run_tests(&ws.project, &req, &token).await;
    drop(follower);
    if let Ok(mut c) = runs.current.lock() {
        *c = None;
    }
    let run = match result {
        Ok(run) => run,
        Err(e) => {
            task.end("failed").await;
            session
                .show_error(format!("testgen: cannot run the tests: {e}"))
                .await;
            return None;
        }
    };
    let summary = summary(&run);
    task.end(summary.clone()).await;
    match run.outcome {
        RunOutcome::Cancelled => return Some(run),
        RunOutcome::Interrupted
        | RunOutcome::TimedOut
        | RunOutcome::Crashed
        | RunOutcome::InternalError
        | RunOutcome::UsageError => {
            session
                .show_error(format!("testgen: {}", problem(&run)))
                .await;
        }
        _ => tracing::info!("{summary}"),
    }
    session.reload(ws, true).await;
    Some(run)
}

/// What went wrong with a run, in words, with what pytest said: the first
/// collection error's reason, else the last line of its output.
fn problem(run: &TestRun) -> String {
    if let Some(p) = &run.problem {
        return p.clone();
    }
    let first_error = run
        .tests
        .iter()
        .find(|t| t.outcome == crate::runner::TestOutcome::Error)
        .map(|t| format!("{}: {}", t.nodeid, t.reason().unwrap_or_default()));
    let detail = first_error.or_else(|| {
        run.output_tail
            .iter()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim().to_string())
    });
    match detail {
        Some(d) => format!("{} ({d})", run.outcome.describe()),
        None => run.outcome.describe().to_string(),
    }
}

fn summary(run: &TestRun) -> String {
    let c = &run.counts;
    let mut s = format!(
        "{}: {} passed, {} failed, {} errors",
        run.outcome.as_str(),
        c.passed,
        c.failed,
        c.error
    );
    if let Some(cov) = &run.coverage {
        s.push_str(&format!(", coverage {:.1}%", cov.percent));
    }
    if let Some(n) = &run.note {
        s.push_str(&format!(" ({n})"));
    }
    s
}
