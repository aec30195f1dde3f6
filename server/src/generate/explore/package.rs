//! The harness package (`server/python/testgen_explore/`), shipped inside the
//! binary: one `include_str!` per file, written at run time to a
//! content-addressed directory of the workspace's cache, and the command line
//! that starts it in the project's interpreter.
//!
//! The package is imported from its install directory by a one-line `-c`
//! launcher ([`LAUNCHER`]): running a file of the package as a script would
//! put the package's own directory first on `sys.path`, where modules such as
//! `context` or `values` would shadow the project's. The harness then drops
//! the install directory (and the temporary cwd) from `sys.path` and never
//! counts a file under it as the project's.

use std::path::{Path, PathBuf};

/// The package's top-level name (what the launcher imports).
pub const PACKAGE: &str = "testgen_explore";

/// Every file of the package, by its path inside the install directory.
pub const FILES: &[(&str, &str)] = &[
    (
        "testgen_explore/__init__.py",
        include_str!("../../../python/testgen_explore/__init__.py"),
    ),
    (
        "testgen_explore/__main__.py",
        include_str!("../../../python/testgen_explore/__main__.py"),
    ),
    (
        "testgen_explore/assertions.py",
        include_str!("../../../python/testgen_explore/assertions.py"),
    ),
    (
        "testgen_explore/astnodes.py",
        include_str!("../../../python/testgen_explore/astnodes.py"),
    ),
    (
        "testgen_explore/builders.py",
        include_str!("../../../python/testgen_explore/builders.py"),
    ),
    (
        "testgen_explore/callables.py",
        include_str!("../../../python/testgen_explore/callables.py"),
    ),
    (
        "testgen_explore/context.py",
        include_str!("../../../python/testgen_explore/context.py"),
    ),
    (
        "testgen_explore/contract.py",
        include_str!("../../../python/testgen_explore/contract.py"),
    ),
    (
        "testgen_explore/execution.py",
        include_str!("../../../python/testgen_explore/execution.py"),
    ),
    (
        "testgen_explore/fdguard.py",
        include_str!("../../../python/testgen_explore/fdguard.py"),
    ),
    (
        "testgen_explore/frameworks/__init__.py",
        include_str!("../../../python/testgen_explore/frameworks/__init__.py"),
    ),
    (
        "testgen_explore/frameworks/app.py",
        include_str!("../../../python/testgen_explore/frameworks/app.py"),
    ),
    (
        "testgen_explore/frameworks/appdir.py",
        include_str!("../../../python/testgen_explore/frameworks/appdir.py"),
    ),
    (
        "testgen_explore/frameworks/django.py",
        include_str!("../../../python/testgen_explore/frameworks/django.py"),
    ),
    (
        "testgen_explore/frameworks/djangomodels.py",
        include_str!("../../../python/testgen_explore/frameworks/djangomodels.py"),
    ),
    (
        "testgen_explore/frameworks/djangoviews.py",
        include_str!("../../../python/testgen_explore/frameworks/djangoviews.py"),
    ),
    (
        "testgen_explore/frameworks/depends.py",
        include_str!("../../../python/testgen_explore/frameworks/depends.py"),
    ),
    (
        "testgen_explore/frameworks/djangomethods.py",
        include_str!("../../../python/testgen_explore/frameworks/djangomethods.py"),
    ),
    (
        "testgen_explore/frameworks/djangounits.py",
        include_str!("../../../python/testgen_explore/frameworks/djangounits.py"),
    ),
    (
        "testgen_explore/frameworks/fastapi.py",
        include_str!("../../../python/testgen_explore/frameworks/fastapi.py"),
    ),
    (
        "testgen_explore/frameworks/flask.py",
        include_str!("../../../python/testgen_explore/frameworks/flask.py"),
    ),
    (
        "testgen_explore/frameworks/flaskapp.py",
        include_str!("../../../python/testgen_explore/frameworks/flaskapp.py"),
    ),
    (
        "testgen_explore/frameworks/logins.py",
        include_str!("../../../python/testgen_explore/frameworks/logins.py"),
    ),
    (
        "testgen_explore/frameworks/routes.py",
        include_str!("../../../python/testgen_explore/frameworks/routes.py"),
    ),
    (
        "testgen_explore/frameworks/spec.py",
        include_str!("../../../python/testgen_explore/frameworks/spec.py"),
    ),
    (
        "testgen_explore/generation.py",
        include_str!("../../../python/testgen_explore/generation.py"),
    ),
    (
        "testgen_explore/inputs.py",
        include_str!("../../../python/testgen_explore/inputs.py"),
    ),
    (
        "testgen_explore/isolation.py",
        include_str!("../../../python/testgen_explore/isolation.py"),
    ),
    (
        "testgen_explore/main.py",
        include_str!("../../../python/testgen_explore/main.py"),
    ),
    (
        "testgen_explore/mutants.py",
        include_str!("../../../python/testgen_explore/mutants.py"),
    ),
    (
        "testgen_explore/naming.py",
        include_str!("../../../python/testgen_explore/naming.py"),
    ),
    (
        "testgen_explore/observe.py",
        include_str!("../../../python/testgen_explore/observe.py"),
    ),
    (
        "testgen_explore/paths.py",
        include_str!("../../../python/testgen_explore/paths.py"),
    ),
    (
        "testgen_explore/protocol.py",
        include_str!("../../../python/testgen_explore/protocol.py"),
    ),
    (
        "testgen_explore/recorders.py",
        include_str!("../../../python/testgen_explore/recorders.py"),
    ),
    (
        "testgen_explore/refusals.py",
        include_str!("../../../python/testgen_explore/refusals.py"),
    ),
    (
        "testgen_explore/render.py",
        include_str!("../../../python/testgen_explore/render.py"),
    ),
    (
        "testgen_explore/rules.py",
        include_str!("../../../python/testgen_explore/rules.py"),
    ),
    (
        "testgen_explore/safety.py",
        include_str!("../../../python/testgen_explore/safety.py"),
    ),
    (
        "testgen_explore/search.py",
        include_str!("../../../python/testgen_explore/search.py"),
    ),
    (
        "testgen_explore/source.py",
        include_str!("../../../python/testgen_explore/source.py"),
    ),
    (
        "testgen_explore/state.py",
        include_str!("../../../python/testgen_explore/state.py"),
    ),
    (
        "testgen_explore/templates.py",
        include_str!("../../../python/testgen_explore/templates.py"),
    ),
    (
        "testgen_explore/tracer.py",
        include_str!("../../../python/testgen_explore/tracer.py"),
    ),
    (
        "testgen_explore/typehints.py",
        include_str!("../../../python/testgen_explore/typehints.py"),
    ),
    (
        "testgen_explore/typeforms.py",
        include_str!("../../../python/testgen_explore/typeforms.py"),
    ),
    (
        "testgen_explore/values.py",
        include_str!("../../../python/testgen_explore/values.py"),
    ),
];

