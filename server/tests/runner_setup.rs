//! `testgen test` on a real project from PyPI and `--setup` on a fresh copy.
//! Both use the package registry (PyPI), the one network this project has.

mod common;

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn itsdangerous_copy() -> (tempfile::TempDir, PathBuf) {
    common::sdist("itsdangerous", "2.2.0")
}

#[test]
fn a_real_projects_suite_counts_and_coverage_equal_pytest_and_coverage_report() {
    let py = common::python();
    let (_keep, ours) = itsdangerous_copy();
    // src/ layout: the package imports from src/ as tox would install it.
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .env("PYTHONPATH", ours.join("src"))
        .args(["test", ours.to_str().unwrap(), "--json", "--python"])
        .arg(&py)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();

    let (_keep2, theirs) = itsdangerous_copy();
    let pytest = Command::new(&py)
        .current_dir(&theirs)
        .env("PYTHONPATH", theirs.join("src"))
        .args([
            "-m",
            "pytest",
            "-q",
            "--color=no",
            "-p",
            "no:cacheprovider",
            "--cov-branch",
        ])
        .arg(format!("--cov={}", theirs.display()))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&pytest.stdout);
    let summary = stdout.lines().last().unwrap();
    let passed = run["counts"]["passed"].as_u64().unwrap();
    assert!(passed > 200, "{summary}");
    assert!(
        summary.starts_with(&format!("{passed} passed in ")),
        "pytest: {summary:?}, testgen: {}",
        run["counts"]
    );
    let report = Command::new(&py)
        .current_dir(&theirs)
        .args(["-m", "coverage", "report", "--precision=2"])
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&report.stdout);
    let total = report.lines().find(|l| l.starts_with("TOTAL")).unwrap();
    let percent = run["coverage"]["percent"].as_f64().unwrap();
    assert!(
        total.ends_with(&format!("{percent:.2}%")),
        "coverage report: {total:?}, testgen: {percent}"
    );
}

#[test]
fn setup_makes_a_working_venv_from_requirements_txt() {
    let p = common::copy_to_temp(&common::fixture("flaskapp"));
    assert!(p.path().join("requirements.txt").exists());
    assert!(!p.path().join(".venv").exists());
    let run = |extra: &[&str]| {
        let mut args = vec!["test", p.path().to_str().unwrap(), "--setup", "--json"];
        args.extend_from_slice(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
            .env_remove("VIRTUAL_ENV")
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let first = run(&[]);
    let venv_python = p.path().join(".venv/bin/python");
    assert!(venv_python.exists());
    assert_eq!(first["python"], venv_python.to_str().unwrap());
    assert_eq!(first["outcome"], "passed");
    assert_eq!(first["counts"]["passed"], 4);
    // A second --setup with unchanged requirements installs nothing.
    let start = std::time::Instant::now();
    let second = run(&[]);
    assert_eq!(second["outcome"], "passed");
    assert!(start.elapsed().as_secs() < 30);
    // And without --setup the project's .venv is found on its own.
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .env_remove("VIRTUAL_ENV")
        .args(["test", p.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    let third: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(third["python"], venv_python.to_str().unwrap());
}
