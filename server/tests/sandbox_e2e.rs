//! Hostile projects (issue "Safe on any project"): each test writes a small
//! project whose code attacks what lies outside it, with its victims in a
//! temporary directory outside the project, runs the real `testgen generate`
//! on it and checks that nothing outside the project and `.testgen/`
//! changed (hashes before and after), that the refusals are the skip
//! reasons, that no secret reached a written file or the output, that no
//! process is left, that the run ended within its budget, and that the
//! user's suite with the generated tests passes.
//!
//! Whether or not the kernel offers Landlock and seccomp: without them the
//! report must say the OS sandbox is not available, and the in-process
//! guard's refusals must hold alone (`TESTGEN_SANDBOX=off` runs that path
//! here too).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const SECRETS: &[(&str, &str)] = &[
    ("OPENAI_API_KEY", "sk-testgenE2Esecret0123456789abcdefXYZ"),
    (
        "AWS_SECRET_ACCESS_KEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYtestgen42",
    ),
    ("GITHUB_TOKEN", "ghp_testgen0123456789abcdefghijklmnopqrst"),
];

/// One hostile project and what testgen did with it.
struct Case {
    _project: tempfile::TempDir,
    root: PathBuf,
    outside: tempfile::TempDir,
    before: BTreeMap<PathBuf, String>,
    report: Value,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

/// A project `hostile` with `modules` (name → source, `@VICTIM@` replaced
/// by the outside directory) and a user test file; generates with `args`.
fn run(modules: &[(&str, &str)], user_test: &str, args: &[&str], env: &[(&str, &str)]) -> Case {
    let project = tempfile::tempdir().unwrap();
    let outside = tempfile::tempdir().unwrap();
    let root = project.path().to_path_buf();
    for name in ["victim.txt", "log.txt", "locked.txt"] {
        std::fs::write(outside.path().join(name), format!("precious {name}\n")).unwrap();
    }
    std::fs::create_dir_all(outside.path().join("tree/sub")).unwrap();
    std::fs::write(outside.path().join("tree/sub/leaf.txt"), "leaf").unwrap();
    let victim = outside.path().to_str().unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        "[project]\nname = \"hostile\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("hostile")).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(root.join("hostile/__init__.py"), "").unwrap();
    for (name, src) in modules {
        let src = src.replace("@VICTIM@", victim);
        std::fs::write(root.join(format!("hostile/{name}.py")), src).unwrap();
    }
    std::fs::write(root.join("tests/test_user.py"), user_test).unwrap();
    let before = snapshot(outside.path());
    let py = common::python();
    let mut cmd = Command::new(common::testgen_bin());
    cmd.args(["generate", root.to_str().unwrap(), "--json", "--python"])
        .arg(&py)
        .args(["--budget-s", "4", "--max-calls", "80"])
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let started = Instant::now();
    let out = cmd.output().expect("running testgen");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{stdout}\n{stderr}"));
    assert!(out.status.success(), "{report:#}\n{stderr}");
    Case {
        _project: project,
        root,
        outside,
        before,
        report,
        stdout,
        stderr,
        elapsed,
    }
}

/// Every entry under `dir`: content hash, mode and mtime (a chmod or a
/// touch is a change too).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, String> {
    use std::hash::{Hash, Hasher};
    use std::os::unix::fs::MetadataExt;
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            if m.is_file() {
                std::fs::read(&p).unwrap_or_default().hash(&mut h);
            }
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(
                p,
                format!("{:x} mode {:o} mtime {}", h.finish(), m.mode(), m.mtime()),
            );
        }
    }
    out
}

