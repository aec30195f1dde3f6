//! Children die with testgen, however testgen ends (SIGKILL included).
//!
//! Two layers, because each alone has a gap:
//!
//! - the parent-death signal: every child testgen starts (pytest in every
//!   phase, the explore harness) sets `PR_SET_PDEATHSIG(SIGKILL)` between
//!   fork and exec, as the last step of `pre_exec` (after the sandbox's),
//!   then checks `getppid()`, so a testgen killed before the `prctl` is not
//!   missed. The kernel sends it when the *thread* that forked exits, not
//!   the process: testgen spawns children only from async tasks, i.e. the
//!   main thread (`block_on`) and the runtime's worker threads, which live
//!   as long as testgen; never from `spawn_blocking` or `block_in_place`,
//!   whose threads end when idle and would take the child along. It does
//!   not reach grandchildren (a fork clears it): pytest's own children, a
//!   test's server.
//! - a reaper: one small process forked from testgen (no exec, only system
//!   calls) that holds one end of a socket pair (SOCK_SEQPACKET: one
//!   message per record, EOF when testgen's end closes). testgen sends each
//!   child's process-group id once `spawn` returned, and the id negated
//!   once it has killed that group. At EOF testgen is gone: the reaper
//!   kills every group still registered (grandchildren included) and
//!   exits. It ignores the terminal's signals and has its own process
//!   group, so a Ctrl-C of testgen's group cannot take it down first.
//!   testgen registers a group itself, after `spawn`, rather than the child
//!   before exec: an exec that fails would leave a number behind that the
//!   reaper could kill much later in someone else's process. The moment
//!   between exec and registration is covered by the parent-death signal
//!   (nothing has had time to fork yet).
//!
//! A grandchild that leaves its group (`setsid`) escapes both; sandboxed
//! children cannot create processes at all (seccomp).

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// Groups the reaper can hold at once (far above `--jobs` harnesses plus
/// a pytest run); past it, the parent-death signal alone holds.
const SLOTS: usize = 1024;

/// testgen's end of the reaper's socket pair (close-on-exec), or None
/// where it could not be started (the parent-death signal still holds).
fn reaper() -> Option<&'static OwnedFd> {
    static REAPER: OnceLock<Option<OwnedFd>> = OnceLock::new();
    REAPER
        .get_or_init(|| match start() {
            Ok(fd) => Some(fd),
            Err(e) => {
                tracing::warn!("could not start the process reaper ({e}); the children of a killed testgen rely on the parent-death signal alone");
                None
            }
        })
        .as_ref()
}

/// Makes `cmd`'s child die with testgen's death: the parent-death signal.
/// Call after every other `pre_exec` of the command (the sandbox's), and
/// [`register`] the child once spawned.
pub fn adopt(cmd: &mut std::process::Command) {
    // Started now, in testgen, not in the forked child.
    let _ = reaper();
    // SAFETY: a plain getter.
    let parent = unsafe { libc::getpid() };
    use std::os::unix::process::CommandExt;
    // SAFETY: only system calls (prctl, getppid) on numbers.
    unsafe {
        cmd.pre_exec(move || parent_death_signal(parent));
    }
}

/// The child `pid`, leader of its own process group, is running: the
/// reaper kills its group should testgen die before [`release`].
pub fn register(pid: u32) {
    if let (Some(fd), Ok(pid)) = (reaper(), i32::try_from(pid)) {
        send(fd.as_raw_fd(), pid);
    }
}

/// testgen killed the group of `pid`: the reaper forgets it (its number may
/// be reused by an unrelated process from now on).
pub fn release(pid: u32) {
    if let (Some(fd), Ok(pid)) = (reaper(), i32::try_from(pid)) {
        send(fd.as_raw_fd(), -pid);
    }
}

fn parent_death_signal(parent: libc::pid_t) -> std::io::Result<()> {
    // SAFETY: system calls on plain values; nothing allocates.
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            // testgen died between fork and prctl: never start.
            return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
        }
    }
    Ok(())
}

/// One record, one message. Never blocks and never raises SIGPIPE.
fn send(fd: i32, value: i32) {
    let bytes = value.to_ne_bytes();
    // SAFETY: a send of a stack buffer.
    unsafe {
        libc::send(
            fd,
            bytes.as_ptr().cast(),
            bytes.len(),
            libc::MSG_NOSIGNAL | libc::MSG_DONTWAIT,
        );
    }
}

/// Forks the reaper; returns testgen's end of the socket pair.
fn start() -> std::io::Result<OwnedFd> {
    let mut fds = [0i32; 2];
    // SAFETY: socketpair into a stack array.
    let rc = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_SEQPACKET | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let (theirs, ours) = (fds[0], fds[1]);
    // SAFETY: the child only makes system calls on its own stack until
    // `_exit` (a fork of a threaded process may do nothing else).
    match unsafe { libc::fork() } {
        -1 => {
            let err = std::io::Error::last_os_error();
            // SAFETY: closing our own descriptors.
            unsafe {
                libc::close(theirs);
                libc::close(ours);
            }
            Err(err)
        }
        0 => unsafe { run(theirs) },
        _ => {
            // SAFETY: one end is the reaper's; the other is ours.
            unsafe { libc::close(theirs) };
            Ok(unsafe { OwnedFd::from_raw_fd(ours) })
        }
    }
}

/// The reaper's whole life: collect group ids until EOF, then kill them.
unsafe fn run(fd: i32) -> ! {
    libc::setpgid(0, 0);
    for sig in [
        libc::SIGINT,
        libc::SIGTERM,
        libc::SIGHUP,
        libc::SIGQUIT,
        libc::SIGPIPE,
    ] {
        libc::signal(sig, libc::SIG_IGN);
    }
    // Nothing of testgen's stays open here but our end: a reader of
    // testgen's output must see EOF when testgen ends, not when we do, and
    // a copy of testgen's end would keep our EOF from ever coming.
    let dev_null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
    for n in 0..3 {
        libc::dup2(dev_null, n);
    }
    for other in 3..fd {
        libc::close(other);
    }
    if libc::syscall(libc::SYS_close_range, fd as u32 + 1, u32::MAX, 0u32) != 0 {
        for other in fd + 1..65536 {
            libc::close(other);
        }
    }
    let mut groups = [0i32; SLOTS];
    let mut record = [0u8; 4];
    loop {
        let n = libc::recv(fd, record.as_mut_ptr().cast(), record.len(), 0);
        if n == 0 {
            break;
        }
        if n < 0 {
            if *libc::__errno_location() == libc::EINTR {
                continue;
            }
            break;
        }
        if n == 4 {
            note(&mut groups, i32::from_ne_bytes(record));
        }
    }
    for &g in &groups {
        if g > 0 {
            libc::kill(-g, libc::SIGKILL);
        }
    }
    libc::_exit(0)
}

/// Adds a group (positive id) or removes one (negative).
fn note(groups: &mut [i32; SLOTS], value: i32) {
    if value > 0 {
        if let Some(slot) = groups.iter_mut().find(|g| **g == 0) {
            *slot = value;
        }
    } else if let Some(slot) = groups.iter_mut().find(|g| **g == -value) {
        *slot = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_added_and_removed_by_sign() {
        let mut g = [0i32; SLOTS];
        note(&mut g, 42);
        note(&mut g, 7);
        note(&mut g, -42);
        note(&mut g, -99);
        let live: Vec<i32> = g.iter().copied().filter(|&x| x != 0).collect();
        assert_eq!(live, vec![7]);
    }
}
