//! Issue 20, real application patterns: a web application written by
//! others, from zero tests, through `testgen run --setup` as a user runs it.
//! Flask's own tutorial app (flaskr from Flask 3.1.0's sdist, fetched by
//! tests/setup.sh into .venv-test/share/flaskr: an application factory
//! that creates its instance folder, an SQLite database made by its
//! `init-db` command, views behind `login_required`) must reach 90% line
//! coverage with its routes really exercised (logged in, on objects that
//! exist), and nothing of the project but `tests/generated/` may change.
//! The same holds for FastAPI's documentation app (tests/fetch_fastapi_app.sh).

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

/// What a `testgen run --setup --engine explore` from zero tests left.
struct Run {
    project: tempfile::TempDir,
    text: String,
}

/// Runs testgen on a copy of the app in `.venv-test/share/NAME` (fetched
/// by tests/setup.sh) and checks what every app must meet: exit 0, from 0%
/// to at least 90% of lines, nothing failing, no project file changed.
fn run_from_zero(name: &str, marker: &str) -> Run {
    let src = repo_root().join(".venv-test/share").join(name);
    assert!(
        src.join(marker).exists(),
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
    Run { project: p, text }
}

/// The share of the app's routes its kept tests request the way a user
/// does (bench/routes_exercised.py).
fn routes_exercised(run: &Run, apps: &[&str]) -> serde_json::Value {
    let p = run.project.path();
    let routes = Command::new(p.join(".venv/bin/python"))
        .arg(repo_root().join("bench/routes_exercised.py"))
        .arg(p)
        .arg("--json")
        .arg(format!("--apps={}", apps.join(",")))
        .output()
        .unwrap();
    assert!(routes.status.success(), "{routes:?}");
    serde_json::from_slice(&routes.stdout).unwrap()
}

#[test]
fn flask_tutorial_app_from_zero_tests_is_covered_through_its_real_routes() {
    let run = run_from_zero("flaskr", "flaskr/__init__.py");
    let routes = routes_exercised(&run, &[]);
    assert_eq!(routes["routes"], 8, "{routes}");
    assert!(
        routes["share"].as_f64().unwrap() >= 80.0,
        "{routes}\n{}\n{}",
        generated_tests(run.project.path()),
        run.text
    );
}

/// FastAPI's documentation app: routers included into app/main.py behind
/// a query token and a header token compared against constants, and a
/// second application (app/heroes.py) with SQLModel on an SQLite file its
/// startup creates in the working directory.
#[test]
fn fastapi_docs_app_with_routers_and_two_apps_is_covered_through_its_real_routes() {
    let run = run_from_zero("fastapi_app", "app/heroes.py");
    let routes = routes_exercised(&run, &["app.main:app", "app.heroes:app"]);
    assert_eq!(routes["routes"], 13, "{routes}");
    assert!(
        routes["share"].as_f64().unwrap() >= 80.0,
        "{routes}\n{}\n{}",
        generated_tests(run.project.path()),
        run.text
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
