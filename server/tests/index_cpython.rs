//! `testgen index` agrees with Python's own `ast` on CPython's standard
//! library: (path, qualname, line, end_line) of every function.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::Value;

type Row = (String, String, u64, u64);

#[test]
fn functions_agree_with_python_ast_on_the_standard_library() {
    let py = common::python();
    let out = Command::new(&py)
        .args([
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['stdlib'])",
        ])
        .output()
        .unwrap();
    let stdlib = String::from_utf8(out.stdout).unwrap().trim().to_string();

    let out = common::testgen(&["index", &stdlib, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        index["files"].as_u64().unwrap() > 1000,
        "too few files indexed"
    );

    let ours: Vec<Row> = index["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["qualname"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap(),
                f["end_line"].as_u64().unwrap(),
            )
        })
        .collect();
    let paths: BTreeSet<&str> = ours.iter().map(|r| r.0.as_str()).collect();

    let script = common::repo_root().join("tests/scripts/ast_functions.py");
    let mut child = Command::new(&py)
        .arg(&script)
        .arg(&stdlib)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let list: Vec<&str> = paths.iter().copied().collect();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(list.join("\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let theirs: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unparsable: BTreeSet<&str> = theirs["unparsable"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let theirs: BTreeSet<Row> = theirs["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r[0].as_str().unwrap().to_string(),
                r[1].as_str().unwrap().to_string(),
                r[2].as_u64().unwrap(),
                r[3].as_u64().unwrap(),
            )
        })
        .collect();
    let ours: BTreeSet<Row> = ours
        .into_iter()
        .filter(|r| !unparsable.contains(r.0.as_str()))
        .collect();

    let common_rows = ours.intersection(&theirs).count();
    let agreement = common_rows as f64 / theirs.len() as f64;
    let missing: Vec<_> = theirs.difference(&ours).take(20).collect();
    let extra: Vec<_> = ours.difference(&theirs).take(20).collect();
    assert!(
        theirs.len() > 20_000,
        "ast found only {} functions",
        theirs.len()
    );
    assert!(
        agreement >= 0.999,
        "agreement {agreement:.5} over {} functions\nmissing: {missing:#?}\nextra: {extra:#?}",
        theirs.len()
    );
}