impl Case {
    fn skip_reason(&self, qualname: &str) -> String {
        self.report["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| {
                s["target"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("::{qualname}"))
            })
            .map(|s| s["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{qualname} was not skipped: {:#}", self.report))
    }

    fn generated_text(&self) -> String {
        let mut text = String::new();
        let dir = self.root.join("tests/generated");
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            text += &std::fs::read_to_string(e.path()).unwrap_or_default();
        }
        text
    }

    /// The report names the sandbox, and says when the kernel part is
    /// missing. Checked last in each case, so that against an older build
    /// (tests/against_build.sh) a case fails on what it is about, not on
    /// the report's shape.
    fn assert_sandbox_named(&self) {
        let sandbox = self.report["sandbox"].as_str().unwrap();
        let kernel = !sandbox.contains("not available");
        if !kernel {
            assert!(
                self.stderr.contains("the OS sandbox is not available"),
                "no notice that the OS sandbox is missing: {}",
                self.stderr
            );
        }
        if std::env::var("TESTGEN_EXPECT_OS_SANDBOX").is_ok_and(|v| v == "1") {
            assert!(kernel, "this machine should have the OS sandbox: {sandbox}");
        }
    }

    /// The checks every case shares.
    fn assert_safe(&self, budget: Duration) {
        let after = snapshot(self.outside.path());
        assert_eq!(
            self.before, after,
            "something outside the project changed\n{:#}",
            self.report
        );
        assert!(
            self.elapsed < budget,
            "took {:?} (budget {budget:?})",
            self.elapsed
        );
        assert_no_process_left(&self.root);
        for (_, value) in SECRETS {
            for (what, text) in [
                ("stdout", &self.stdout),
                ("stderr", &self.stderr),
                ("tests/generated", &self.generated_text()),
            ] {
                assert!(!text.contains(value), "a secret value in {what}");
            }
        }
        let out = common::pytest(&self.root, &[]);
        assert!(
            out.status.success(),
            "the user's suite with the generated tests fails:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            self.generated_text()
        );
    }
}

