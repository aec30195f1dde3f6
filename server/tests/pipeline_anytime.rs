//! `testgen run` cut short by its time limit (issue 24): a project of many
//! small modules and one slow one, run once to the end (progress lines in
//! plain mode at least every heartbeat), then cut at several points. Every
//! cut run must keep exactly what it validated: the report, the manifest
//! and the files on disk agree, every kept test passes the final run, and
//! the functions it never reached say "not tried", not "no passing test".

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Output};

use common::python;

const FAST_MODULES: usize = 7;

/// Seven modules of branchy pure functions (explored in a second each) and
/// one whose ten functions' calls outlast the per-call limit (slow to
/// explore, last by value: few lines per function).
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("biglib");
    std::fs::create_dir_all(&pkg).unwrap();
    std::fs::write(pkg.join("__init__.py"), "").unwrap();
    for i in 0..FAST_MODULES {
        std::fs::write(
            pkg.join(format!("m{i}.py")),
            format!(
                r#"def classify_{i}(n):
    if n < 0:
        return "negative"
    if n == 0:
        return "zero"
    if n > 100:
        return "big"
    return "small"


def label_{i}(s):
    if not s:
        return ""
    if s.startswith("a"):
        return s.upper()
    return s[::-1]


def total_{i}(xs):
    t = 0
    for x in xs:
        if x > 0:
            t += x
    return t
"#
            ),
        )
        .unwrap();
    }
    let mut slow = String::from("import time\n");
    for f in 'a'..='j' {
        slow.push_str(&format!(
            "\n\ndef wait_{f}(n):\n    time.sleep(2.5)\n    return n\n"
        ));
    }
    std::fs::write(pkg.join("slowpoke.py"), slow).unwrap();
    std::fs::write(
        dir.path().join("pyproject.toml"),
        "[project]\nname = \"biglib\"\nversion = \"0.1\"\n",
    )
    .unwrap();
    dir
}

fn run(project: &Path, limit_s: Option<u64>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_testgen"));
    cmd.arg("run")
        .arg(project)
        .arg("--python")
        .arg(python())
        .args([
            "--engine",
            "explore",
            "--budget-s",
            "3",
            "--iterations",
            "1",
        ])
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "1")
        .env("TESTGEN_PROGRESS_INTERVAL_S", "2");
    match limit_s {
        Some(s) => cmd.env("GENERATION_TIMEOUT", s.to_string()),
        None => cmd.env_remove("GENERATION_TIMEOUT"),
    };
    cmd.output().expect("running testgen run")
}

fn text(out: &Output) -> String {
    common::output_text(out)
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// (file, test) of every test function in tests/generated/.
fn tests_on_disk(project: &Path) -> BTreeSet<(String, String)> {
    let dir = project.join("tests/generated");
    let mut out = BTreeSet::new();
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if !(name.starts_with("test_") && name.ends_with(".py")) {
            continue;
        }
        for line in std::fs::read_to_string(&p).unwrap().lines() {
            if let Some(rest) = line.strip_prefix("def test_") {
                let test = format!("test_{}", rest.split('(').next().unwrap());
                out.insert((format!("tests/generated/{name}"), test));
            }
        }
    }
    out
}

