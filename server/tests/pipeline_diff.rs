//! Pull-request mode, `testgen run --diff BASE`, on a fixture repository of
//! two commits (plainlib, then a change to one function and a new one):
//! only the changed functions are targets, the gate is the changed lines'
//! coverage with the project total beside it, and summary.md lists the
//! changed functions with their coverage before and after.

mod common;

use std::path::Path;

use common::runner_emu::{git, repository};
use serde_json::Value;

/// Commit 2: `truncate` gets a new branch, `shout` is new.
fn change(work: &Path) {
    let file = work.join("plainlib/text.py");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text.replace(
        "    if len(text) <= width:\n        return text\n",
        "    if width == 0:\n        return \"\"\n    if len(text) <= width:\n        return text\n",
    );
    let text = format!(
        "{text}\n\ndef shout(text, times=1):\n    if times < 1:\n        raise ValueError(\"times must be positive\")\n    return \" \".join([text.upper()] * times)\n"
    );
    std::fs::write(&file, text).unwrap();
    git(work, &["commit", "-q", "-am", "truncate to nothing; shout"]);
}

fn run(work: &Path, extra: &[&str]) -> (Value, std::process::Output) {
    common::testgen_json(
        "run",
        work,
        &[&["--iterations", "1", "--min-coverage", "80"], extra].concat(),
    )
}

#[test]
fn only_changed_functions_are_targets_and_the_gate_is_their_lines() {
    let scratch = tempfile::tempdir().unwrap();
    let (work, _remote) = repository(&common::fixture("plainlib"), scratch.path());
    let base = git(&work, &["rev-parse", "HEAD"]);
    change(&work);

    let (r, out) = run(&work, &["--diff", &base]);
    let log = format!("{r:#}\n{}", common::output_text(&out));
    assert_eq!(out.status.code(), Some(0), "{log}");

    let changed = &r["changed"];
    assert_eq!(changed["base"], base.as_str());
    let functions: Vec<&str> = changed["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["target"].as_str().unwrap())
        .collect();
    assert_eq!(
        functions,
        ["plainlib/text.py::truncate", "plainlib/text.py::shout"],
        "{log}"
    );
    // Only they were targets: plainlib has 15 functions with gaps.
    assert_eq!(r["rounds"][0]["targets"], 2, "{log}");
    let targets: Vec<&str> = r["generated"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["tests"].as_array().unwrap())
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert!(!targets.is_empty(), "{log}");
    assert!(
        targets.iter().all(|t| functions.contains(t)),
        "a test for an unchanged function: {targets:?}"
    );

    // The gate: the changed lines, which were not all covered before.
    let before = changed["coverage_before"].as_f64().unwrap();
    let after = changed["coverage_after"].as_f64().unwrap();
    assert!(before < 80.0 && after >= 80.0, "{log}");
    let gate = &r["gates"][0];
    assert!(
        gate["label"]
            .as_str()
            .unwrap()
            .starts_with("Changed lines coverage >= 80"),
        "{gate}"
    );
    assert_eq!(gate["value"].as_f64(), Some(after));
    // The project total is still reported, and far from what generating
    // for every gap reaches.
    let total = r["coverage_after"]["line_percent"].as_f64().unwrap();
    assert!(total < 90.0, "{log}");

    let summary = std::fs::read_to_string(work.join(".testgen/summary.md")).unwrap();
    assert!(
        summary.contains(&format!("### Changed since `{base}`")),
        "{summary}"
    );
    let shout = summary
        .lines()
        .find(|l| l.starts_with("| `plainlib/text.py::shout` |"))
        .unwrap_or_else(|| panic!("{summary}"));
    assert!(shout.contains("| 0% | 100% |"), "{shout}");
    assert!(
        summary.contains("| Changed lines coverage >= 80% | PASS |"),
        "{summary}"
    );
}

/// A revision git does not know, or a project outside git: one message,
/// exit 2, nothing written.
#[test]
fn a_bad_base_is_a_clear_error() {
    let scratch = tempfile::tempdir().unwrap();
    let (work, _remote) = repository(&common::fixture("plainlib"), scratch.path());
    let plain_run = |dir: &Path, base: &str| {
        let py = common::python();
        common::testgen(&[
            "run",
            dir.to_str().unwrap(),
            "--python",
            py.to_str().unwrap(),
            "--diff",
            base,
        ])
    };
    let out = plain_run(&work, "no-such-branch");
    assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--diff no-such-branch: git does not know this revision"),
        "{err}"
    );
    assert!(!work.join("tests/generated").exists());

    let plain = common::copy_to_temp(&common::fixture("plainlib"));
    let out = plain_run(plain.path(), "main");
    assert_eq!(out.status.code(), Some(2), "{}", common::output_text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is not inside a git repository"), "{err}");
}