/// No process whose command line or working directory is in the project
/// (harnesses, pytest runs and what they started) outlives testgen.
fn assert_no_process_left(root: &Path) {
    let root_s = root.to_string_lossy().into_owned();
    let started = Instant::now();
    loop {
        let mut left = Vec::new();
        for e in std::fs::read_dir("/proc").unwrap().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !name.chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            if stat.contains(") Z ") {
                continue;
            }
            let cmdline = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            let cwd = std::fs::read_link(e.path().join("cwd")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&root_s) || cwd.starts_with(root) {
                left.push(format!("{name}: {}", String::from_utf8_lossy(&cmdline)));
            }
        }
        if left.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "processes left after testgen exited: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const PLAIN_USER_TEST: &str = "def test_user():\n    assert 1 + 1 == 2\n";

/// Case 1: module-level code runs under the guard (and the sandbox).
#[test]
fn module_level_code_is_refused_at_import() {
    let c = run(
        &[
            (
                "wipe",
                r#"import shutil, subprocess
shutil.rmtree("@VICTIM@/tree")
subprocess.run(["touch", "@VICTIM@/spawned.txt"])
open("@VICTIM@/victim.txt", "w").write("gone")

def double(x: int) -> int:
    return x * 2
"#,
            ),
            (
                "writer",
                r#"open("@VICTIM@/victim.txt", "w").write("gone")

def triple(x: int) -> int:
    return x * 3
"#,
            ),
            ("safe", "def half(x: int) -> float:\n    return x / 2\n"),
        ],
        PLAIN_USER_TEST,
        &[],
        &[],
    );
    c.assert_safe(Duration::from_secs(90));
    let why = c.skip_reason("double");
    assert!(
        why.contains("at import time") && why.contains("rmtree"),
        "{why}"
    );
    let why = c.skip_reason("triple");
    assert!(
        why.contains("at import time") && why.contains("writing"),
        "{why}"
    );
    assert!(c.generated_text().contains("half("), "{:#}", c.report);
    c.assert_sandbox_named();
}

/// Case 2: writes, appends and chmod outside the project, with the paths
/// taken from the project's own call sites.
#[test]
fn writes_and_mode_changes_outside_are_refused() {
    let c = run(
        &[
            (
                "files",
                r#"import os

def reset(path):
    open(path, "w").close()

def log(path, msg):
    with open(path, "a") as f:
        f.write(msg)

def lock(path):
    os.chmod(path, 0)

def touch(path):
    os.utime(path, (0, 0))
"#,
            ),
            (
                "cli",
                r#"from hostile.files import reset, log, lock, touch

def main():
    reset("@VICTIM@/victim.txt")
    log("@VICTIM@/log.txt", "entry")
    lock("@VICTIM@/locked.txt")
    touch("@VICTIM@/victim.txt")
"#,
            ),
        ],
        PLAIN_USER_TEST,
        &[],
        &[],
    );
    c.assert_safe(Duration::from_secs(90));
    let text = c.generated_text();
    assert!(
        !text.contains(c.outside.path().to_str().unwrap()),
        "a written test repeats the attack:\n{text}"
    );
    c.assert_sandbox_named();
}

/// Case 3: credentials in testgen's environment reach neither the explored
/// code nor a written test.
#[test]
fn secrets_stay_out_of_explored_code_and_tests() {
    let c = run(
        &[(
            "keys",
            r#"import os

def get_key():
    return os.environ["OPENAI_API_KEY"]

def get_token():
    return os.environ.get("GITHUB_TOKEN", "none")

def aws():
    return os.getenv("AWS_SECRET_ACCESS_KEY")

def shaped():
    return "sk-" + "abcdefghij0123456789KLMNOPQRS"

def plain(x: int) -> int:
    return x + 1
"#,
        )],
        PLAIN_USER_TEST,
        &[],
        SECRETS,
    );
    c.assert_safe(Duration::from_secs(90));
    for f in ["get_key", "get_token", "aws"] {
        let why = c.skip_reason(f);
        assert!(why.contains("credential"), "{f}: {why}");
    }
    let text = c.generated_text();
    assert!(!text.contains("sk-abcdefghij"), "{text}");
    assert!(text.contains("plain("), "{text}");
    // The user's suite passes with the real credentials present too.
    let mut cmd = Command::new(common::python());
    cmd.current_dir(&c.root)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"]);
    for (k, v) in SECRETS {
        cmd.env(k, v);
    }
    assert!(cmd.output().unwrap().status.success());
    c.assert_sandbox_named();
}

/// Case 4: a thread that never ends: refused in exploration; a test that
/// hangs only under pytest times out in validation (`--timeout`), is
/// dropped, and leaves no process behind.
#[test]
fn threads_that_never_end_cost_one_timeout_and_leave_nothing() {
    let c = run(
        &[(
            "threads",
            r#"import os, threading

_stop = threading.Event()

def forever():
    t = threading.Thread(target=_stop.wait, name="forever")
    t.start()
    return 1

def sneaky():
    if "PYTEST_CURRENT_TEST" in os.environ:
        threading.Thread(target=_stop.wait, name="sneaky").start()
    return 2
"#,
        )],
        PLAIN_USER_TEST,
        &["--timeout", "8"],
        &[],
    );
    c.assert_safe(Duration::from_secs(100));
    let why = c.skip_reason("forever");
    assert!(why.contains("thread"), "{why}");
    let dropped = c.report["dropped"].as_array().unwrap();
    assert!(
        dropped
            .iter()
            .any(|d| d["test"].as_str().unwrap().contains("sneaky")
                && d["reason"].as_str().unwrap().contains("timed out")),
        "{:#}",
        c.report
    );
    assert!(!c.generated_text().contains("sneaky"));
    c.assert_sandbox_named();
}

/// Case 6: tests that would change the environment, cwd, modules or signal
/// handlers of the user's tests are not written; the user's suite still
/// passes with what is.
#[test]
fn tests_that_leave_state_behind_are_dropped() {
    let c = run(
        &[(
            "state",
            r#"import os, signal, sys

def set_mode():
    os.environ["HOSTILE_MODE"] = "on"
    return True

def go_root():
    os.chdir("/")
    return True

def on_usr1():
    signal.signal(signal.SIGUSR1, lambda *a: None)
    return True

def block_json():
    sys.modules["json"] = None
    return True

def add(a: int, b: int) -> int:
    return a + b

# Project state no plugin watches: only running the user's test after the
# generated ones (and bisecting) shows who breaks it.
SEEN = []

def remember(item: str) -> int:
    SEEN.append(item)
    return len(SEEN)
"#,
        )],
        r#"import json, os, signal

def test_nothing_remembered_yet():
    from hostile import state
    assert state.SEEN == []

def test_writes_in_the_project(tmp_path):
    # A user test the sandbox refuses (it writes into the project): failing
    # there is not the generated tests' doing, and must not drop them.
    with open("user-scratch.txt", "w") as f:
        f.write("ok")
    os.remove("user-scratch.txt")

def test_mode_unset():
    assert "HOSTILE_MODE" not in os.environ

def test_cwd_is_the_project():
    assert os.path.exists("pyproject.toml")

def test_usr1_default():
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL

def test_json_works():
    import importlib
    assert importlib.import_module("json").dumps(1) == "1"
"#,
        &[],
        &[],
    );
    c.assert_safe(Duration::from_secs(90));
    let text = c.generated_text();
    for f in ["set_mode", "go_root", "on_usr1", "block_json", "remember"] {
        assert!(!text.contains(&format!("{f}(")), "{f} written:\n{text}");
    }
    let reasons: Vec<&str> = c.report["dropped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert!(reasons.iter().any(|r| r.contains("leaves")), "{reasons:?}");
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("test_nothing_remembered_yet")),
        "{reasons:?}"
    );
    assert!(
        !reasons
            .iter()
            .any(|r| r.contains("test_writes_in_the_project")),
        "{reasons:?}"
    );
    assert!(text.contains("add("), "{text}");
    c.assert_sandbox_named();
}

