//! Hostile projects aimed at the harness's own channel (issue 23): code that
//! writes to, reads from or sprays small file descriptors, the way a "path
//! or an open file" function handed an int does. The real `testgen
//! generate` runs on them: no harness is lost, the ordinary targets of the
//! same module get their tests, and no kept test touches a descriptor it did
//! not open. A harness that dies anyway says which call it was making and
//! what it printed last.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

/// Writes a project `hostile` with one module `name` and runs generate.
fn generate(name: &str, source: &str) -> (tempfile::TempDir, Value, String) {
    let p = tempfile::tempdir().unwrap();
    let root = p.path();
    std::fs::write(
        root.join("pyproject.toml"),
        "[project]\nname = \"hostile\"\nversion = \"0.1.0\"\n\n[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(root.join("hostile")).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(root.join("hostile/__init__.py"), "").unwrap();
    std::fs::write(root.join(format!("hostile/{name}.py")), source).unwrap();
    std::fs::write(
        root.join("tests/test_user.py"),
        "def test_user():\n    assert 1 + 1 == 2\n",
    )
    .unwrap();
    let out = Command::new(common::testgen_bin())
        .args(["generate", root.to_str().unwrap(), "--json", "--python"])
        .arg(common::python())
        .args(["--budget-s", "4", "--max-calls", "80"])
        .stdin(Stdio::null())
        .output()
        .expect("running testgen");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report: Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("no JSON ({e}):\n{stdout}\n{stderr}"));
    assert!(out.status.success(), "{report:#}\n{stderr}");
    (p, report, stderr)
}

fn skipped(report: &Value) -> BTreeMap<String, String> {
    report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let target = s["target"].as_str().unwrap();
            let name = target.rsplit("::").next().unwrap().to_string();
            (name, s["reason"].as_str().unwrap().to_string())
        })
        .collect()
}

fn generated_text(root: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(root.join("tests/generated"))
        .into_iter()
        .flatten()
        .flatten()
    {
        text += &std::fs::read_to_string(e.path()).unwrap_or_default();
    }
    text
}

/// Reasons that mean the harness was lost rather than the target refused.
const LOST: &[&str] = &[
    "the interpreter died",
    "not its protocol",
    "did not return within",
];

/// The calls of `func` in the generated tests whose first argument is a
/// literal int or bool: a descriptor the test did not open.
fn descriptor_calls(text: &str, func: &str) -> Vec<String> {
    let open = format!("{func}(");
    text.match_indices(&open)
        .map(|(i, _)| {
            let rest = &text[i + open.len()..];
            rest.split([',', ')'])
                .next()
                .unwrap_or("")
                .trim()
                .to_string()
        })
        .filter(|arg| arg.parse::<i64>().is_ok_and(|n| n >= 0) || arg == "True" || arg == "False")
        .collect()
}

const DESCRIPTORS: &str = r#"import os


def write_lines(path_or_file, count: int = 2) -> int:
    """A path or an open descriptor, as open() takes them."""
    with open(path_or_file, "w", closefd=not isinstance(path_or_file, int)) as f:
        for i in range(count):
            f.write("<line %d/>\n" % i)
    return count


def read_text(source):
    with open(source, closefd=not isinstance(source, int)) as f:
        return f.read()


def raw_write(fd: int, text: str) -> int:
    return os.write(fd, text.encode() or b"x")


def raw_read(fd: int) -> bytes:
    return os.read(fd, 4096)


def spray(tag: str) -> int:
    hits = 0
    for fd in range(3, 64):
        try:
            os.write(fd, ("spray %s\n" % tag).encode())
            hits += 1
        except OSError:
            pass
    return hits


def double(n: int) -> int:
    if n > 10:
        return n * 2
    return n


def describe(name: str) -> str:
    if name.startswith("a"):
        return "starts with a"
    return "other"
"#;

#[test]
fn descriptor_writers_readers_and_sprayers_lose_no_harness() {
    let (p, report, stderr) = generate("fds", DESCRIPTORS);
    let skipped = skipped(&report);
    for (target, why) in &skipped {
        assert!(
            !LOST.iter().any(|l| why.contains(l)),
            "the harness was lost on {target}: {why}\n{stderr}"
        );
    }
    let why = &skipped["spray"];
    assert!(
        why.contains("wrote to file descriptor") && why.contains("which it did not open"),
        "{why}"
    );
    let text = generated_text(p.path());
    for f in ["double", "describe", "write_lines", "read_text"] {
        assert!(
            text.contains(&format!("{f}(")),
            "{f} got no test:\n{text}\n{skipped:?}"
        );
    }
    for f in ["write_lines", "read_text", "raw_write", "raw_read", "spray"] {
        let calls = descriptor_calls(&text, f);
        assert!(
            calls.is_empty(),
            "a kept test hands {f} a descriptor it did not open: {calls:?}\n{text}"
        );
    }
    // The kept tests pass as the user runs them, and none wrote into
    // pytest's own output.
    let out = common::pytest(p.path(), &["-s"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{text}");
    assert!(
        !stdout.contains("spray") && !stdout.contains("<line"),
        "{stdout}"
    );
}

#[test]
fn a_lost_harness_names_its_call_and_last_words_and_the_module_goes_on() {
    let (_p, report, stderr) = generate(
        "dies",
        r#"import faulthandler
import sys


def double(n: int) -> int:
    if n > 10:
        return n * 2
    return n


def die_loudly(n: int) -> int:
    sys.stderr.write("about to die with %d\n" % n)
    sys.stderr.flush()
    faulthandler._sigsegv()
    return n


def triple(n: int) -> int:
    if n < 0:
        return 0
    return n * 3
"#,
    );
    let skipped = skipped(&report);
    let why = &skipped["die_loudly"];
    assert!(why.contains("signal 11"), "{why}");
    assert!(why.contains("while running die_loudly("), "{why}\n{stderr}");
    assert!(why.contains("about to die with"), "{why}\n{stderr}");
    let written: Vec<&str> = report["files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|f| f["tests"].as_array().unwrap())
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    for f in ["double", "triple"] {
        assert!(
            written.iter().any(|t| t.ends_with(&format!("::{f}"))),
            "{f} got no test: {report:#}"
        );
    }
}
