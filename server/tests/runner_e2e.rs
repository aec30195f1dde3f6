//! `testgen test` end to end: real pytest, real coverage.py, the real binary,
//! checked against what pytest and `coverage report` say on their own.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

const FIXTURES: [&str; 7] = [
    "plainlib",
    "flaskapp",
    "fastapiapp",
    "djangoapp",
    "fullstack",
    "broken",
    "regions",
];

fn testgen_test(project: &Path, extra: &[&str]) -> (Value, std::process::Output) {
    common::testgen_json("test", project, extra)
}

/// pytest's own summary line, e.g. "1 failed, 2 passed, 1 xfailed in 0.1s".
fn pytest_summary(cwd: &Path, args: &[&str]) -> BTreeMap<String, u64> {
    let out = Command::new(common::python())
        .current_dir(cwd)
        .args(["-m", "pytest", "-q", "--color=no", "-p", "no:cacheprovider"])
        .args(args)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" in ") && l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or_else(|| panic!("no summary line in:\n{stdout}"));
    let mut counts = BTreeMap::new();
    for part in line.split(" in ").next().unwrap().split(", ") {
        let (n, what) = part.trim().split_once(' ').unwrap();
        let key = match what {
            "errors" => "error",
            // Warnings are not test outcomes.
            "warning" | "warnings" => continue,
            w => w,
        };
        counts.insert(key.to_string(), n.parse().unwrap());
    }
    counts
}

fn our_counts(run: &Value) -> BTreeMap<String, u64> {
    let mut m = BTreeMap::new();
    for (k, v) in run["counts"].as_object().unwrap() {
        let n = v.as_u64().unwrap();
        if n > 0 {
            let key = if k == "xfailed" { "xfailed" } else { k };
            m.insert(key.to_string(), n);
        }
    }
    m
}