/// What a cut run must hold, whenever it was cut: returns (tests kept,
/// functions not tried).
fn check_consistent(project: &Path, out: &Output) -> (usize, usize) {
    let all = text(out);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "a cut run still ends with a report and a gate: {all}"
    );
    let report = json(&project.join(".testgen/iteration_report.json"));
    let on_disk = tests_on_disk(project);
    let mut reported = BTreeSet::new();
    for f in report["generated"].as_array().unwrap() {
        for t in f["tests"].as_array().unwrap() {
            reported.insert((
                f["path"].as_str().unwrap().to_string(),
                t["name"].as_str().unwrap().to_string(),
            ));
        }
    }
    assert_eq!(
        reported, on_disk,
        "the report lists the files' tests: {all}"
    );
    let rounds = report["rounds"].as_array().unwrap();
    let written: u64 = rounds
        .iter()
        .map(|r| r["tests_written"].as_u64().unwrap())
        .sum();
    assert_eq!(written as usize, on_disk.len(), "{all}");
    if !on_disk.is_empty() {
        let manifest = json(&project.join("tests/generated/_manifest.json"));
        let listed: BTreeSet<(String, String)> = manifest["tests"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["file"].as_str().unwrap().to_string(),
                    e["test"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            listed, on_disk,
            "the manifest lists the files' tests: {all}"
        );
    }
    assert_eq!(
        report["final_tests"]["failed"].as_u64(),
        Some(0),
        "every kept test passes the final run: {all}"
    );
    let not_tried = report["remaining_gaps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            let r = g["reason"].as_str().unwrap_or("");
            r.starts_with("not tried") || r.starts_with("interrupted")
        })
        .count();
    (on_disk.len(), not_tried)
}

/// Seconds since the run started at which each progress line was printed.
fn progress_times(stderr: &str) -> Vec<(i64, String)> {
    stderr
        .lines()
        .filter(|l| l.contains("targets tried"))
        .filter_map(|l| {
            let stamp = l.strip_prefix('[')?.split(']').next()?;
            let t = humantime::parse_rfc3339(stamp).ok()?;
            let s = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
            Some((s, l.to_string()))
        })
        .collect()
}

#[test]
fn a_run_cut_by_its_time_limit_keeps_what_it_validated_and_says_what_it_did_not_try() {
    // To the end: progress lines come at least every heartbeat while the
    // slow module is explored, and after each batch.
    let full = project();
    let out = run(full.path(), None);
    let (kept_all, not_tried) = check_consistent(full.path(), &out);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(kept_all > 0, "{}", text(&out));
    assert_eq!(not_tried, 0, "{}", text(&out));
    let times = progress_times(&stderr);
    assert!(
        times.len() >= 3,
        "progress lines while generating:\n{stderr}"
    );
    for w in times.windows(2) {
        assert!(
            w[1].0 - w[0].0 <= 3,
            "a progress line at least every 2 s (the heartbeat here), got {} s between\n{}\n{}",
            w[1].0 - w[0].0,
            w[0].1,
            w[1].1
        );
    }
    assert!(
        times
            .iter()
            .any(|(_, l)| l.contains(" modules, ") && l.contains("tests kept")),
        "{stderr}"
    );
    // When the first batch (the fast modules, which promise the most)
    // finished: its progress line names its modules as done.
    let first_batch_s = progress_times(&stderr)
        .iter()
        .find(|(_, l)| !l.contains(": 0/"))
        .map(|(t, _)| t - times[0].0)
        .unwrap_or(10);

    // Cut before anything finished, then after the first batch (the slow
    // module of the second is explored while the first is validated, and
    // takes longer than that).
    for limit in [1, first_batch_s as u64 + 4] {
        let p = project();
        let out = run(p.path(), Some(limit));
        let (kept, not_tried) = check_consistent(p.path(), &out);
        let report = json(&p.path().join(".testgen/iteration_report.json"));
        assert_eq!(
            report["stop"]["reason"].as_str(),
            Some("time_limit"),
            "limit {limit}: {}",
            text(&out)
        );
        assert!(not_tried > 0, "limit {limit}: {}", text(&out));
        if limit == 1 {
            assert_eq!(kept, 0, "{}", text(&out));
        } else {
            assert!(
                kept > 0 && kept <= kept_all,
                "limit {limit}: the first batch is kept ({kept} of {kept_all}): {}",
                text(&out)
            );
        }
        let summary = std::fs::read_to_string(p.path().join(".testgen/summary.md")).unwrap();
        assert!(
            summary.contains("not tried: the time limit ran out"),
            "{summary}"
        );
    }
}
