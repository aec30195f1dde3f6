//! testgen as a well-behaved process: SIGTERM and SIGHUP end a run like
//! Ctrl-C (every process it started is killed, staging is removed), one run
//! per project at a time (a second one waits and says so; SIGKILL in each
//! phase: children_die.rs), and nothing is ever written through a symlink out of the project.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// plainlib with a test that sleeps while `marker` exists, and creates
/// [`started`] when it begins.
fn project_with_a_slow_test() -> (tempfile::TempDir, PathBuf) {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let marker = p.path().join("slow.marker");
    std::fs::write(&marker, "").unwrap();
    std::fs::write(
        p.path().join("tests/test_slow.py"),
        format!(
            "import os, time\n\ndef test_slow():\n    open({:?}, 'w').close()\n    while os.path.exists({:?}):\n        time.sleep(0.1)\n",
            started(p.path()).to_str().unwrap(),
            marker.to_str().unwrap()
        ),
    )
    .unwrap();
    (p, marker)
}

/// Created by the slow test once pytest runs it: waiting for a process
/// that mentions the project could catch a short-lived probe instead and
/// signal testgen before pytest exists, which proves nothing.
fn started(root: &Path) -> PathBuf {
    root.join("slow.started")
}

fn spawn(args: &[&str]) -> Child {
    Command::new(common::testgen_bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// Pids of processes (other than testgen itself) whose command line
/// mentions `needle`.
fn processes_mentioning(needle: &str, except: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == except || pid == std::process::id() {
            continue;
        }
        let Ok(cmd) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        if String::from_utf8_lossy(&cmd).contains(needle) {
            out.push(pid);
        }
    }
    out
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal(child: &Child, sig: i32) {
    // SAFETY: kill(2) on a pid we own.
    assert_eq!(unsafe { libc_kill(child.id() as i32, sig) }, 0);
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

fn staging_dirs(root: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(root.join("tests"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(".testgen-staging-")
        })
        .collect()
}

/// `sig` while pytest runs: testgen ends within seconds and leaves no
/// process of the run behind.
fn ends_cleanly_on(sig: i32, command: &str) {
    let (p, _marker) = project_with_a_slow_test();
    let root = p.path().to_str().unwrap().to_string();
    let py = common::python();
    let mut child = spawn(&[command, &root, "--python", py.to_str().unwrap()]);
    let me = child.id();
    wait_until("the slow test to start", Duration::from_secs(60), || {
        started(p.path()).exists()
    });
    signal(&child, sig);
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "testgen did not stop on signal {sig}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!status.success(), "a stopped run is not a success");
    // SIGKILL of a process group lands asynchronously: look for a while.
    let mut left = processes_mentioning(&root, me);
    for _ in 0..100 {
        if left.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        left = processes_mentioning(&root, me);
    }
    assert!(left.is_empty(), "signal {sig}: processes left: {left:?}");
    assert!(staging_dirs(p.path()).is_empty());
}

#[test]
fn sigterm_ends_test_and_generate_like_ctrl_c() {
    ends_cleanly_on(15, "test");
    ends_cleanly_on(15, "generate");
}

#[test]
fn sighup_ends_a_run_like_ctrl_c() {
    ends_cleanly_on(1, "test");
}

#[test]
fn a_second_run_on_the_same_project_waits_for_the_first() {
    let (p, marker) = project_with_a_slow_test();
    let root = p.path().to_str().unwrap().to_string();
    let py = common::python();
    let mut first = spawn(&["test", &root, "--python", py.to_str().unwrap()]);
    wait_until("the first run's slow test", Duration::from_secs(60), || {
        started(p.path()).exists()
    });
    let second = Command::new(common::testgen_bin())
        .args([
            "generate",
            &root,
            "--python",
            py.to_str().unwrap(),
            "--json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // It waits (the first still runs) rather than sharing .testgen/.
    std::thread::sleep(Duration::from_secs(2));
    assert!(first.try_wait().unwrap().is_none());
    std::fs::remove_file(&marker).unwrap();
    assert!(first.wait().unwrap().success());
    let out = second.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("another testgen run") && stderr.contains("waiting for it to end"),
        "the second run says why it waits: {stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(report["tests_written"].as_u64().unwrap() > 0);
    // Written once: the files hold exactly the tests this run reports.
    let defs: usize = std::fs::read_dir(p.path().join("tests/generated"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("test_"))
        .map(|e| {
            std::fs::read_to_string(e.path())
                .unwrap()
                .matches("\ndef test_")
                .count()
        })
        .sum();
    assert_eq!(defs as u64, report["tests_written"].as_u64().unwrap());
}

#[test]
fn tests_generated_that_links_outside_the_project_is_never_written_through() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), p.path().join("tests/generated")).unwrap();
    let py = common::python();
    let out = common::testgen(&[
        "generate",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("leads outside the project"), "{stderr}");
    assert_eq!(
        std::fs::read_dir(outside.path()).unwrap().count(),
        0,
        "written outside"
    );
}
