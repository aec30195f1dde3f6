//! Project setups pytest or coverage.py cannot work with: each gives one
//! line naming the setting, the file and the fix (runner/diagnose.rs), on
//! `testgen test` and on `testgen generate` alike, never "coverage.py wrote
//! no report" and never a Rust name. Each project is made here: a package,
//! one passing test, and the broken piece.

mod common;

use std::path::Path;

/// A small project whose one test passes; `files` add or replace files.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let p = tempfile::tempdir().unwrap();
    let base: &[(&str, &str)] = &[
        ("pkg/__init__.py", ""),
        (
            "pkg/m.py",
            "def f(n):\n    if n > 1:\n        return n\n    return 0\n",
        ),
        (
            "tests/test_m.py",
            "from pkg.m import f\n\n\ndef test_f():\n    assert f(2) == 2\n",
        ),
    ];
    for (name, text) in base.iter().chain(files) {
        let path = p.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    p
}

/// The one error line of `testgen COMMAND` on `root` (exit 2).
fn error_line(command: &str, root: &Path) -> String {
    let py = common::python();
    let out = common::testgen(&[
        command,
        root.to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{command}: {text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("coverage.py wrote no report"), "{text}");
    assert!(!stderr.contains("UsageError"), "{text}");
    let errors: Vec<&str> = stderr.lines().filter(|l| l.contains("error:")).collect();
    assert_eq!(errors.len(), 1, "{command}: one error line: {text}");
    errors[0].to_string()
}

/// The same line from `test` and `generate`; it holds every part of
/// `want`.
fn says(root: &Path, want: &[&str]) {
    for command in ["test", "generate"] {
        let line = error_line(command, root);
        for w in want {
            assert!(line.contains(w), "{command}: {w:?} missing in {line:?}");
        }
    }
}

#[test]
fn a_configuration_warning_made_an_error_names_filterwarnings_and_the_option() {
    let p = project(&[(
        "pyproject.toml",
        "[tool.pytest.ini_options]\nfilterwarnings = [\"error\"]\nbogus_option = 1\n",
    )]);
    says(
        p.path(),
        &[
            "`filterwarnings = error` in pyproject.toml ([tool.pytest.ini_options])",
            "Unknown config option: bogus_option",
            "remove `bogus_option` from pyproject.toml",
        ],
    );
}

#[test]
fn a_configuration_pytest_cannot_read_quotes_pytest_and_names_the_file() {
    let p = project(&[("pytest.ini", "[pytest]\naddopts = -q\nnot a setting\n")]);
    says(
        p.path(),
        &[
            "pytest cannot read its configuration in pytest.ini",
            "pytest.ini:3: unexpected line: 'not a setting'",
            "correct the place it names",
        ],
    );
}

#[test]
fn an_addopts_option_of_a_plugin_not_installed_names_the_plugin() {
    let p = project(&[(
        "pyproject.toml",
        "[tool.pytest.ini_options]\naddopts = \"--timeout=30\"\n",
    )]);
    says(
        p.path(),
        &[
            "`addopts` in pyproject.toml ([tool.pytest.ini_options]) passes --timeout=30",
            "install pytest-timeout into",
        ],
    );
}

#[test]
fn a_plugin_loaded_by_addopts_that_is_not_installed_is_named() {
    let p = project(&[("pytest.ini", "[pytest]\naddopts = -p nosuchplugin\n")]);
    says(
        p.path(),
        &[
            "the pytest plugin \"nosuchplugin\" is not installed in",
            "`addopts` in pytest.ini loads it",
        ],
    );
}

#[test]
fn a_conftest_that_does_not_import_names_the_file_and_the_module() {
    let p = project(&[("tests/conftest.py", "import nosuchmod\n")]);
    says(
        p.path(),
        &[
            "tests/conftest.py does not import (ModuleNotFoundError: No module named 'nosuchmod')",
            "install nosuchmod into",
        ],
    );
}

#[test]
fn a_coverage_source_that_names_nothing_importable_names_the_setting() {
    let p = project(&[(
        "pyproject.toml",
        "[tool.coverage.run]\nsource = [\"nosuch\"]\n",
    )]);
    says(
        p.path(),
        &[
            "`source` in pyproject.toml ([tool.coverage.run]) names nosuch, which the tests never import",
            "set `source` to the project's importable package",
        ],
    );
}

/// `--setup` on a package whose build fails: the build tool's own line,
/// not pip's closing "This error originates from a subprocess".
#[test]
fn a_failed_setup_shows_the_build_tools_own_error_line() {
    let p = project(&[
        (
            "setup.py",
            "from setuptools import setup\nsetup(name=\"pkg\", version=\"0.1\", packages=[\"pkg\", \"pkg.tests\"])\n",
        ),
        ("requirements.txt", "-e .\n"),
    ]);
    let out = common::testgen(&["test", p.path().to_str().unwrap(), "--setup"]);
    let text = common::output_text(&out);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("installing requirements.txt failed"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        line.contains("error: package directory 'pkg/tests' does not exist"),
        "{line}"
    );
    assert!(!stderr.contains("originates from a subprocess"), "{text}");
}
