//! The first index of the workspace folders, in the background with a
//! percentage: loads their coverage and results, publishes everything,
//! starts watching. Until it ends, requests are answered with what is known
//! (nothing) and saves wait in their own tasks; documents opened meanwhile
//! are laid over the fresh index, their buffers winning over the disk.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tower_lsp_server::ls_types::Uri;

use super::progress;
use super::runs::Runs;
use super::session::Session;
use super::state::WorkspaceState;
use super::watch::{self, WatchHandle};

pub async fn index_folders(
    session: &Arc<Session>,
    _runs: &Arc<Runs>,
    watchers: &Arc<Mutex<Vec<WatchHandle>>>,
) {
    let folders = session
        .folders
        .read()
        .map(|f| f.clone())
        .unwrap_or_default();
    let task = session.progress("testgen: indexing", None).await;
    let mut opened = Vec::new();
    for root in folders {
        match open_one(&task, root).await {
            Ok((ws, problems)) => {
                for p in problems {
                    session.show_error(p).await;
                }
                opened.push(Arc::new(ws));
            }
            Err(e) => session.show_error(format!("testgen: {e}")).await,
        }
    }
    let files: usize = opened.iter().map(|w| w.index.len()).sum();
    if let Ok(mut w) = session.workspaces.write() {
        *w = opened.clone();
    }
    session.set_ready();
    for d in session.docs.iter() {
        if let Ok(uri) = d.key().parse::<Uri>() {
            if let Some(loc) = session.locate(&uri) {
                loc.ws.index.reindex_file(&loc.rel, d.text().as_bytes());
            }
        }
    }
    task.end(format!("{files} Python files indexed")).await;
    for ws in &opened {
        match watch::start(session.clone(), ws.clone()) {
            Ok(h) => watchers.lock().unwrap_or_else(|e| e.into_inner()).push(h),
            Err(e) => tracing::warn!("{e}"),
        }
        session.notify_coverage(ws).await;
    }
    session.publish_all().await;
    session.refresh_lenses().await;
}

/// Why a folder could not be opened: shown to the user as is.
#[derive(Debug, thiserror::Error)]
enum OpenError {
    #[error(transparent)]
    Workspace(#[from] crate::workspace::WorkspaceError),
    #[error("indexing failed: {0}")]
    Stopped(#[from] tokio::task::JoinError),
}

/// One folder: discover, index (counting files for the percentage), load.
async fn open_one(
    task: &progress::Task,
    root: std::path::PathBuf,
) -> Result<(WorkspaceState, Vec<String>), OpenError> {
    let done = Arc::new(AtomicUsize::new(0));
    let total = Arc::new(AtomicUsize::new(0));
    let follower = task.follow();
    let (d, t) = (done.clone(), total.clone());
    let job = tokio::task::spawn_blocking(move || {
        let ws = WorkspaceState::open(&root, Some((&d, &t)))?;
        let report = ws.reload();
        Ok::<_, crate::workspace::WorkspaceError>((ws, report.problems))
    });
    tokio::pin!(job);
    // The percentage: files indexed of the folder's files (known once its
    // walk ends; until then, 0).
    let result = loop {
        tokio::select! {
            r = &mut job => break r,
            _ = tokio::time::sleep(std::time::Duration::from_millis(100)) => {
                let t = total.load(Ordering::Relaxed).max(1);
                let pct = (100 * done.load(Ordering::Relaxed) / t).min(99) as u32;
                follower.value.store(pct, Ordering::Relaxed);
            }
        }
    };
    drop(follower);
    Ok(result??)
}
