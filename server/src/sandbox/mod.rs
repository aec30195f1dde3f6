//! The OS sandbox of code testgen runs but did not write: the explore
//! harness (which imports and calls the project's code) and every pytest
//! run of generated candidates. Set up by this side between fork and exec,
//! so nothing the child does can undo it:
//!
//! - Landlock (`landlock.rs`): writes only beneath the run's temporary
//!   directory, `.testgen/`, the staging directory and `/dev/null`; reads
//!   stay allowed everywhere (the interpreter, site-packages, the project);
//!   signals and abstract Unix sockets only inside the sandbox.
//! - a network namespace (`netns.rs`): the child sees a loopback device
//!   and nothing else, so no packet can leave the machine.
//! - seccomp (`seccomp.rs`): no process creation (unless unsafe targets are
//!   allowed), no socket families but Unix, IP and netlink, no raw sockets,
//!   io_uring, ptrace, mounts, namespaces or kernel modules.
//! - `no_new_privs` and rlimits (`rlimits.rs`): address space, file size,
//!   CPU time, open files, no core dumps.
//! - an environment without credentials (`env.rs`).
//!
//! Everything is prepared before the fork (rulesets opened, BPF programs
//! compiled, strings built); the child only makes system calls, which is
//! all that is allowed between fork and exec. Where the kernel lacks a
//! part, the in-process guard of the harness still applies and testgen says
//! once that the OS sandbox is not available (docs/security.md). The
//! project's own suite (`testgen test`, the baseline) is never sandboxed: it
//! is the user's code, run as the user runs it.

pub mod env;
#[cfg(target_os = "linux")]
mod landlock;
#[cfg(target_os = "linux")]
mod netns;
mod rlimits;
#[cfg(target_os = "linux")]
mod seccomp;

use std::path::PathBuf;
use std::sync::OnceLock;

/// Resource limits of one sandboxed child (0: no limit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Address space, MiB.
    pub memory_mb: u64,
    /// Largest file the child may write, MiB.
    pub file_size_mb: u64,
    /// CPU seconds over the child's whole life.
    pub cpu_s: u64,
    pub open_files: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_mb: 4096,
            file_size_mb: 512,
            cpu_s: 900,
            open_files: 1024,
        }
    }
}

/// The settings every sandboxed child of one generation shares.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub limits: Limits,
    /// `--allow-unsafe`: the project's code may start processes.
    pub allow_process: bool,
    /// Variables kept from the children besides the credential-like ones.
    pub secret_names: Vec<String>,
}

impl Settings {
    /// The policy of one child whose temporary directory is `tmp`.
    pub fn policy(&self, tmp: impl Into<PathBuf>) -> Policy {
        let mut p = Policy::new(tmp, self.limits.clone());
        p.allow_process = self.allow_process;
        p.secret_names = self.secret_names.clone();
        p
    }
}

/// What one sandboxed child may do.
#[derive(Debug, Clone)]
pub struct Policy {
    /// Directories (or files) the child may create, write and delete in;
    /// the rest of the file system is read-only to it. Missing ones are
    /// left out.
    pub writable: Vec<PathBuf>,
    /// The child's TMPDIR (pytest's `tmp_path` and `tempfile` live there);
    /// writable.
    pub tmp: PathBuf,
    /// Processes may be created (`--allow-unsafe`).
    pub allow_process: bool,
    pub limits: Limits,
    /// Variables kept from the child besides the ones that look like
    /// credentials (the configured LLM key's name).
    pub secret_names: Vec<String>,
}

impl Policy {
    pub fn new(tmp: impl Into<PathBuf>, limits: Limits) -> Policy {
        let tmp = tmp.into();
        Policy {
            writable: vec![tmp.clone()],
            tmp,
            allow_process: false,
            limits,
            secret_names: Vec::new(),
        }
    }

    pub fn writable(mut self, dir: impl Into<PathBuf>) -> Policy {
        self.writable.push(dir.into());
        self
    }
}

/// Which kernel features this machine offers, probed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Support {
    /// Landlock ABI version, when available.
    pub landlock_abi: Option<i32>,
    pub seccomp: bool,
    pub netns: bool,
    /// Why the sandbox is off as a whole (not Linux, turned off).
    pub off: Option<String>,
}

impl Support {
    /// The kernel enforces file writes and system calls.
    pub fn os_sandbox(&self) -> bool {
        self.off.is_none() && self.landlock_abi.is_some() && self.seccomp
    }

    /// In words, for logs and the report: what is enforced by the kernel.
    pub fn describe(&self) -> String {
        if let Some(off) = &self.off {
            return format!("not available ({off}); the in-process guard only");
        }
        let mut parts = Vec::new();
        match self.landlock_abi {
            Some(abi) => parts.push(format!("landlock (ABI {abi})")),
            None => parts.push("no landlock".into()),
        }
        parts.push(
            if self.seccomp {
                "seccomp"
            } else {
                "no seccomp"
            }
            .into(),
        );
        parts.push(
            if self.netns {
                "network namespace"
            } else {
                "no network namespace"
            }
            .into(),
        );
        let what = parts.join(", ");
        if self.os_sandbox() {
            what
        } else {
            format!("not available ({what}); the in-process guard only")
        }
    }
}

/// `TESTGEN_SANDBOX=off` turns the kernel part off (to compare, or where a
/// kernel misbehaves); the in-process guard stays.
pub const SWITCH: &str = "TESTGEN_SANDBOX";

/// The variable naming the withheld variables, for the harness.
pub const WITHHELD: &str = "TESTGEN_WITHHELD";
/// Set in a child the kernel confines: its errors may be the sandbox's.
pub const ACTIVE: &str = "TESTGEN_OS_SANDBOX";

