//! One testgen run per project at a time: `.testgen/lock`, held with an
//! advisory file lock (flock) for as long as a run writes into the project.
//! Two `testgen generate` on the same project would otherwise share
//! `.testgen/` and `tests/generated/` (one fails, or every test is written
//! twice). The kernel releases the lock when the holder dies, even by
//! SIGKILL, so a crashed run never blocks the next one.
//!
//! Within one process the lock is shared: the language server's run and
//! generation, or generation's own baseline run, hold the same lock; the
//! server orders its own work itself.

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cancelled while waiting for another testgen run on this project to end")]
    Cancelled,
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Held while alive; dropping the last holder in this process unlocks.
#[derive(Clone)]
pub struct ProjectLock {
    _held: Arc<Held>,
}

struct Held {
    _file: File,
}

static HELD: Mutex<Vec<(PathBuf, Weak<Held>)>> = Mutex::new(Vec::new());

/// Takes the project's lock, waiting (and saying so once, through
/// `on_wait` with the holder's description) while another process holds it.
pub async fn acquire(
    root: &Path,
    cancel: &CancellationToken,
    on_wait: impl FnOnce(&str),
) -> Result<ProjectLock, LockError> {
    let mut on_wait = Some(on_wait);
    loop {
        match try_acquire(root)? {
            Ok(lock) => return Ok(lock),
            Err(holder) => {
                if let Some(f) = on_wait.take() {
                    f(&holder);
                }
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return Err(LockError::Cancelled),
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

/// The lock, or (Err) who holds it.
pub fn try_acquire(root: &Path) -> Result<Result<ProjectLock, String>, LockError> {
    let key = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
    held.retain(|(_, w)| w.strong_count() > 0);
    if let Some(h) = held
        .iter()
        .find(|(p, _)| *p == key)
        .and_then(|(_, w)| w.upgrade())
    {
        return Ok(Ok(ProjectLock { _held: h }));
    }
    let dir = super::artifacts::ensure_dir(&key).map_err(|source| LockError::Io {
        path: key.join(super::artifacts::DIR),
        source,
    })?;
    let path = dir.join("lock");
    let io = |source| LockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut who = String::new();
            let _ = file.read_to_string(&mut who);
            return Ok(Err(describe_holder(&who)));
        }
        Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
    }
    // Who holds it, for the message a second run shows.
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    let me = format!(
        "{}\n{}\n",
        std::process::id(),
        std::env::args().collect::<Vec<_>>().join(" ")
    );
    file.write_all(me.as_bytes()).map_err(io)?;
    let h = Arc::new(Held { _file: file });
    held.push((key, Arc::downgrade(&h)));
    Ok(Ok(ProjectLock { _held: h }))
}

fn describe_holder(text: &str) -> String {
    let mut lines = text.lines();
    match (lines.next(), lines.next()) {
        (Some(pid), Some(cmd)) if !pid.is_empty() => format!("pid {pid}: {cmd}"),
        _ => "another process".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_in_process_and_released_when_the_last_holder_drops() {
        let root = tempfile::tempdir().unwrap();
        let a = try_acquire(root.path()).unwrap().ok().unwrap();
        let b = try_acquire(root.path()).unwrap().ok();
        assert!(b.is_some(), "the same process shares its lock");
        drop((a, b));
        assert!(HELD
            .lock()
            .unwrap()
            .iter()
            .all(|(_, w)| w.strong_count() == 0));
        // A fresh open of the file can take it: it was released.
        let f = File::options()
            .write(true)
            .open(root.path().join(".testgen/lock"))
            .unwrap();
        f.try_lock().unwrap();
    }
}