/// The `-c` program that starts the harness: its first argument is the
/// install directory, which goes first on `sys.path` so that the package is
/// found whatever else is installed; the rest are the harness's own
/// arguments (`--root`, `--rules`, ...).
pub const LAUNCHER: &str =
    "import sys; sys.path.insert(0, sys.argv.pop(1)); from testgen_explore.main import main; main()";

/// The install directory's name: a digest of every file's path and content,
/// so two testgen versions never run each other's harness.
fn install_dir_name() -> String {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    FILES.hash(&mut h);
    format!("harness-{:016x}", h.finish())
}

/// Writes the package under `cache_dir` (each file only when missing or
/// stale, atomically); returns the install directory, what [`LAUNCHER`]
/// takes as its first argument.
pub fn install(cache_dir: &Path) -> std::io::Result<PathBuf> {
    let dir = cache_dir.join(install_dir_name());
    for (rel, source) in FILES {
        let path = dir.join(rel);
        if std::fs::read_to_string(&path).ok().as_deref() == Some(*source) {
            continue;
        }
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        crate::workspace::artifacts::write_atomic(&path, source.as_bytes())?;
    }
    Ok(dir)
}

/// The variable that tells the harness its protocol's descriptors:
/// `IN,OUT,NOTE` (NOTE: where it notes the call it is making, or -1).
pub const FDS_VAR: &str = "TESTGEN_PROTOCOL_FDS";

/// Where the protocol lives in the harness: just below the descriptor limit
/// (at most 1024), far from the small numbers project code passes around.
/// The caller's piped stdin/stdout move there between fork and exec; the
/// harness's own 0 becomes /dev/null and its 1 joins stderr, so nothing the
/// project reads or writes on 0-2 (or on 3-63) reaches the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProtocolFds {
    pub input: i32,
    pub output: i32,
    pub note: i32,
}

