//! Code that would crash a recursive parser: deeply nested expressions in
//! one file and across files. Every command ends normally; the file that
//! cannot be parsed is a parse error, never an abort (exit 134).

mod common;

use serde_json::Value;

/// A copy of the library fixture with hostile modules beside its own.
fn hostile_project() -> tempfile::TempDir {
    let p = common::copy_to_temp(&common::fixture("notests_lib"));
    let pkg = p.path().join("textkit");
    let write = |name: &str, text: String| std::fs::write(pkg.join(name), text).unwrap();
    // ~150k nested brackets in one file (aborted `testgen index` before).
    write(
        "deep_list.py",
        format!("x = {}{}\n", "[".repeat(150_000), "]".repeat(150_000)),
    );
    // Operator chains without brackets, a million deep.
    write("deep_unary.py", format!("x = {}1\n", "-".repeat(1_000_000)));
    write(
        "deep_lambda.py",
        format!("f = {}1\n", "lambda: ".repeat(300_000)),
    );
    // ~36k nested brackets across files.
    for i in 0..4 {
        write(
            &format!("nested_{i}.py"),
            format!("y = {}{}\n", "{1: ".repeat(9_000), "}".repeat(9_000)),
        );
    }
    p
}

fn ok_json(args: &[&str]) -> Value {
    let out = common::testgen(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "testgen {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn index_gaps_and_generate_survive_deeply_nested_code() {
    let p = hostile_project();
    let root = p.path().to_str().unwrap();
    let index = ok_json(&["index", root, "--json"]);
    let functions = index["functions"].to_string();
    assert!(
        functions.contains("slugify"),
        "the other files are still indexed"
    );

    let (report, out) = common::testgen_json("generate", p.path(), &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report["tests_written"].as_u64().unwrap() > 0, "{report}");

    let gaps = ok_json(&["gaps", root, "--json"]);
    assert!(gaps["functions"].as_array().is_some_and(|f| !f.is_empty()));
}
