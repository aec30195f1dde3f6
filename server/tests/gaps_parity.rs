//! `testgen gaps` per-function figures equal coverage.py's own function
//! regions (`coverage json`, key `functions`) on every fixture project: real
//! pytest, real coverage.py, the real binary.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// (path, coverage.py's region name) -> (def line, statements, missing).
/// Keyed by name, so duplicate qualnames (`@overload` stubs) must be told
/// apart exactly as coverage.py does (`name@line`).
type Figures = BTreeMap<(String, String), (u64, u64, u64)>;

fn run_coverage(project: &Path, python_root: &Path, pythonpath: Option<&Path>) {
    let py = common::python();
    let mut cmd = Command::new(&py);
    if let Some(p) = pythonpath {
        cmd.env("PYTHONPATH", p);
    }
    let out = cmd
        .current_dir(python_root)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--cov=.",
            "--cov-branch",
            // flaskr's pyproject names a `tests` it lacks and turns warnings
            // into errors: the runner silences that one warning the same way.
            "-W",
            "ignore::pytest.PytestConfigWarning",
        ])
        .arg(format!(
            "--cov-report=xml:{}",
            project.join("coverage.xml").display()
        ))
        .output()
        .unwrap();
    // Partial suites pass (exit 0); a project without tests collects none
    // (exit 5) and coverage.py still reports its files.
    assert!(
        matches!(out.status.code(), Some(0 | 5)),
        "pytest failed in {}:\n{}",
        python_root.display(),
        String::from_utf8_lossy(&out.stdout)
    );
    let out = Command::new(&py)
        .current_dir(python_root)
        // -i: the broken fixture holds files coverage.py cannot parse.
        .args(["-m", "coverage", "json", "-q", "-i", "-o"])
        .arg(project.join("cov.json"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn coverage_py_figures(project: &Path, python_root: &Path) -> Figures {
    let prefix = testgen::index::model::RelPath::from_abs(project, python_root)
        .unwrap()
        .to_string();
    let json: Value =
        serde_json::from_slice(&std::fs::read(project.join("cov.json")).unwrap()).unwrap();
    let mut out = Figures::new();
    for (file, data) in json["files"].as_object().unwrap() {
        let path = if prefix.is_empty() {
            file.clone()
        } else {
            format!("{prefix}/{file}")
        };
        for (name, region) in data["functions"].as_object().unwrap() {
            if name.is_empty() {
                continue; // the lines outside every function
            }
            let s = &region["summary"];
            out.insert(
                (path.clone(), name.clone()),
                (
                    region["start_line"].as_u64().unwrap(),
                    s["num_statements"].as_u64().unwrap(),
                    s["missing_lines"].as_u64().unwrap(),
                ),
            );
        }
    }
    out
}

fn testgen_figures(project: &Path, measured: &BTreeMap<String, ()>) -> Figures {
    let out = common::testgen(&["gaps", project.to_str().unwrap(), "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    json["functions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| measured.contains_key(f["path"].as_str().unwrap()))
        .map(|f| {
            (
                (
                    f["path"].as_str().unwrap().to_string(),
                    f["region"].as_str().unwrap().to_string(),
                ),
                (
                    f["line"].as_u64().unwrap(),
                    f["statements"].as_u64().unwrap(),
                    f["missing_lines"].as_array().unwrap().len() as u64,
                ),
            )
        })
        .collect()
}

fn check_fixture(name: &str) -> usize {
    let copy = common::copy_to_temp(&common::fixture(name));
    check_project(name, &copy.path().canonicalize().unwrap(), None)
}

fn check_project(name: &str, project: &Path, pythonpath: Option<&Path>) -> usize {
    let project = project.to_path_buf();
    let index = common::testgen(&["index", project.to_str().unwrap(), "--json"]);
    let index: Value = serde_json::from_slice(&index.stdout).unwrap();
    let python_root = Path::new(index["python_root"].as_str().unwrap()).to_path_buf();
    run_coverage(&project, &python_root, pythonpath);

    let theirs = coverage_py_figures(&project, &python_root);
    let measured: BTreeMap<String, ()> = theirs.keys().map(|(p, _)| (p.clone(), ())).collect();
    let ours = testgen_figures(&project, &measured);
    let mismatches: Vec<String> = theirs
        .iter()
        .filter(|(k, v)| ours.get(*k) != Some(v))
        .map(|(k, v)| {
            format!(
                "{} {} coverage.py {:?} testgen {:?}",
                k.0,
                k.1,
                v,
                ours.get(k)
            )
        })
        .chain(
            ours.keys()
                .filter(|k| !theirs.contains_key(*k))
                .map(|k| format!("{} {} only in testgen", k.0, k.1)),
        )
        .collect();
    assert!(
        mismatches.is_empty(),
        "fixture {name}: {} of {} functions differ:\n{}",
        mismatches.len(),
        theirs.len(),
        mismatches.join("\n")
    );
    assert!(
        !theirs.is_empty(),
        "fixture {name}: coverage.py reported no functions"
    );
    theirs.len()
}

#[test]
fn per_function_figures_equal_coverage_py_on_every_fixture() {
    let dir = common::repo_root().join("tests/fixtures");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        // `fixer`'s suite fails on purpose (testgen fix's fixture): pytest
        // stops at its collection error, so there is no whole run to compare.
        if entry.file_type().unwrap().is_dir() && name != "fixer" {
            let n = check_fixture(&name);
            checked.push(format!("{name}: {n} functions"));
        }
    }
    assert!(
        checked.iter().any(|c| c.starts_with("regions")),
        "{checked:?}"
    );
    eprintln!("checked {checked:?}");
}

/// Code nobody here wrote, with `@typing.overload` stubs (7 of its 62
/// functions share a qualname with another def).
#[test]
fn per_function_figures_equal_coverage_py_on_itsdangerous() {
    let (_keep, project) = common::sdist("itsdangerous", "2.2.0");
    let project = project.canonicalize().unwrap();
    // src/ layout: the package must import from the sdist, not from the
    // copy Flask installed into the test venv.
    let n = check_project("itsdangerous", &project, Some(&project.join("src")));
    assert!(
        n >= 62 + 40,
        "coverage.py reported {n} functions (source and tests)"
    );
}
