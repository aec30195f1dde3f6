//! Children die with testgen: after a SIGKILL of testgen in each phase
//! (the baseline, exploration, validation, isolation, the fixer's runs and
//! the pipeline's later run of the suite) no pytest, harness or
//! grandchild of the run is left (runner/reaper.rs). The test kills
//! nothing itself: it finds the run's processes by a marker in their
//! environment, which every descendant inherits, and asserts none is left.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The variable that marks every process of one run.
const MARK: &str = "TESTGEN_TEST_CHILDREN_MARK";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Baseline,
    Exploration,
    Validation,
    Isolation,
    Fixer,
    /// The pipeline's run of the suite once tests are written.
    Final,
}

impl Phase {
    fn name(self) -> &'static str {
        match self {
            Phase::Baseline => "baseline",
            Phase::Exploration => "exploration",
            Phase::Validation => "validation",
            Phase::Isolation => "isolation",
            Phase::Fixer => "fixer",
            Phase::Final => "final",
        }
    }

    fn command(self) -> &'static str {
        match self {
            Phase::Fixer => "fix",
            Phase::Final => "run",
            _ => "generate",
        }
    }

    fn fixture(self) -> &'static str {
        match self {
            Phase::Fixer => "fixer",
            _ => "plainlib",
        }
    }
}

/// Appended to the project's tests/conftest.py: each pytest session knows
/// its phase from its arguments and environment and blocks while
/// `<phase>.block` exists; the baseline's also starts a grandchild (which
/// no parent-death signal reaches).
const CONFTEST: &str = r#"

import os as _tg_os, sys as _tg_sys, time as _tg_time

_TG_ROOT = _tg_os.path.dirname(_tg_os.path.dirname(_tg_os.path.abspath(__file__)))


def _tg_phase():
    if _tg_os.environ.get("TESTGEN_ORDER") == "reversed":
        return "isolation"
    argv = " ".join(_tg_sys.argv)
    if ".testgen-staging-" in argv:
        return "validation"
    if "_testgen_fix_" in argv:
        return "fixer"
    gen = _tg_os.path.join(_TG_ROOT, "tests", "generated")
    if _tg_os.path.isdir(gen) and any(n.startswith("test_") for n in _tg_os.listdir(gen)):
        return "final"
    return "baseline"


_tg_block = _tg_os.path.join(_TG_ROOT, _tg_phase() + ".block")
if _tg_os.path.exists(_tg_block):
    if _tg_phase() == "baseline":
        import subprocess as _tg_subprocess
        _tg_subprocess.Popen([_tg_sys.executable, "-c",
                              "import os, sys, time\nwhile os.path.exists(sys.argv[1]):\n    time.sleep(0.1)",
                              _tg_block, "phase-grandchild"])
    while _tg_os.path.exists(_tg_block):
        _tg_time.sleep(0.1)
"#;

/// A module the harness blocks importing (only the harness: it alone has
/// the protocol's variable; its guard refuses writes at import time, so
/// the test knows it by its age).
// Blocks only inside the harness (whose package is imported there; the
// harness takes its protocol variable out of os.environ at start, so that
// cannot tell), never in pytest.
const BLOCKING_MODULE: &str = r#"import os
import sys

_block = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "exploration.block")
while "testgen_explore" in sys.modules and os.path.exists(_block):
    import time
    time.sleep(0.1)


def bump(n: int) -> int:
    if n > 3:
        return n + 1
    return n
"#;

fn project_blocking_in(phase: Phase) -> tempfile::TempDir {
    let p = common::copy_to_temp(&common::fixture(phase.fixture()));
    let root = p.path();
    let conftest = root.join("tests/conftest.py");
    let text = std::fs::read_to_string(&conftest).unwrap_or_default();
    std::fs::write(&conftest, format!("{text}{CONFTEST}")).unwrap();
    if phase == Phase::Exploration {
        std::fs::write(root.join("plainlib/blocking.py"), BLOCKING_MODULE).unwrap();
    }
    std::fs::write(root.join(format!("{}.block", phase.name())), "").unwrap();
    p
}

/// Removes the block files when the test ends, pass or fail: whatever
/// still waits on one then ends by itself (the test kills nothing).
struct Unblock(PathBuf);

