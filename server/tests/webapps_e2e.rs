//! Issue 20, real application patterns: a web application written by
//! others, from zero tests, through `testgen run --setup` as a user runs it.
//! Flask's own tutorial app (flaskr from Flask 3.1.0's sdist, fetched by
//! tests/setup.sh into .venv-test/share/flaskr: an application factory
//! that creates its instance folder, an SQLite database made by its
//! `init-db` command, views behind `login_required`) must reach 90% line
//! coverage with its routes really exercised (logged in, on objects that
//! exist), and nothing of the project but `tests/generated/` may change.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use common::{copy_to_temp, repo_root};

/// Every file of the project with its content, but what testgen and its
/// runs may write: the venv `--setup` made, `.testgen/`, `tests/generated/`
/// and bytecode caches.
fn project_files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .to_string_lossy()
                .to_string();
            if [".venv", ".testgen", "tests/generated"].contains(&rel.as_str())
                || rel.ends_with("__pycache__")
            {
                continue;
            }
            if path.is_dir() {
                // `tests/` itself is new when testgen writes tests/generated.
                if rel != "tests" {
                    out.insert(format!("{rel}/"), Vec::new());
                }
                walk(root, &path, out);
            } else {
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn flask_tutorial_app_from_zero_tests_is_covered_through_its_real_routes() {
    let src = repo_root().join(".venv-test/share/flaskr");
    assert!(
        src.join("flaskr/__init__.py").exists(),
        "{} is missing: run `bash tests/setup.sh` first",
        src.display()
    );
    let p = copy_to_temp(&src);
    let before = project_files(p.path());
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .arg("run")
        .arg(p.path())
        .args(["--setup", "--engine", "explore"])
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "1")
        .output()
        .expect("running testgen run");
    let text = format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    let report: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.path().join(".testgen/iteration_report.json")).unwrap(),
    )
    .unwrap();
    let after = report["coverage_after"]["line_percent"].as_f64().unwrap();
    assert!(after >= 90.0, "{after}% of lines\n{text}");
    assert_eq!(report["coverage_before"]["line_percent"], 0.0, "{report:#}");
    assert_eq!(report["final_tests"]["failed"], 0, "{report:#}");

    // The app wrote its instance folder and database into a temporary
    // directory: the project holds exactly what it held.
    let changed: Vec<String> = {
        let now = project_files(p.path());
        let keys: std::collections::BTreeSet<&String> = before.keys().chain(now.keys()).collect();
        keys.into_iter()
            .filter(|k| before.get(*k) != now.get(*k))
            .cloned()
            .collect()
    };
    assert!(changed.is_empty(), "project files changed: {changed:?}");

    // The kept tests request the app's routes the way a user does.
    let routes = Command::new(p.path().join(".venv/bin/python"))
        .arg(repo_root().join("bench/routes_exercised.py"))
        .arg(p.path())
        .arg("--json")
        .output()
        .unwrap();
    assert!(routes.status.success(), "{routes:?}");
    let routes: serde_json::Value = serde_json::from_slice(&routes.stdout).unwrap();
    assert_eq!(routes["routes"], 8, "{routes}");
    assert!(
        routes["share"].as_f64().unwrap() >= 80.0,
        "{routes}\n{}",
        generated_tests(p.path())
    );
}

fn generated_tests(root: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(root.join("tests/generated"))
        .unwrap()
        .flatten()
    {
        if e.path().extension().is_some_and(|x| x == "py") {
            out += &std::fs::read_to_string(e.path()).unwrap_or_default();
        }
    }
    out
}
