//! Projects that have no tests yet, the most common case a test generator
//! meets: a one-file FastAPI app with a requirements.txt, a plain library
//! without a tests directory, and a package that imports only once it is
//! installed (`--setup`). Real binary, real pytest and coverage.py.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// `pytest` as a user types it: the venv's script (not `python -m`, which
/// would put the working directory on sys.path), from the project root.
fn plain_pytest(root: &Path) -> std::process::Output {
    Command::new(common::python().with_file_name("pytest"))
        .current_dir(root)
        .args(["-q", "--color=no", "-p", "no:cacheprovider"])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .output()
        .unwrap()
}

/// Generates from scratch; checks the baseline was a measured 0% and the
/// floor is reached; the written tests pass 3 runs with a plain `pytest`.
fn from_scratch(fixture: &str, floor: f64) -> (Value, tempfile::TempDir) {
    let p = common::copy_to_temp(&common::fixture(fixture));
    assert!(
        !p.path().join("tests").exists(),
        "{fixture} must have no tests"
    );
    let (report, out) = common::testgen_json("generate", p.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}\n{stderr}");
    assert_eq!(report["baseline"], "no_tests", "{report}");
    let before = &report["coverage_before"];
    assert_eq!(before["line_percent"], 0.0, "{report}");
    assert!(
        before["statements"].as_u64().unwrap() > 20,
        "coverage.py measured every file of the project, imported or not: {report}"
    );
    let after = report["coverage_after"]["line_percent"].as_f64().unwrap();
    eprintln!(
        "{fixture}: 0% -> {after}%, {} tests; skipped {}; dropped {}",
        report["tests_written"], report["skipped"], report["dropped"]
    );
    assert!(after >= floor, "{fixture}: {after}% < {floor}%: {report:#}");
    assert!(p.path().join("tests/generated/conftest.py").exists());
    for run in 1..=3 {
        let out = plain_pytest(p.path());
        assert!(
            out.status.success(),
            "{fixture}: plain `pytest` failed in run {run}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // The human summary says it too.
    let copy = common::copy_to_temp(&common::fixture(fixture));
    let py = common::python();
    let text = common::testgen(&[
        "generate",
        copy.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&text.stdout);
    assert!(stdout.contains("no tests found: baseline 0%"), "{stdout}");
    (report, p)
}

#[test]
fn a_fastapi_app_without_tests_gets_a_standalone_suite() {
    let (report, p) = from_scratch("notests_fastapi", 90.0);
    let text = std::fs::read_to_string(p.path().join("tests/generated/test_main.py")).unwrap();
    assert!(text.contains("client.post('/bookmarks'"), "{text}");
    assert!(report["tests_written"].as_u64().unwrap() >= 5, "{report}");
}

#[test]
fn a_library_without_a_tests_dir_gets_a_standalone_suite() {
    from_scratch("notests_lib", 90.0);
}

/// A library reading its version with importlib.metadata cannot be imported
/// until it is installed: without --setup every target is skipped with that
/// reason; with --setup its modules are explored.
#[test]
fn setup_installs_a_package_project_so_its_modules_import() {
    let p = common::copy_to_temp(&common::fixture("metapkg"));
    let (report, out) = common::testgen_json("generate", p.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(report["tests_written"], 0, "{report}");
    let reasons = report["skipped"].to_string();
    assert!(reasons.contains("PackageNotFoundError"), "{reasons}");

    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .env_remove("VIRTUAL_ENV")
        .args(["generate", p.path().to_str().unwrap(), "--setup", "--json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["python"],
        p.path().join(".venv/bin/python").to_str().unwrap()
    );
    let after = report["coverage_after"]["line_percent"].as_f64().unwrap();
    assert!(after >= 90.0, "{report:#}");
    assert!(
        report["files"]
            .to_string()
            .contains("test_metapkg_units.py"),
        "{report}"
    );
}

/// Collection errors are not "no tests": generation stops, in words.
#[test]
fn a_suite_that_does_not_collect_stops_with_a_readable_reason() {
    let p = common::copy_to_temp(&common::fixture("notests_lib"));
    std::fs::create_dir_all(p.path().join("tests")).unwrap();
    std::fs::write(
        p.path().join("tests/test_broken.py"),
        "import nonexistent_module_xyz\n\ndef test_x():\n    pass\n",
    )
    .unwrap();
    let py = common::python();
    let out = common::testgen(&[
        "generate",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not be imported or collected"),
        "{stderr}"
    );
    assert!(stderr.contains("nonexistent_module_xyz"), "{stderr}");
    for internal in [
        "Interrupted",
        "NoTestsCollected",
        "NoBaseline",
        "Some(",
        "Code(",
    ] {
        assert!(!stderr.contains(internal), "{internal} in: {stderr}");
    }
    assert!(!p.path().join("tests/generated").exists());
}

/// Flask's examples configure `testpaths = ["tests"]` with warnings as
/// errors: with no tests/ yet pytest stopped on its configuration warning.
/// testgen creates tests/ (where it writes anyway) and generates from zero.
#[test]
fn testpaths_with_warnings_as_errors_and_no_tests_dir_is_generated_for() {
    let p = common::copy_to_temp(&common::fixture("notests_lib"));
    let pyproject = p.path().join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(
        &pyproject,
        format!("{text}\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\nfilterwarnings = [\"error\"]\n"),
    )
    .unwrap();
    let (report, out) = common::testgen_json("generate", p.path(), &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}\n{stderr}");
    assert_eq!(report["baseline"], "no_tests", "{report}");
    assert!(report["tests_written"].as_u64().unwrap() > 0, "{report}");
    let out = plain_pytest(p.path());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