impl Drop for Unblock {
    fn drop(&mut self) {
        for e in std::fs::read_dir(&self.0).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().ends_with(".block") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// A live process of the run: its pid, command line and environment.
struct Proc {
    pid: u32,
    cmdline: String,
    environ: Vec<String>,
}

impl Proc {
    fn env(&self, name: &str) -> Option<&str> {
        self.environ
            .iter()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
    }
}

/// Every live process (zombies excepted) whose environment carries `mark`.
fn marked(mark: &str) -> Vec<Proc> {
    let want = format!("{MARK}={mark}");
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
        if stat.contains(") Z ") || stat.contains(") X ") {
            continue;
        }
        let Ok(env) = std::fs::read(e.path().join("environ")) else {
            continue;
        };
        let environ: Vec<String> = env
            .split(|&b| b == 0)
            .map(|s| String::from_utf8_lossy(s).into_owned())
            .collect();
        if !environ.contains(&want) {
            continue;
        }
        let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
        out.push(Proc {
            pid,
            cmdline: String::from_utf8_lossy(&cmd).replace('\0', " "),
            environ,
        });
    }
    out
}

/// Whether `p` is the process that shows `phase` has begun.
fn shows(phase: Phase, p: &Proc, root: &Path) -> bool {
    let reversed = p.env("TESTGEN_ORDER") == Some("reversed");
    let staged = p.cmdline.contains(".testgen-staging-");
    match phase {
        Phase::Baseline => p.cmdline.contains("phase-grandchild"),
        // A harness alive for seconds: the blocked one, or one that is
        // busy and would go on without testgen.
        Phase::Exploration => p.env("TESTGEN_PROTOCOL_FDS").is_some() && age_s(p.pid) >= 4.0,
        Phase::Validation => staged && !reversed,
        Phase::Isolation => reversed,
        Phase::Fixer => p.cmdline.contains("_testgen_fix_"),
        Phase::Final => {
            p.cmdline.contains("pytest")
                && p.cmdline.contains("--junitxml")
                && !staged
                && has_generated_tests(root)
        }
    }
}

/// Seconds since process `pid` started (its start time in clock ticks of
/// 1/100 s against the uptime).
fn age_s(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let start = stat
        .rsplit_once(") ")
        .and_then(|(_, rest)| rest.split_whitespace().nth(19)?.parse::<f64>().ok());
    let uptime = std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|u| u.split_whitespace().next()?.parse::<f64>().ok());
    match (start, uptime) {
        (Some(start), Some(up)) => up - start / 100.0,
        _ => 0.0,
    }
}

fn has_generated_tests(root: &Path) -> bool {
    std::fs::read_dir(root.join("tests/generated"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|e| e.file_name().to_string_lossy().starts_with("test_"))
}

fn spawn(phase: Phase, root: &Path, log: &Path) -> Child {
    let py = common::python();
    Command::new(common::testgen_bin())
        .args([
            phase.command(),
            root.to_str().unwrap(),
            "--python",
            py.to_str().unwrap(),
        ])
        .env(MARK, root)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// Kills testgen with SIGKILL once `phase` has begun and asserts that no
/// process of the run is left shortly after.
fn sigkill_in(phase: Phase) -> tempfile::TempDir {
    let p = project_blocking_in(phase);
    let root = p.path();
    let _unblock = Unblock(root.to_path_buf());
    let log = tempfile::NamedTempFile::new().unwrap();
    let mut testgen = spawn(phase, root, log.path());
    let mark = root.to_str().unwrap();
    let log_text = || std::fs::read_to_string(log.path()).unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(240);
    loop {
        if marked(mark).iter().any(|pr| shows(phase, pr, root)) {
            break;
        }
        assert!(
            testgen.try_wait().unwrap().is_none(),
            "{phase:?}: testgen ended before the phase began:\n{}",
            log_text()
        );
        assert!(
            Instant::now() < deadline,
            "{phase:?}: the phase never began:\n{}",
            log_text()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // Well inside the phase (pytest past its conftest, the harness
    // importing).
    std::thread::sleep(Duration::from_millis(700));
    let before: Vec<u32> = marked(mark).iter().map(|pr| pr.pid).collect();
    assert!(
        before.len() >= 2,
        "{phase:?}: testgen and at least one child run"
    );
    assert!(
        testgen.try_wait().unwrap().is_none(),
        "{phase:?}: testgen ended before it was killed:\n{}",
        log_text()
    );
    testgen.kill().unwrap();
    testgen.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let left = marked(mark);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{phase:?}: processes left 5 s after testgen was killed:\n{}",
            left.iter()
                .map(|pr| format!("{}: {}", pr.pid, pr.cmdline))
                .collect::<Vec<_>>()
                .join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(_unblock);
    p
}

#[test]
fn sigkill_in_the_baseline_leaves_no_pytest_and_no_grandchild() {
    sigkill_in(Phase::Baseline);
}

#[test]
fn sigkill_in_exploration_leaves_no_harness() {
    sigkill_in(Phase::Exploration);
}

#[test]
fn sigkill_in_validation_leaves_no_pytest_and_the_next_run_trips_over_nothing() {
    let p = sigkill_in(Phase::Validation);
    let (report, out) = common::testgen_json("generate", p.path(), &[]);
    assert!(out.status.success(), "{}", common::output_text(&out));
    assert!(report["tests_written"].as_u64().unwrap() > 0);
    let out = common::pytest(p.path(), &[]);
    assert!(out.status.success(), "{}", common::output_text(&out));
}

#[test]
fn sigkill_in_isolation_leaves_no_pytest() {
    sigkill_in(Phase::Isolation);
}

#[test]
fn sigkill_in_the_fixers_runs_leaves_no_pytest() {
    sigkill_in(Phase::Fixer);
}

#[test]
fn sigkill_in_the_pipelines_later_run_leaves_no_pytest() {
    sigkill_in(Phase::Final);
}