impl ProtocolFds {
    /// Three numbers under this process's soft limit, which the child
    /// inherits: dup2 cannot go above it (the sandbox lowers the limit only
    /// after the move, and a limit never closes what is open).
    pub fn high() -> ProtocolFds {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: a plain getter on a stack value.
        let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            lim.rlim_cur.min(1024) as i32
        } else {
            256
        };
        let top = soft.max(16) - 1;
        ProtocolFds {
            input: top,
            output: top - 1,
            note: top - 2,
        }
    }

    fn var(&self, note: bool) -> String {
        let n = if note { self.note } else { -1 };
        format!("{},{},{}", self.input, self.output, n)
    }

    /// In the child, between fork and exec, after the stdio set-up: moves
    /// the piped 0/1 (and the note file) up, /dev/null to 0, stderr to 1.
    /// Only system calls on numbers.
    fn install(&self, note: Option<i32>) -> std::io::Result<()> {
        let err = std::io::Error::last_os_error;
        // SAFETY: dup2/open/close on descriptors of the child; nothing
        // allocates.
        unsafe {
            if let Some(fd) = note {
                // dup2 onto itself would keep close-on-exec: cleared instead.
                let moved = if fd == self.note {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, self.note)
                };
                if moved < 0 {
                    return Err(err());
                }
            }
            if libc::dup2(0, self.input) < 0 || libc::dup2(1, self.output) < 0 {
                return Err(err());
            }
            let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
            if null < 0 {
                return Err(err());
            }
            if libc::dup2(null, 0) < 0 || libc::dup2(2, 1) < 0 {
                return Err(err());
            }
            libc::close(null);
        }
        Ok(())
    }
}

/// How to start one harness.
#[derive(Debug, Clone)]
pub struct Launch<'a> {
    /// The project's interpreter.
    pub python: &'a Path,
    /// What [`install`] returned.
    pub installed: &'a Path,
    /// The project root: what is "the project's" is decided below it.
    pub root: &'a Path,
    /// Prepended to `sys.path`, in order (the Python root, pytest's `pythonpath`).
    pub sys_path: &'a [PathBuf],
    pub seed: u64,
    /// Module-level code may do what the guard refuses (`--allow-unsafe`).
    pub allow_unsafe: bool,
    /// A fresh temporary directory: project code never runs with the
    /// project as its cwd.
    pub cwd: &'a Path,
    /// A file the harness overwrites with the call it is about to make (so
    /// a harness that dies says where); it must stay open until spawned.
    pub note: Option<&'a std::fs::File>,
}

impl Launch<'_> {
    /// The command line, cwd and environment of the harness (the caller
    /// pipes stdin and stdout, which become the protocol's [`ProtocolFds`],
    /// and owns process-group handling): the one way testgen and its tests
    /// start it.
    pub fn command(&self) -> std::process::Command {
        let rules = serde_json::to_string(&crate::workspace::skip::project_rules())
            .expect("the rules serialize");
        let mut cmd = std::process::Command::new(self.python);
        cmd.arg("-u")
            .arg("-c")
            .arg(LAUNCHER)
            .arg(self.installed)
            .arg("--root")
            .arg(self.root)
            .arg("--seed")
            .arg(self.seed.to_string())
            .arg("--rules")
            .arg(rules);
        for p in self.sys_path {
            cmd.arg("--sys-path").arg(p);
        }
        if self.allow_unsafe {
            cmd.arg("--allow-unsafe");
        }
        let fds = ProtocolFds::high();
        let note = self.note.map(std::os::fd::AsRawFd::as_raw_fd);
        cmd.current_dir(self.cwd)
            .env("PYTHONHASHSEED", "0")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env(FDS_VAR, fds.var(note.is_some()));
        use std::os::unix::process::CommandExt;
        // SAFETY: `install` only makes system calls on plain numbers.
        unsafe {
            cmd.pre_exec(move || fds.install(note));
        }
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// The package's `.py` files on disk, relative to `server/python/`.
    fn package_files() -> BTreeSet<String> {
        let base = Path::new(env!("CARGO_MANIFEST_DIR")).join("python");
        let mut out = BTreeSet::new();
        let mut stack = vec![base.join(PACKAGE)];
        while let Some(dir) = stack.pop() {
            for e in std::fs::read_dir(&dir).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    if e.file_name() != "__pycache__" {
                        stack.push(p);
                    }
                } else if p.extension().is_some_and(|x| x == "py") {
                    let rel = p.strip_prefix(&base).unwrap();
                    out.insert(rel.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        out
    }

    #[test]
    fn the_table_lists_exactly_the_package_files() {
        let table: BTreeSet<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(table.len(), FILES.len(), "a file is listed twice");
        let disk = package_files();
        let missing: Vec<_> = disk.difference(&table).collect();
        let extra: Vec<_> = table.difference(&disk).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "package.rs FILES is out of date: not listed {missing:?}, listed but absent {extra:?}"
        );
    }

    #[test]
    fn install_writes_every_file_once_and_repairs_a_changed_one() {
        let cache = tempfile::tempdir().unwrap();
        let dir = install(cache.path()).unwrap();
        assert!(dir.starts_with(cache.path()));
        for (rel, source) in FILES {
            assert_eq!(std::fs::read_to_string(dir.join(rel)).unwrap(), *source);
        }
        let main = dir.join("testgen_explore/main.py");
        std::fs::write(&main, "broken").unwrap();
        assert_eq!(install(cache.path()).unwrap(), dir);
        assert_ne!(std::fs::read_to_string(&main).unwrap(), "broken");
    }
}
