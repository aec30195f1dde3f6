//! `testgen run` and `testgen merge` end to end: the real binary on fresh
//! copies of the fixtures, real pytest and coverage.py, every artifact,
//! the gates and exit codes, report.html in a real headless Chromium, the
//! SARIF against the SARIF 2.1.0 schema, and 3 merged shards against one
//! unsharded run.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{copy_to_temp, fixture, python, repo_root};

/// The artifacts every run leaves under .testgen/ (testgen.sarif only with
/// --format sarif).
const ARTIFACTS: &[&str] = &[
    "coverage.xml",
    "htmlcov/index.html",
    "test-results.xml",
    "analysis.json",
    "coverage_gaps.json",
    "iteration_report.json",
    "auto_fixer_report.json",
    "manual_test_result.json",
    "summary.md",
    "report.html",
];

fn run(project: &Path, extra: &[&str], env: &[(&str, &Path)]) -> Output {
    let py = python();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_testgen"));
    cmd.arg("run").arg(project);
    if !extra.contains(&"--setup") {
        cmd.arg("--python").arg(&py);
    }
    cmd.args(["--engine", "explore", "--budget-s", "3"])
        .args(extra)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("CI", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("running testgen run")
}

fn text(out: &Output) -> String {
    common::output_text(out)
}

fn report(project: &Path) -> serde_json::Value {
    let p = project.join(".testgen/iteration_report.json");
    serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap()
}

/// coverage_gaps.json, checked to name project code only: the generated
/// conftest and the tests themselves are measured but are no gaps.
fn gap_report(project: &Path) -> serde_json::Value {
    let gaps: serde_json::Value =
        serde_json::from_str(&read(&project.join(".testgen/coverage_gaps.json"))).unwrap();
    let mut files: Vec<&str> = gaps["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    files.extend(
        gaps["files_with_gaps"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str),
    );
    assert!(!files.is_empty(), "{gaps:#}");
    for f in files {
        assert!(
            !f.split('/').any(|c| c == "tests"),
            "{f} is a test file\n{gaps:#}"
        );
    }
    gaps
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The files under tests/generated/, with the manifest's timestamps left out.
fn generated(project: &Path) -> Vec<(String, String)> {
    let dir = project.join("tests/generated");
    let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            let body = read(&e.path())
                .lines()
                .filter(|l| !l.contains("\"generated_at\""))
                .collect::<Vec<_>>()
                .join("\n");
            (e.file_name().to_string_lossy().to_string(), body)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn setup_run_reaches_the_target_then_a_second_run_is_a_no_op() {
    let p = copy_to_temp(&fixture("plainlib"));
    let out = run(p.path(), &["--setup"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    for a in ARTIFACTS {
        assert!(
            p.path().join(".testgen").join(a).is_file(),
            "{a} missing\n{}",
            text(&out)
        );
    }
    assert!(
        p.path().join(".venv/bin/python").exists(),
        "--setup made no .venv"
    );
    let r = report(p.path());
    assert_eq!(r["stop"]["reason"], "target_reached", "{r:#}");
    assert!(r["coverage_after"]["line_percent"].as_f64().unwrap() >= 90.0);
    assert!(r["coverage_before"]["line_percent"].as_f64().unwrap() < 70.0);
    assert_eq!(r["final_tests"]["failed"], 0);
    assert_eq!(r["passed"], true);
    let manual: serde_json::Value =
        serde_json::from_str(&read(&p.path().join(".testgen/manual_test_result.json"))).unwrap();
    assert_eq!(manual["manual_tests_found"], true);
    assert_eq!(
        manual["test_files_count"], 4,
        "3 test modules and conftest.py, as the reference counts"
    );

    let summary = read(&p.path().join(".testgen/summary.md"));
    assert_reference_layout(&summary);
    assert!(summary.contains("| Coverage >= 90% | PASS |"), "{summary}");
    let gaps = gap_report(p.path());
    assert_eq!(gaps["needs_ai_generation"], false, "{gaps:#}");
    assert_eq!(
        gaps["line_coverage"], r["coverage_after"]["line_percent"],
        "coverage_gaps.json and the gate disagree"
    );

    // The written tests pass under plain pytest, as a user runs them.
    let own = common::pytest(p.path(), &[]);
    assert!(own.status.success(), "{}", text(&own));

    let before = generated(p.path());
    let again = run(p.path(), &["--setup"], &[]);
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(stdout.contains("no generation needed"), "{}", text(&again));
    assert_eq!(report(p.path())["rounds"].as_array().unwrap().len(), 0);
    assert_eq!(
        generated(p.path()),
        before,
        "a no-op run changed tests/generated"
    );
    // The second run counts earlier generated files apart from the user's.
    let manual: serde_json::Value =
        serde_json::from_str(&read(&p.path().join(".testgen/manual_test_result.json"))).unwrap();
    assert_eq!(
        manual["test_files_count"], 4,
        "3 test modules and conftest.py, as the reference counts"
    );
}

/// A project with pytest-xdist installed gets its measuring runs spread over
/// the cores (`-n auto`), says so, and reaches the same result as without.
#[test]
fn pytest_xdist_is_used_when_the_project_has_it() {
    let p = copy_to_temp(&fixture("plainlib"));
    std::fs::write(p.path().join("requirements.txt"), "pytest-xdist>=3\n").unwrap();
    let out = run(p.path(), &["--setup"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    // The progress lines go to stderr.
    let progress = String::from_utf8_lossy(&out.stderr);
    assert!(
        progress.contains("found: the measuring runs use -n auto"),
        "{}",
        text(&out)
    );
    let r = report(p.path());
    assert_eq!(r["stop"]["reason"], "target_reached", "{r:#}");
    assert_eq!(r["final_tests"]["failed"], 0, "{r:#}");
    // xdist's workers each wrote coverage data; the combined report still
    // holds every file and the same figure the gate used.
    let gaps = gap_report(p.path());
    assert_eq!(gaps["line_coverage"], r["coverage_after"]["line_percent"]);
    // Every test ran: as many passed as a plain pytest without xdist finds.
    let plain = common::pytest(p.path(), &[]);
    let plain = String::from_utf8_lossy(&plain.stdout);
    let passed = format!("{} passed", r["final_tests"]["passed"]);
    assert!(plain.contains(&passed), "{passed} vs\n{plain}");
}

/// The reference's job summary: its two tables, same rows, same order.
fn assert_reference_layout(summary: &str) {
    let lines: Vec<&str> = summary.lines().collect();
    let at = |s: &str| {
        lines
            .iter()
            .position(|l| l.starts_with(s))
            .unwrap_or_else(|| panic!("no line starting {s:?} in\n{summary}"))
    };
    let start = at("| Metric | Value |");
    assert_eq!(lines[start + 1], "|--------|-------|");
    let rows: Vec<&str> = lines[start + 2..start + 8]
        .iter()
        .map(|l| l.split('|').nth(1).unwrap().trim())
        .collect();
    assert_eq!(
        rows,
        [
            "Coverage Before",
            "Coverage After",
            "Coverage Delta",
            "Tests Generated",
            "Tests Passed",
            "Tests Failed"
        ]
    );
    let check = at("### Threshold Check");
    assert_eq!(lines[check + 1], "| Check | Result |");
    assert_eq!(lines[check + 2], "|-------|--------|");
    assert!(lines[check + 3].starts_with("| Coverage >= "), "{summary}");
    assert!(lines[check + 4].starts_with("| Delta >= "), "{summary}");
}

#[test]
fn fixtures_reach_their_target() {
    for name in [
        "flaskapp",
        "fastapiapp",
        "djangoapp",
        "fullstack",
        "notests_lib",
        "notests_fastapi",
        "webbodies_django",
    ] {
        let p = copy_to_temp(&fixture(name));
        let out = run(p.path(), &[], &[]);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", text(&out));
        let r = report(p.path());
        let after = r["coverage_after"]["line_percent"].as_f64().unwrap();
        assert!(after >= 90.0, "{name}: {after}% {r:#}");
        assert_eq!(r["final_tests"]["failed"], 0, "{name}");
        eprintln!(
            "{name}: {}% -> {after}% in {} rounds",
            r["coverage_before"]["line_percent"],
            r["rounds"].as_array().unwrap().len()
        );
    }
}

#[test]
fn a_gate_that_fails_exits_1_and_says_so_everywhere() {
    let p = copy_to_temp(&fixture("notests_lib"));
    let job_summary = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(job_summary.path(), "earlier step\n").unwrap();
    let out = run(
        p.path(),
        &[
            "--min-coverage",
            "101",
            "--iterations",
            "1",
            "--format",
            "github",
        ],
        &[("GITHUB_STEP_SUMMARY", job_summary.path())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let summary = read(&p.path().join(".testgen/summary.md"));
    assert_reference_layout(&summary);
    assert!(summary.contains("| Coverage >= 101% | FAIL |"), "{summary}");
    assert!(summary.contains("no tests found: baseline 0%"), "{summary}");
    let gaps = gap_report(p.path());
    assert_eq!(gaps["min_coverage"], 101.0, "{gaps:#}");
    assert_eq!(gaps["needs_ai_generation"], true, "{gaps:#}");
    assert_eq!(
        read(job_summary.path()),
        format!("earlier step\n{summary}"),
        "summary.md is appended to $GITHUB_STEP_SUMMARY"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("::error title=testgen gate failed::Coverage >= 101%25"),
        "{stdout}"
    );
    assert!(stdout.contains("FAIL Coverage >= 101%"), "{stdout}");
}

#[test]
fn sarif_validates_and_report_html_renders_in_chromium() {
    let p = copy_to_temp(&fixture("plainlib"));
    let out = run(p.path(), &["--iterations", "1", "--format", "sarif"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let sarif = p.path().join(".testgen/testgen.sarif");
    validate_sarif(&sarif);
    let log: serde_json::Value = serde_json::from_str(&read(&sarif)).unwrap();
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert!(
        results.iter().any(|r| r["ruleId"] == "uncovered-function"),
        "{log:#}"
    );
    check_in_chromium(&p.path().join(".testgen/report.html"), "plainlib");
}

fn validate_sarif(path: &Path) {
    let schema = repo_root().join(".venv-test/share/sarif-schema-2.1.0.json");
    assert!(
        schema.is_file(),
        "{} missing: run tests/setup.sh",
        schema.display()
    );
    let check = "import json, sys, jsonschema\n\
        schema = json.load(open(sys.argv[1]))\n\
        jsonschema.validators.validator_for(schema)(schema).validate(json.load(open(sys.argv[2])))\n\
        print('valid')";
    let out = Command::new(python())
        .args(["-c", check])
        .arg(&schema)
        .arg(path)
        .output()
        .unwrap();
    assert!(out.status.success(), "SARIF invalid: {}", text(&out));
}

/// Renders the page in Debian's headless Chromium: the script ran (it
/// marks the body), the browser logged no console error, and a screenshot
/// goes to target/ci-artifacts/ for people to look at.
fn check_in_chromium(page: &Path, name: &str) {
    let chromium = ["chromium", "chromium-browser"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("chromium is missing: tests/setup.sh installs Debian's chromium");
    let url = format!("file://{}", page.display());
    let profile = tempfile::tempdir().unwrap();
    let base = |cmd: &mut Command| {
        cmd.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--log-level=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()));
    };
    let mut dom = Command::new(chromium);
    base(&mut dom);
    let out = dom.args(["--dump-dom", &url]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.contains("data-rendered=\"1\""),
        "the page's script did not run:\n{html}"
    );
    assert!(html.contains("id=\"chart\""), "no chart");
    let log = String::from_utf8_lossy(&out.stderr);
    let console_errors: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .collect();
    assert!(
        console_errors.is_empty(),
        "console errors: {console_errors:#?}"
    );

    let shots = artifacts_dir();
    let png = shots.join(format!("report-{name}.png"));
    let mut shot = Command::new(chromium);
    base(&mut shot);
    let out = shot
        .args(["--window-size=1280,1800", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::read(&png).unwrap();
    assert!(
        bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
        "no real screenshot"
    );
}

fn artifacts_dir() -> PathBuf {
    let d = repo_root().join("target/ci-artifacts");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn three_merged_shards_equal_one_unsharded_run() {
    let whole = copy_to_temp(&fixture("plainlib"));
    let out = run(whole.path(), &["--iterations", "1"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let shards: Vec<tempfile::TempDir> = (1..=3)
        .map(|k| {
            let s = copy_to_temp(&fixture("plainlib"));
            let out = run(
                s.path(),
                &["--iterations", "1", "--shard", &format!("{k}/3")],
                &[],
            );
            // A shard covers a third: its gates are left to the merge.
            assert_eq!(out.status.code(), Some(0), "{}", text(&out));
            assert!(s.path().join(".testgen/shard.json").is_file());
            s
        })
        .collect();
    let merged = copy_to_temp(&fixture("plainlib"));
    let py = python();
    let mut args: Vec<String> = vec![
        "merge".into(),
        merged.path().display().to_string(),
        "--python".into(),
        py.display().to_string(),
    ];
    args.extend(
        shards
            .iter()
            .map(|s| s.path().join(".testgen").display().to_string()),
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = common::testgen(&args);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(generated(merged.path()), generated(whole.path()));
    let (a, b) = (report(whole.path()), report(merged.path()));
    assert_eq!(
        a["coverage_after"], b["coverage_after"],
        "merged coverage differs"
    );
    assert_eq!(
        a["final_tests"], b["final_tests"],
        "merged test counts differ"
    );
    assert_eq!(b["stop"]["reason"], "merged");
    // The merged tests pass in the merged checkout.
    let own = common::pytest(merged.path(), &[]);
    assert!(own.status.success(), "{}", text(&own));
}

#[test]
fn bad_input_is_one_clear_message_and_exit_2() {
    let out = common::testgen(&["run", "/nonexistent/project"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/project"), "{err}");

    let p = copy_to_temp(&fixture("notests_lib"));
    let out = common::testgen(&["run", p.path().to_str().unwrap(), "--shard", "4/3"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected K/N"));

    let not_a_shard = tempfile::tempdir().unwrap();
    let out = common::testgen(&[
        "merge",
        p.path().to_str().unwrap(),
        not_a_shard.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not a shard's artifact directory"), "{err}");
    // Nothing of the user's was touched.
    assert!(!p.path().join("tests/generated").exists());
}

/// The GitHub Action is valid YAML, every `inputs.X` it uses is declared,
/// and every flag it passes to `testgen run` exists.
#[test]
fn the_github_action_matches_the_command_line() {
    let action = repo_root().join("action.yml");
    let check = r#"
import json, re, sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
assert doc["runs"]["using"] == "composite", doc["runs"]
text = open(sys.argv[1]).read()
used = set(re.findall(r"inputs\.([a-z_]+)", text))
missing = used - set(doc["inputs"])
assert not missing, f"undeclared inputs: {missing}"
run = next(s for s in doc["runs"]["steps"] if s.get("id") == "run")["run"]
print(json.dumps(sorted(set(re.findall(r"(--[a-z-]+)", run)))))
"#;
    let out = Command::new(python())
        .args(["-c", check])
        .arg(&action)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let flags: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    assert!(flags.contains(&"--min-coverage".to_string()), "{flags:?}");
    let help = common::testgen(&["run", "--help"]);
    let help = String::from_utf8_lossy(&help.stdout);
    for f in &flags {
        assert!(
            help.contains(f.as_str()),
            "action.yml passes {f}, which `testgen run` lacks"
        );
    }
}

/// Failing user tests go to the fixer: without --fix-user-tests they are
/// classified and reported and the files stay byte-identical (here a
/// collection error stops the run, and the message says how to apply the
/// verified fixes); with it the fixes are written and the run goes on.
#[test]
fn failing_user_tests_are_reported_and_fixed_only_when_asked() {
    let p = copy_to_temp(&fixture("fixer"));
    let files = ["tests/test_broken.py", "tests/test_text.py"];
    let original: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(p.path().join(f)).unwrap())
        .collect();
    let out = run(p.path(), &["--iterations", "1"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--fix-user-tests"), "{err}");
    for (f, o) in files.iter().zip(&original) {
        assert_eq!(
            &std::fs::read(p.path().join(f)).unwrap(),
            o,
            "{f} changed unasked"
        );
    }
    let fix_report: serde_json::Value =
        serde_json::from_str(&read(&p.path().join(".testgen/auto_fixer_report.json"))).unwrap();
    assert!(
        fix_report["summary"]["fixed"].as_u64().unwrap() >= 1,
        "{fix_report:#}"
    );

    let out = run(p.path(), &["--iterations", "1", "--fix-user-tests"], &[]);
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", text(&out));
    let r = report(p.path());
    assert_eq!(r["fixer"]["status"], "ran", "{r:#}");
    assert_eq!(r["fixer"]["written"], true, "{r:#}");
    assert!(r["fixer"]["fixed"].as_u64().unwrap() >= 3, "{r:#}");
    for (f, o) in files.iter().zip(&original) {
        assert_ne!(
            &std::fs::read(p.path().join(f)).unwrap(),
            o,
            "{f}: no fix written"
        );
    }
    let bugs = r["suspected_bugs"].as_array().unwrap();
    assert!(bugs.iter().any(|b| b["found_by"] == "fixer"), "{r:#}");
    let summary = read(&p.path().join(".testgen/summary.md"));
    assert!(summary.contains("### Suspected bugs"), "{summary}");
    // The deterministic fixes pass now; the wrong expectation (needs an
    // LLM) and the code bug's test still fail, and say so.
    let failing: Vec<&str> = r["failing_tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["nodeid"].as_str().unwrap())
        .collect();
    assert!(failing.len() <= 2, "{failing:?}");
}