/// Case 7: the ways around the old guard (datagrams, name look-ups,
/// `_posixsubprocess.fork_exec`, `os.posix_spawn`), reached at run time
/// so the static scan cannot see them. Every address is a name in the
/// `.invalid` domain: nothing could reach another machine even if every
/// layer failed.
#[test]
fn guard_bypasses_are_refused() {
    let c = run(
        &[(
            "net",
            r#"def datagram():
    s = getattr(__import__("soc" + "ket"), "socket")(2, 2)
    s.sendto(b"x", ("testgen-victim.invalid", 9))
    return 1

def lookup():
    return len(getattr(__import__("soc" + "ket"), "getaddrinfo")("testgen-victim.invalid", 80))

def fork_exec():
    return getattr(__import__("_posix" + "subprocess"), "fork_exec")()

def spawn():
    run = getattr(__import__("o" + "s"), "posix_spawn")
    return run("/usr/bin/touch", ["touch", "@VICTIM@/spawned.txt"], {})
"#,
        )],
        PLAIN_USER_TEST,
        &[],
        &[],
    );
    c.assert_safe(Duration::from_secs(90));
    for (f, what) in [
        ("datagram", "sendto"),
        ("lookup", "getaddrinfo"),
        ("fork_exec", "fork_exec"),
        ("spawn", "posix_spawn"),
    ] {
        let why = c.skip_reason(f);
        assert!(why.contains(what), "{f}: {why}");
    }
    c.assert_sandbox_named();
}

/// Case 8: resource limits, a gigabyte of output without newlines, bytes
/// that are not UTF-8 on stderr, and state that would poison the next
/// target (a blocked module, an ignored SIGALRM).
#[test]
fn limits_output_and_poisoned_state_end_in_skips_not_in_tests() {
    let c = run(
        &[(
            "greedy",
            r#"import signal, sys

def hog():
    return len(bytearray(30 * 1024 ** 3))

def chatter():
    sys.stderr.write("x" * (256 * 1024 ** 2))
    sys.stderr.flush()
    return 1

def bad_bytes():
    sys.stderr.buffer.write(b"\xff\xfe not utf-8\n")
    sys.stderr.flush()
    return 2

def a_poison():
    sys.modules["decimal"] = None
    signal.signal(signal.SIGALRM, signal.SIG_IGN)
    return 3

def b_spin():
    while True:
        pass

def c_later(x: str) -> str:
    import decimal
    print("still printing")
    return str(decimal.Decimal(len(x)))
"#,
        )],
        PLAIN_USER_TEST,
        &[],
        &[],
    );
    c.assert_safe(Duration::from_secs(120));
    let why = c.skip_reason("hog");
    assert!(why.contains("memory"), "{why}");
    let why = c.skip_reason("b_spin");
    assert!(
        why.contains("every call ran longer"),
        "the per-call timeout was lost: {why}"
    );
    let text = c.generated_text();
    assert!(!text.contains("MemoryError"), "{text}");
    assert!(
        text.contains("c_later("),
        "later targets got no tests:\n{text}\n{:#}",
        c.report["skipped"]
    );
    assert!(text.contains("bad_bytes("), "{text}");
    c.assert_sandbox_named();
}

/// Without the kernel's part (`TESTGEN_SANDBOX=off`, as on an old kernel
/// or macOS) testgen says so once, and the in-process guard still holds.
#[test]
fn without_the_os_sandbox_testgen_says_so_and_the_guard_holds() {
    let c = run(
        &[(
            "files",
            r#"def reset(path):
    open(path, "w").close()

def main():
    reset("@VICTIM@/victim.txt")
"#,
        )],
        PLAIN_USER_TEST,
        &[],
        &[("TESTGEN_SANDBOX", "off")],
    );
    let after = snapshot(c.outside.path());
    assert_eq!(c.before, after);
    assert_no_process_left(&c.root);
    assert!(
        c.report["sandbox"]
            .as_str()
            .is_some_and(|s| s.contains("not available")),
        "{:#}",
        c.report
    );
    assert_eq!(
        c.stderr.matches("the OS sandbox is not available").count(),
        1,
        "said once: {}",
        c.stderr
    );
}
