//! The explore harness's own pytest suite (server/python/tests), run with the
//! test interpreter so that `cargo test` covers the Python half too. Fails
//! with pytest's output when pytest fails.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Far above the suite's few seconds; only there so a hang cannot stall CI.
const TIMEOUT: Duration = Duration::from_secs(300);

#[test]
fn harness_pytest_suite_passes() {
    let python_dir = common::repo_root().join("server/python");
    let out_file = tempfile::NamedTempFile::new().unwrap();
    let mut child = Command::new(common::python())
        .current_dir(&python_dir)
        .args(["-m", "pytest", "tests", "-q", "--color=no"])
        .args(["-p", "no:cacheprovider"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(out_file.reopen().unwrap())
        .stderr(out_file.reopen().unwrap())
        .process_group(0)
        .spawn()
        .expect("running pytest");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > TIMEOUT {
            let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            let _ = child.wait();
            panic!(
                "pytest server/python/tests ran longer than {TIMEOUT:?}:\n{}",
                std::fs::read_to_string(out_file.path()).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let output = std::fs::read_to_string(out_file.path()).unwrap();
    assert!(
        status.success(),
        "pytest server/python/tests failed ({status}):\n{output}"
    );
    // A suite that collected nothing must not pass silently.
    assert!(
        output.lines().any(|l| l.contains(" passed")),
        "no test passed:\n{output}"
    );
}
