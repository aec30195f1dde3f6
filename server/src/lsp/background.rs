//! Where the server's long work runs, as in ruff_server (a main loop that
//! only mutates the session, background threads for the rest): indexing,
//! reloads, test runs, generation and fixes run on a runtime of their own
//! whose threads have a lower CPU priority, and so do the rayon threads
//! that index and the processes started from there (pytest, the explore
//! harness: a child inherits its thread's nice value). The message loop's
//! runtime then keeps a core for requests: on 2 cores, work at the same
//! priority held codeLens and unknown methods for 45 ms at p99 while the
//! first index of Django ran (issue 22).
//!
//! The runtime lives for the process; [`shutdown`] stops it (and kills
//! what it runs: children die with their process groups) when the server
//! exits.

use std::future::Future;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use tokio::runtime::{Handle, Runtime};
use tokio::task::JoinHandle;

/// The nice value of background threads: the scheduler then gives a
/// message-loop thread that wakes up the CPU at once, and the work still
/// gets every cycle nobody else wants.
const NICE: i32 = 10;
const STACK: usize = 16 << 20;

static HANDLE: OnceLock<Handle> = OnceLock::new();
static RUNTIME: Mutex<Option<Runtime>> = Mutex::new(None);

/// Runs `work` in the background.
pub fn spawn<F>(work: F) -> JoinHandle<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    handle().spawn(work)
}

/// Runs blocking `work` on a background thread.
pub fn spawn_blocking<F, R>(work: F) -> JoinHandle<R>
where
    F: FnOnce() -> R + Send + 'static,
    R: Send + 'static,
{
    handle().spawn_blocking(work)
}

fn handle() -> &'static Handle {
    HANDLE.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .thread_name("testgen-background")
            .thread_stack_size(STACK)
            .on_thread_start(|| {
                crate::index::stack::set_thread_stack(STACK);
                lower_priority();
            })
            .build()
            .or_else(|e| {
                // Never without a place to run work: a current-thread
                // runtime on a thread of its own as a last resort.
                tracing::warn!("background runtime: {e}");
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
            })
            .expect("an async runtime for background work");
        let handle = rt.handle().clone();
        *RUNTIME.lock().unwrap_or_else(|e| e.into_inner()) = Some(rt);
        handle
    })
}

/// Lowers the priority of the rayon threads (the index's parallel parse,
/// coverage facts): they only ever run background work in the server.
pub fn lower_rayon_priority() {
    rayon::broadcast(|_| lower_priority());
}

/// Stops the background runtime, waiting up to `timeout` for its tasks to
/// drop (their children are killed on drop). Call outside any runtime.
pub fn shutdown(timeout: Duration) {
    let rt = RUNTIME.lock().unwrap_or_else(|e| e.into_inner()).take();
    if let Some(rt) = rt {
        rt.shutdown_timeout(timeout);
    }
}

/// Linux keeps a nice value per thread: this lowers the calling thread's
/// (and what it starts later inherits it).
fn lower_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: plain system calls on the calling thread's own id.
    unsafe {
        let tid = libc::syscall(libc::SYS_gettid) as libc::id_t;
        if libc::setpriority(libc::PRIO_PROCESS, tid, NICE) != 0 {
            tracing::debug!("setpriority: {}", std::io::Error::last_os_error());
        }
    }
}