/// `coverage report`'s TOTAL percent for a plain `pytest --cov` run.
fn coverage_report_total(python_root: &Path) -> String {
    let py = common::python();
    let out = Command::new(&py)
        .current_dir(python_root)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--cov-branch",
        ])
        .arg(format!("--cov={}", python_root.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(&py)
        .current_dir(python_root)
        .args(["-m", "coverage", "report", "-i", "--precision=2"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let total = text
        .lines()
        .find(|l| l.starts_with("TOTAL"))
        .unwrap_or_else(|| panic!("no TOTAL in:\n{text}"));
    total
        .split_whitespace()
        .last()
        .unwrap()
        .trim_end_matches('%')
        .to_string()
}

fn python_root_of(project: &Path) -> PathBuf {
    if project.join("backend/requirements.txt").exists() {
        project.join("backend")
    } else {
        project.to_path_buf()
    }
}

#[test]
fn counts_and_coverage_equal_pytest_and_coverage_report_on_every_fixture() {
    for name in FIXTURES {
        let ours = common::copy_to_temp(&common::fixture(name));
        let (run, out) = testgen_test(ours.path(), &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {run}");
        assert_eq!(run["outcome"], "passed", "{name}");

        let theirs = common::copy_to_temp(&common::fixture(name));
        let root = python_root_of(theirs.path());
        assert_eq!(
            our_counts(&run),
            pytest_summary(&root, &[]),
            "{name}: counts"
        );
        let percent = run["coverage"]["percent"].as_f64().unwrap();
        assert_eq!(
            format!("{percent:.2}"),
            coverage_report_total(&root),
            "{name}: coverage percent"
        );
        // Artifacts under .testgen/, nothing else added to the project.
        let dot = ours.path().join(".testgen");
        for f in [
            "coverage.xml",
            "test-results.xml",
            "contexts.json",
            ".gitignore",
        ] {
            assert!(dot.join(f).is_file(), "{name}: .testgen/{f} missing");
        }
        assert!(!ours.path().join(".coverage").exists(), "{name}");
        // Every result knows its file and the line of its def.
        for t in run["tests"].as_array().unwrap() {
            assert!(t["file"].is_string(), "{name}: {t}");
            assert!(t["line"].as_u64().is_some_and(|l| l > 0), "{name}: {t}");
        }
    }
}

#[test]
fn gaps_reads_the_fresh_coverage_of_the_run() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let (run, _) = testgen_test(p.path(), &[]);
    let out = common::testgen(&["gaps", p.path().to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gaps: Value = serde_json::from_slice(&out.stdout).unwrap();
    let a = gaps["overall_coverage"].as_f64().unwrap();
    let b = run["coverage"]["percent"].as_f64().unwrap();
    assert!((a - b).abs() < 0.01, "gaps {a} vs run {b}");
}

const MIXED_TESTS: &str = r#"
import pytest

def test_pass():
    assert 1 + 1 == 2

def test_fail():
    assert [1, 2] == [1, 3], "lists differ"

@pytest.fixture
def broken_fixture():
    raise RuntimeError("fixture exploded")

def test_error(broken_fixture):
    pass

@pytest.mark.skip(reason="not today")
def test_skipped():
    pass

@pytest.mark.xfail(reason="known bug", strict=True)
def test_xfail():
    assert False

@pytest.mark.parametrize("n", [1, 2, 3])
def test_param(n):
    assert n < 3

class TestGroup:
    def test_in_class(self):
        assert True
"#;

fn mixed_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("tests")).unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("tests/test_mixed.py"), MIXED_TESTS).unwrap();
    dir
}

#[test]
fn failures_errors_skips_xfails_and_params_are_counted_as_pytest_counts_them() {
    let p = mixed_project();
    let (run, out) = testgen_test(p.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "failing tests exit 1: {run}");
    assert_eq!(run["outcome"], "tests_failed");
    assert_eq!(run["exit_code"], 1);
    let theirs = mixed_project();
    assert_eq!(our_counts(&run), pytest_summary(theirs.path(), &[]));

    let tests = run["tests"].as_array().unwrap();
    let by_id = |id: &str| {
        tests
            .iter()
            .find(|t| t["nodeid"] == id)
            .unwrap_or_else(|| panic!("{id} missing in {run}"))
    };
    let fail = by_id("tests/test_mixed.py::test_fail");
    assert_eq!(fail["outcome"], "failed");
    assert_eq!(fail["line"], 7);
    assert!(fail["message"].as_str().unwrap().contains("lists differ"));
    assert!(fail["traceback"]
        .as_str()
        .unwrap()
        .contains("assert [1, 2] == [1, 3]"));
    assert_eq!(by_id("tests/test_mixed.py::test_error")["outcome"], "error");
    assert_eq!(by_id("tests/test_mixed.py::test_xfail")["outcome"], "xfail");
    assert_eq!(
        by_id("tests/test_mixed.py::test_param[3]")["outcome"],
        "failed"
    );
    // The line of the `def`, also under a decorator.
    assert_eq!(by_id("tests/test_mixed.py::test_param[3]")["line"], 26);
    let in_class = by_id("tests/test_mixed.py::TestGroup::test_in_class");
    assert_eq!(in_class["line"], 30);
}

#[test]
fn a_collection_error_is_a_result_with_file_and_message() {
    let p = tempfile::tempdir().unwrap();
    std::fs::write(p.path().join("test_ok.py"), "def test_ok():\n    pass\n").unwrap();
    std::fs::write(
        p.path().join("test_broken.py"),
        "import no_such_module_anywhere\n\ndef test_x():\n    pass\n",
    )
    .unwrap();
    let (run, out) = testgen_test(p.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{run}");
    assert_eq!(run["outcome"], "interrupted");
    let err = run["tests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["outcome"] == "error")
        .unwrap_or_else(|| panic!("no error result: {run}"));
    assert_eq!(err["file"], "test_broken.py");
    assert!(
        err["traceback"]
            .as_str()
            .unwrap()
            .contains("no_such_module_anywhere"),
        "{err}"
    );
}

#[test]
fn no_tests_collected_is_not_an_error() {
    let p = tempfile::tempdir().unwrap();
    std::fs::write(p.path().join("mod.py"), "X = 1\n").unwrap();
    let (run, out) = testgen_test(p.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{run}");
    assert_eq!(run["outcome"], "no_tests_collected");
    assert_eq!(run["exit_code"], 5);
}

#[test]
fn only_runs_the_given_node_ids() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let (run, _) = testgen_test(
        p.path(),
        &["--only", "tests/test_pricing.py::test_discount"],
    );
    let ids: Vec<_> = run["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["nodeid"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, ["tests/test_pricing.py::test_discount"]);
    assert_eq!(run["scope"], "partial");
}

/// The tests coverage.py recorded for lines of a file, read straight from
/// `coverage json --show-contexts` output.
fn tests_in_coverage_json(
    json: &Value,
    file: &str,
    lines: std::ops::RangeInclusive<u32>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (line, ctxs) in json["files"][file]["contexts"].as_object().unwrap() {
        if lines.contains(&line.parse::<u32>().unwrap()) {
            for c in ctxs.as_array().unwrap() {
                let c = c.as_str().unwrap();
                if let Some((id, _)) = c.rsplit_once('|') {
                    out.insert(id.to_string());
                }
            }
        }
    }
    out
}

#[test]
fn affected_runs_strictly_fewer_tests_and_every_test_covering_the_lines() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let (full, _) = testgen_test(p.path(), &[]);
    let full_n = full["tests"].as_array().unwrap().len();
    let cov: Value =
        serde_json::from_slice(&std::fs::read(p.path().join(".testgen/coverage.json")).unwrap())
            .unwrap();
    // The pricing module: lines 1-200 covers all of it.
    let expected = tests_in_coverage_json(&cov, "plainlib/pricing.py", 1..=200);
    assert!(!expected.is_empty());

    let (part, out) = testgen_test(p.path(), &["--affected", "plainlib/pricing.py:1-200"]);
    assert!(out.status.success(), "{part}");
    let ran: BTreeSet<String> = part["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["nodeid"].as_str().unwrap().to_string())
        .collect();
    assert!(ran.len() < full_n, "{} of {full_n}", ran.len());
    assert!(
        ran.is_superset(&expected),
        "ran {ran:?}, expected {expected:?}"
    );
    assert_eq!(part["scope"], "partial");
    // The whole suite's coverage report is left whole.
    let gaps = common::testgen(&["gaps", p.path().to_str().unwrap(), "--json"]);
    let gaps: Value = serde_json::from_slice(&gaps.stdout).unwrap();
    let a = gaps["overall_coverage"].as_f64().unwrap();
    let b = full["coverage"]["percent"].as_f64().unwrap();
    assert!(
        (a - b).abs() < 0.01,
        "partial run replaced the full coverage: {a} vs {b}"
    );
}

#[test]
fn affected_without_recorded_contexts_runs_the_whole_suite_and_says_so() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let (run, out) = testgen_test(p.path(), &["--affected", "plainlib/pricing.py"]);
    assert!(out.status.success());
    assert_eq!(run["scope"], "full");
    assert!(run["note"].as_str().unwrap().contains("whole suite"));
    assert_eq!(run["counts"]["passed"], 9);
}

fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !(s.contains(") Z ") || s.contains(") X ")),
        Err(_) => false,
    }
}

/// SIGKILL lands asynchronously: on a loaded machine a killed process can
/// still look alive for a moment, so poll rather than check once.
fn dies_within(pid: u32, limit: std::time::Duration) -> bool {
    let start = std::time::Instant::now();
    while start.elapsed() < limit {
        if !alive(pid) {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    false
}

#[test]
fn a_test_that_sleeps_forever_is_killed_with_its_whole_process_group() {
    let p = tempfile::tempdir().unwrap();
    let pids = p.path().join("pids");
    std::fs::write(
        p.path().join("test_forever.py"),
        format!(
            r#"
import os, subprocess, time

def test_forever():
    child = subprocess.Popen(["sleep", "1000"])
    with open({pids:?}, "w") as f:
        f.write(f"{{os.getpid()}} {{child.pid}}")
    time.sleep(1000)
"#,
            pids = pids.to_str().unwrap()
        ),
    )
    .unwrap();
    let start = std::time::Instant::now();
    let (run, out) = testgen_test(p.path(), &["--timeout", "3"]);
    assert!(start.elapsed().as_secs() < 60);
    assert_eq!(out.status.code(), Some(2), "{run}");
    assert_eq!(run["outcome"], "timed_out");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("did not finish within 3 s"), "{stderr}");
    let text = std::fs::read_to_string(&pids).expect("the test started");
    for pid in text.split_whitespace() {
        let pid: u32 = pid.parse().unwrap();
        assert!(
            dies_within(pid, std::time::Duration::from_secs(10)),
            "process {pid} survived the timeout"
        );
    }
}

/// A venv with real pytest and coverage.py but without pytest-cov: the
/// test interpreter's packages, minus pytest-cov, through a .pth file.
fn venv_without_pytest_cov() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let venv = dir.path().join("venv");
    let ok = Command::new("python3")
        .args(["-m", "venv", "--without-pip"])
        .arg(&venv)
        .status()
        .unwrap();
    assert!(ok.success());
    let py = venv.join("bin/python");
    let site = Command::new(&py)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let site = PathBuf::from(String::from_utf8_lossy(&site.stdout).trim());
    let theirs = Command::new(common::python())
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ])
        .output()
        .unwrap();
    let theirs = PathBuf::from(String::from_utf8_lossy(&theirs.stdout).trim());
    let shadow = dir.path().join("shadow");
    std::fs::create_dir_all(&shadow).unwrap();
    for entry in std::fs::read_dir(&theirs).unwrap() {
        let name = entry.unwrap().file_name();
        let n = name.to_string_lossy().to_lowercase();
        if n.starts_with("pytest_cov") || n.starts_with("pytest-cov") {
            continue;
        }
        std::os::unix::fs::symlink(theirs.join(&name), shadow.join(&name)).unwrap();
    }
    std::fs::write(site.join("shadow.pth"), format!("{}\n", shadow.display())).unwrap();
    (dir, py)
}

#[test]
fn missing_pytest_cov_names_the_interpreter_and_the_fix() {
    let (_keep, py) = venv_without_pytest_cov();
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let out = common::testgen(&[
        "test",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected = format!(
        "pytest-cov not installed in {py}; install with: {py} -m pip install pytest pytest-cov",
        py = py.display()
    );
    assert!(stderr.contains(&expected), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one clear line: {stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_missing_interpreter_is_one_clear_error() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let out = common::testgen(&[
        "test",
        p.path().to_str().unwrap(),
        "--python",
        "/no/such/python3",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("/no/such/python3"), "{stderr}");
}
