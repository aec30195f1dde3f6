//! Changes made outside the editor: a `git checkout`, a pytest run in a
//! terminal rewriting coverage.xml. A `notify` watcher per workspace folder
//! feeds a debounced task that re-indexes changed Python files that are not
//! open (open ones follow their buffer) and reloads coverage and results.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode, EventKind};
use notify::{RecursiveMode, Watcher};
use tower_lsp_server::ls_types::Uri;

use super::session::Session;
use super::state::WorkspaceState;

/// Keeps the watcher alive; dropping it stops watching.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
}

/// Why a folder cannot be watched (the server then works without noticing
/// changes made outside the editor).
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("cannot watch files: {0}")]
    Start(notify::Error),
    #[error("cannot watch {}: {source}", path.display())]
    Folder {
        path: PathBuf,
        source: notify::Error,
    },
}

pub fn start(session: Arc<Session>, ws: Arc<WorkspaceState>) -> Result<WatchHandle, WatchError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = notify::recommended_watcher(move |res: notify::Result<notify::Event>| {
        if let Ok(ev) = res {
            if is_read_only_access(&ev.kind) {
                return;
            }
            for p in ev.paths {
                let _ = tx.send(p);
            }
        }
    })
    .map_err(WatchError::Start)?;
    watcher
        .watch(ws.root(), RecursiveMode::Recursive)
        .map_err(|source| WatchError::Folder {
            path: ws.root().to_path_buf(),
            source,
        })?;
    tokio::spawn(async move {
        while let Some(first) = rx.recv().await {
            let mut batch = BTreeSet::from([first]);
            // Collect what arrives together (a checkout touches many files).
            tokio::time::sleep(Duration::from_millis(200)).await;
            while let Ok(p) = rx.try_recv() {
                batch.insert(p);
            }
            handle(&session, &ws, batch).await;
        }
    });
    Ok(WatchHandle { _watcher: watcher })
}

async fn handle(session: &Arc<Session>, ws: &Arc<WorkspaceState>, batch: BTreeSet<PathBuf>) {
    let mut reload = false;
    let mut changed_sources = Vec::new();
    for p in batch {
        if p == ws.root().join("pyproject.toml")
            || p == ws.project.python_root.join("pyproject.toml")
        {
            if let Err(e) = session.recompute_configs() {
                session.show_error(format!("testgen: {e}")).await;
            }
            reload = true;
        } else if is_data_file(ws.root(), &p) {
            reload = true;
        } else if p.extension().is_some_and(|e| e == "py") && !ignored(ws.root(), &p) {
            changed_sources.push(p);
        }
    }
    for p in &changed_sources {
        let Some(rel) = ws.rel(p) else { continue };
        let uri = Uri::from_file_path(p);
        let open = uri
            .as_ref()
            .is_some_and(|u| session.docs.contains_key(u.as_str()));
        if !open {
            match std::fs::read(p) {
                Ok(bytes) => {
                    ws.index.reindex_file(&rel, &bytes);
                }
                Err(_) => ws.index.remove_file(&rel),
            }
        }
        if let Some(u) = uri {
            session.publish(&u).await;
        }
    }
    if reload {
        session.reload(ws, false).await;
    }
}

/// An event that changes nothing: notify (inotify's IN_OPEN) reports every
/// open and read of a watched file. The server reads workspace files itself
/// (re-indexing, publishing diagnostics), so treating these as changes
/// re-published every file forever (a feedback loop: ~1,200 publications a
/// second on Django). A close after writing is kept: it ends a write.
fn is_read_only_access(kind: &EventKind) -> bool {
    matches!(kind, EventKind::Access(a) if *a != AccessKind::Close(AccessMode::Write))
}

/// What a reload reads. Reports being written (`*.xml.writing`) are not:
/// the runner renames them into place when whole.
fn is_data_file(root: &Path, p: &Path) -> bool {
    let dot = root.join(crate::workspace::artifacts::DIR);
    p == root.join("coverage.xml")
        || [
            "coverage.xml",
            "coverage.partial.xml",
            "test-results.json",
            "contexts.json",
        ]
        .iter()
        .any(|f| p == dot.join(f))
}

fn ignored(root: &Path, p: &Path) -> bool {
    let Ok(rel) = p.strip_prefix(root) else {
        return true;
    };
    rel.components().any(|c| {
        let n = c.as_os_str().to_string_lossy();
        crate::workspace::skip::is_skipped_dir_name(&n) || n == crate::workspace::artifacts::DIR
    })
}