/// This machine's features (probed at the first call).
pub fn support() -> &'static Support {
    static SUPPORT: OnceLock<Support> = OnceLock::new();
    SUPPORT.get_or_init(probe)
}

fn probe() -> Support {
    if std::env::var(SWITCH).is_ok_and(|v| v == "off" || v == "0") {
        return Support {
            landlock_abi: None,
            seccomp: false,
            netns: false,
            off: Some(format!("turned off by {SWITCH}=off")),
        };
    }
    #[cfg(target_os = "linux")]
    {
        let (seccomp, netns) = probe_in_child();
        Support {
            landlock_abi: landlock::abi(),
            seccomp,
            netns,
            off: None,
        }
    }
    #[cfg(not(target_os = "linux"))]
    Support {
        landlock_abi: None,
        seccomp: false,
        netns: false,
        off: Some(format!(
            "{} has no Landlock or seccomp",
            std::env::consts::OS
        )),
    }
}

/// Tries seccomp and the network namespace in a forked child (both change
/// the process they are applied to for good).
#[cfg(target_os = "linux")]
fn probe_in_child() -> (bool, bool) {
    let Ok(programs) = seccomp::programs(false) else {
        return (false, false);
    };
    let ns = netns::Prepared::new();
    // SAFETY: the child only makes system calls and leaves with _exit.
    unsafe {
        let pid = libc::fork();
        if pid == 0 {
            let mut code = 0;
            if ns.enter().is_ok() {
                code |= 2;
            }
            if programs.iter().all(|p| seccomp::install(p).is_ok()) {
                code |= 1;
            }
            libc::_exit(code);
        }
        if pid < 0 {
            return (false, false);
        }
        let mut status = 0;
        if libc::waitpid(pid, &mut status, 0) != pid || !libc::WIFEXITED(status) {
            return (false, false);
        }
        let code = libc::WEXITSTATUS(status);
        (code & 1 != 0, code & 2 != 0)
    }
}

/// Puts `cmd` into the sandbox of `policy`: a scrubbed environment with
/// TMPDIR, and (where the kernel has them) the restrictions applied in the
/// child before exec. Call before setting the command's own variables:
/// those are kept.
pub fn apply(cmd: &mut std::process::Command, policy: &Policy) -> std::io::Result<()> {
    let withheld = env::secret_names(&policy.secret_names);
    let mut names: Vec<String> = Vec::new();
    for name in withheld {
        names.push(name.to_string_lossy().into_owned());
        cmd.env_remove(name);
    }
    // Names only: the harness notes code that reads one (state.py).
    cmd.env(WITHHELD, names.join(","));
    cmd.env("TMPDIR", &policy.tmp);
    let s = support();
    let confined = s.os_sandbox();
    if confined {
        cmd.env(ACTIVE, "1");
    } else {
        notice_once(s);
    }
    // Resource limits hold wherever setrlimit exists, sandbox or not.
    let mut prepared = Prepared::new(policy, s, confined)?;
    use std::os::unix::process::CommandExt;
    // SAFETY: `run` only makes system calls (setrlimit, unshare, write,
    // ioctl, prctl, landlock, seccomp) on data prepared above.
    unsafe {
        cmd.pre_exec(move || prepared.run());
    }
    Ok(())
}

/// Says once per process that explored code is not confined by the kernel.
fn notice_once(s: &Support) {
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        tracing::warn!(
            "the OS sandbox is not available: {}; explored code and validation runs are confined by testgen's in-process guard only",
            s.describe()
        );
    });
}

/// Everything the child applies, built before the fork.
struct Prepared {
    rlimits: Vec<rlimits::Limit>,
    #[cfg(target_os = "linux")]
    netns: Option<netns::Prepared>,
    #[cfg(target_os = "linux")]
    landlock: Option<::landlock::RulesetCreated>,
    #[cfg(target_os = "linux")]
    seccomp: Vec<seccompiler::BpfProgram>,
}

impl Prepared {
    #[cfg(target_os = "linux")]
    fn new(policy: &Policy, s: &Support, confined: bool) -> std::io::Result<Prepared> {
        let fail = |what: &str, e: String| std::io::Error::other(format!("{what}: {e}"));
        let mut p = Prepared {
            rlimits: rlimits::of(&policy.limits),
            netns: None,
            landlock: None,
            seccomp: Vec::new(),
        };
        if confined {
            p.landlock =
                Some(landlock::ruleset(&policy.writable).map_err(|e| fail("landlock", e))?);
            p.seccomp = seccomp::programs(policy.allow_process).map_err(|e| fail("seccomp", e))?;
            p.netns = s.netns.then(netns::Prepared::new);
        }
        Ok(p)
    }

    #[cfg(not(target_os = "linux"))]
    fn new(policy: &Policy, _: &Support, _: bool) -> std::io::Result<Prepared> {
        Ok(Prepared {
            rlimits: rlimits::of(&policy.limits),
        })
    }

    #[cfg(not(target_os = "linux"))]
    fn run(&mut self) -> std::io::Result<()> {
        rlimits::apply(&self.rlimits)
    }

    /// In the child, between fork and exec.
    #[cfg(target_os = "linux")]
    fn run(&mut self) -> std::io::Result<()> {
        rlimits::apply(&self.rlimits)?;
        if self.landlock.is_none() {
            return Ok(());
        }
        if let Some(ns) = &self.netns {
            ns.enter()?;
        }
        // SAFETY: a plain prctl; Landlock and seccomp set it too.
        if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
        if let Some(rs) = self.landlock.take() {
            landlock::restrict(rs)?;
        }
        for p in &self.seccomp {
            seccomp::install(p)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
