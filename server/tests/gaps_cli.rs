//! `testgen gaps` on bad input: one clear line, exit 2, nothing on stdout.

mod common;

use std::path::Path;

fn project_with_coverage(xml: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("m.py"), "def f():\n    return 1\n").unwrap();
    std::fs::write(dir.path().join("coverage.xml"), xml).unwrap();
    dir
}

const GOOD: &str = r#"<?xml version="1.0" ?>
<coverage version="7.6">
  <sources><source>.</source></sources>
  <packages><package name="."><classes>
    <class name="m.py" filename="m.py"><methods/><lines>
      <line number="1" hits="1"/>
      <line number="2" hits="0"/>
    </lines></class>
  </classes></package></packages>
</coverage>
"#;

fn gaps(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["gaps", dir.to_str().unwrap()];
    args.extend_from_slice(extra);
    common::testgen(&args)
}

#[test]
fn good_report_and_gate() {
    let dir = project_with_coverage(GOOD);
    let out = gaps(dir.path(), &["--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["overall_coverage"], 50.0);
    assert_eq!(v["uncovered_functions"][0]["qualname"], "f");
    assert!(dir.path().join(".testgen/coverage_gaps.json").is_file());
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".testgen/.gitignore")).unwrap(),
        "*\n"
    );
    let out = gaps(dir.path(), &["--gate", "--min-coverage", "40"]);
    assert_eq!(out.status.code(), Some(0));
    let out = gaps(dir.path(), &["--gate"]);
    assert_eq!(out.status.code(), Some(1));
}

fn assert_bad(out: &std::process::Output, needle: &str) {
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        out.stdout.is_empty(),
        "partial output: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line expected: {err}");
    assert!(err.contains(needle), "{needle:?} not in {err}");
}

#[test]
fn truncated_report_names_line_and_column() {
    let cut = &GOOD[..GOOD.find("</lines>").unwrap()];
    let dir = project_with_coverage(cut);
    assert_bad(
        &gaps(dir.path(), &["--json"]),
        "coverage.xml:8:5: malformed coverage XML: unexpected end of file",
    );
}

#[test]
fn malformed_report_names_line_and_column() {
    let dir = project_with_coverage(&GOOD.replace("</class>", "</klass>"));
    let out = gaps(dir.path(), &[]);
    assert_bad(&out, "coverage.xml:8:");
}

#[test]
fn missing_inputs() {
    assert_bad(&gaps(Path::new("/no/such/dir"), &[]), "no such directory");
    let dir = tempfile::tempdir().unwrap();
    assert_bad(&gaps(dir.path(), &[]), "no coverage report");
    assert_bad(
        &gaps(dir.path(), &["--coverage", "/no/such.xml"]),
        "/no/such.xml",
    );
    std::fs::write(dir.path().join("x.xml"), "<html></html>").unwrap();
    assert_bad(
        &gaps(
            dir.path(),
            &["--coverage", dir.path().join("x.xml").to_str().unwrap()],
        ),
        "not a Cobertura",
    );
}
