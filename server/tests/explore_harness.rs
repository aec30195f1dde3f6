//! The explore harness (the server/python/testgen_explore package, installed
//! and started exactly as testgen does it) over its real protocol
//! (docs/explore-protocol.md), in the test interpreter: the tests it
//! writes must pass under real pytest, a fixed seed must give the same tests,
//! and targets that loop, exit, delete files or crash must not take the
//! protocol down with them (except the crash, which kills the interpreter).

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use serde_json::{json, Value};
use testgen::generate::explore::{cache_dir, package, protocol};
/// Far above what any request here takes; only there so a bug cannot hang CI.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);

struct Harness {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    _cwd: tempfile::TempDir,
}

impl Harness {
    /// Starts the harness as the Rust side does (its installer and launch
    /// command: the package in the project's cache, its own temp cwd, the
    /// project rules), the root on --sys-path.
    fn start(root: &Path) -> (Harness, Value) {
        let cwd = tempfile::tempdir().unwrap();
        let installed = package::install(&cache_dir(root)).expect("installing the harness");
        let python = common::python();
        let sys_path = [root.to_path_buf()];
        let launch = package::Launch {
            python: &python,
            installed: &installed,
            root,
            sys_path: &sys_path,
            seed: 0,
            allow_unsafe: false,
            cwd: cwd.path(),
            note: None,
        };
        let mut child = launch
            .command()
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting the harness");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut h = Harness {
            child,
            stdin,
            lines: rx,
            _cwd: cwd,
        };
        let ready = h.next().expect("a ready line");
        (h, ready)
    }

    /// The next protocol line, or None at EOF.
    fn next(&mut self) -> Option<Value> {
        match self.lines.recv_timeout(ANSWER_TIMEOUT) {
            Ok(line) => Some(
                serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}")),
            ),
            Err(RecvTimeoutError::Disconnected) => None,
            Err(RecvTimeoutError::Timeout) => panic!("no answer within {ANSWER_TIMEOUT:?}"),
        }
    }

    fn send(&mut self, req: &Value) {
        writeln!(self.stdin, "{req}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn request(&mut self, req: Value) -> Value {
        self.send(&req);
        let answer = self.next().expect("the harness died");
        assert_eq!(answer["id"], req["id"], "answers come in order: {answer}");
        // What the Rust side reads of it must parse as its typed answer.
        let typed = match req["op"].as_str() {
            Some("explore") => serde_json::from_value::<protocol::ExploreAnswer>(answer.clone())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            Some("find_app") => serde_json::from_value::<protocol::FindAppAnswer>(answer.clone())
                .map(|_| ())
                .map_err(|e| e.to_string()),
            _ => Ok(()),
        };
        assert_eq!(typed, Ok(()), "{answer}");
        answer
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn explore(id: &str, root: &Path, file: &str, module: &str, qualname: &str, kind: &str) -> Value {
    let src = std::fs::read_to_string(root.join(file)).unwrap();
    let (line, end_line) = def_lines(&src, qualname);
    json!({
        "op": "explore", "id": id,
        "target": {"file": root.join(file), "module": module, "qualname": qualname,
                   "kind": kind, "line": line, "end_line": end_line},
        "budget_s": 20.0, "max_calls": 400, "call_timeout_s": 2.0, "seed": 0,
        "allow_unsafe": false,
    })
}

/// The first decorator (or `def`) line and the last line of a def, found by
/// indentation: enough for the fixtures, and independent of the Rust index.
fn def_lines(src: &str, qualname: &str) -> (usize, usize) {
    let lines: Vec<&str> = src.lines().collect();
    let name = qualname.rsplit('.').next().unwrap();
    let class = qualname.split_once('.').map(|(c, _)| c);
    let mut from = 0;
    if let Some(c) = class {
        from = lines
            .iter()
            .position(|l| l.starts_with(&format!("class {c}")))
            .unwrap_or_else(|| panic!("no class {c}"));
    }
    let def = (from..lines.len())
        .find(|&i| {
            let t = lines[i].trim_start();
            t.starts_with(&format!("def {name}(")) || t.starts_with(&format!("async def {name}("))
        })
        .unwrap_or_else(|| panic!("no def {qualname}"));
    let indent = lines[def].len() - lines[def].trim_start().len();
    let mut start = def;
    while start > 0 && lines[start - 1].trim_start().starts_with('@') {
        start -= 1;
    }
    let mut end = def;
    for (i, l) in lines.iter().enumerate().skip(def + 1) {
        if l.trim().is_empty() {
            continue;
        }
        if l.len() - l.trim_start().len() <= indent {
            break;
        }
        end = i;
    }
    (start + 1, end + 1)
}

fn ok_tests(answer: &Value) -> &Vec<Value> {
    assert_eq!(answer["status"], "ok", "{answer}");
    let tests = answer["tests"].as_array().unwrap();
    assert!(!tests.is_empty(), "no tests: {answer}");
    let names: BTreeSet<&str> = tests.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names.len(), tests.len(), "names are unique: {answer}");
    for t in tests {
        let name = t["name"].as_str().unwrap();
        let source = t["source"].as_str().unwrap();
        assert!(name.starts_with("test_"), "{name}");
        assert!(
            source.starts_with(&format!("def {name}(")) && source.ends_with('\n'),
            "{source}"
        );
    }
    tests
}

fn fully_reached(answer: &Value) {
    let lines = &answer["lines"];
    assert!(!lines["total"].as_array().unwrap().is_empty(), "{answer}");
    assert_eq!(lines["total"], lines["reached"], "{answer}");
}

/// A test module from explored tests: their imports, then their sources.
fn test_module(tests: &[&Value]) -> String {
    let mut imports = BTreeSet::new();
    for t in tests {
        for i in t["imports"].as_array().unwrap() {
            imports.insert(i.as_str().unwrap().to_string());
        }
    }
    let mut out = String::new();
    for i in &imports {
        out.push_str(i);
        out.push('\n');
    }
    for t in tests {
        out.push_str("\n\n");
        out.push_str(t["source"].as_str().unwrap());
    }
    out
}

/// Runs pytest in `root`; panics with its output unless every test passed.
fn pytest_passes(root: &Path, args: &[&str], expect_passed: usize) {
    let out = common::pytest(root, args);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let summary = stdout
        .lines()
        .rev()
        .find(|l| l.contains(" passed"))
        .unwrap_or("");
    assert!(
        summary.starts_with(&format!("{expect_passed} passed")),
        "expected {expect_passed} passed:\n{stdout}"
    );
}

fn write_generated(root: &Path, files: &[(&str, String)]) {
    let dir = root.join("tests/generated");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("__init__.py"), "").unwrap();
    for (name, text) in files {
        std::fs::write(dir.join(name), text).unwrap();
    }
}

#[test]
fn plain_functions_and_methods_pass_under_pytest_and_are_deterministic() {
    let copy = common::copy_to_temp(&common::fixture("plainlib"));
    let root = copy.path();
    let (mut h, ready) = Harness::start(root);
    assert_eq!(ready["ready"], true, "{ready}");
    assert_eq!(ready["harness"], protocol::PROTOCOL, "{ready}");
    assert!(
        ready["python"].as_str().unwrap().starts_with("3."),
        "{ready}"
    );

    let discount = h.request(explore(
        "1",
        root,
        "plainlib/pricing.py",
        "plainlib.pricing",
        "apply_discount",
        "function",
    ));
    fully_reached(&discount);
    let discount_tests = ok_tests(&discount).clone();
    assert!(
        discount_tests
            .iter()
            .any(|t| t["name"] == "test_apply_discount_raises_value_error_when_price_is_negative"),
        "{discount}"
    );
    // Every reached line is some test's first reach, once.
    let mut firsts: Vec<u64> = discount_tests
        .iter()
        .flat_map(|t| t["new_lines"].as_array().unwrap().iter())
        .map(|l| l.as_u64().unwrap())
        .collect();
    firsts.sort();
    let reached: Vec<u64> = discount["lines"]["reached"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_u64().unwrap())
        .collect();
    assert_eq!(firsts, reached, "{discount}");

    let take = h.request(explore(
        "2",
        root,
        "plainlib/inventory.py",
        "plainlib.inventory",
        "Warehouse.take",
        "method",
    ));
    fully_reached(&take);
    let take_tests = ok_tests(&take).clone();
    assert!(
        take_tests
            .iter()
            .any(|t| t["source"].as_str().unwrap().contains(".add(")),
        "stock is added before it is taken: {take}"
    );
    assert!(
        take_tests.iter().any(|t| t["source"]
            .as_str()
            .unwrap()
            .contains("pytest.raises(OutOfStock")),
        "{take}"
    );

    let from_row = h.request(explore(
        "3",
        root,
        "plainlib/inventory.py",
        "plainlib.inventory",
        "Item.from_row",
        "method",
    ));
    fully_reached(&from_row);
    let from_row_tests = ok_tests(&from_row).clone();

    // The same request again, in this harness and in a fresh one: same tests.
    let again = h.request(explore(
        "2",
        root,
        "plainlib/inventory.py",
        "plainlib.inventory",
        "Warehouse.take",
        "method",
    ));
    assert_eq!(again["tests"], take["tests"]);
    let (mut fresh, _) = Harness::start(root);
    let third = fresh.request(explore(
        "2",
        root,
        "plainlib/inventory.py",
        "plainlib.inventory",
        "Warehouse.take",
        "method",
    ));
    assert_eq!(third["tests"], take["tests"]);
    drop(fresh);

    let all: Vec<&Value> = discount_tests
        .iter()
        .chain(&take_tests)
        .chain(&from_row_tests)
        .collect();
    write_generated(root, &[("test_explored.py", test_module(&all))]);
    pytest_passes(root, &["tests/generated"], all.len());
}

/// find_app, a route's tests and the conftest, under real pytest next to the
/// project's own suite (which must still pass: no state leaks either way).
fn route_tests_pass(fixture: &str, framework: &str, module: &str, file: &str, view: &str) {
    let copy = common::copy_to_temp(&common::fixture(fixture));
    let root = copy.path();
    let (mut h, _) = Harness::start(root);
    let app = h.request(
        json!({"op": "find_app", "id": "app", "framework": framework,
                               "modules": [module]}),
    );
    assert_eq!(app["status"], "ok", "{app}");
    assert_eq!(app["app"]["framework"], framework, "{app}");
    let conftest = app["conftest"].as_str().unwrap().to_string();
    assert!(conftest.contains("def client("), "{conftest}");

    let route_module = file.trim_end_matches(".py").replace('/', ".");
    let mut req = explore("r", root, file, &route_module, view, "route");
    req["app"] = app["app"].clone();
    let answer = h.request(req);
    fully_reached(&answer);
    let tests = ok_tests(&answer).clone();
    assert!(
        tests.iter().all(|t| t["fixtures"] == json!(["client"])),
        "{answer}"
    );

    let all: Vec<&Value> = tests.iter().collect();
    write_generated(
        root,
        &[
            ("conftest.py", format!("# Generated by testgen\n{conftest}")),
            ("test_routes.py", test_module(&all)),
        ],
    );
    pytest_passes(root, &["tests/generated"], all.len());
    // The whole suite, generated tests first and last: nothing leaks.
    let own = std::fs::read_dir(root.join("tests"))
        .unwrap()
        .filter(|e| {
            let n = e.as_ref().unwrap().file_name();
            let n = n.to_string_lossy();
            n.starts_with("test_") && n.ends_with(".py")
        })
        .count();
    assert!(own > 0);
    let out = common::pytest(root, &["tests"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn flask_route_with_setup_requests() {
    route_tests_pass(
        "flaskapp",
        "flask",
        "app",
        "app/routes/tasks.py",
        "complete_task",
    );
}

#[test]
fn fastapi_route_with_setup_requests() {
    route_tests_pass(
        "fastapiapp",
        "fastapi",
        "app.main",
        "app/routers/orders.py",
        "place_order",
    );
}

const DANGER: &str = r#"import ctypes
import os
import sys


def spin(n: int) -> int:
    while True:
        n += 1


def leave(code: int) -> None:
    print("this must not reach the protocol")
    sys.exit(code)


def wipe(name: str) -> None:
    # relative to the working directory: the user's project when a test runs
    os.remove(os.path.join("data", name))


def tidy(path: str) -> bool:
    os.remove(path)
    return os.path.exists(path)


def fine(x: int) -> int:
    print("neither must this")
    return x + 1


def crash() -> bytes:
    return ctypes.string_at(0)
"#;

#[test]
fn unsafe_targets_are_skipped_and_the_harness_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::write(root.join("danger.py"), DANGER).unwrap();
    let (mut h, _) = Harness::start(root);
    let req = |id: &str, name: &str| {
        let mut r = explore(id, root, "danger.py", "danger", name, "function");
        r["call_timeout_s"] = json!(0.3);
        r
    };
    let reason = |answer: &Value| {
        assert_eq!(answer["status"], "skipped", "{answer}");
        answer["reason"].as_str().unwrap().to_string()
    };

    let spin = h.request(req("spin", "spin"));
    assert!(reason(&spin).contains("infinite loop"), "{spin}");
    let leave = h.request(req("leave", "leave"));
    assert!(reason(&leave).contains("sys.exit"), "{leave}");
    let wipe = h.request(req("wipe", "wipe"));
    assert!(reason(&wipe).contains("os.remove"), "{wipe}");
    let crash = h.request(req("crash-checked", "crash"));
    assert!(reason(&crash).contains("ctypes"), "{crash}");

    // A file the call was given is its to remove: the test writes it under tmp_path.
    let tidy = h.request(req("tidy", "tidy"));
    fully_reached(&tidy);
    let tests = ok_tests(&tidy);
    assert!(format!("{tests:?}").contains("tmp_path"), "{tidy}");

    let fine = h.request(req("fine", "fine"));
    fully_reached(&fine);
    ok_tests(&fine);

    // Allowed to run, the crash takes the interpreter down: EOF, no answer.
    let mut boom = req("crash", "crash");
    boom["allow_unsafe"] = json!(true);
    h.send(&boom);
    assert_eq!(h.next(), None, "a segfault ends the protocol");
    let status = h.child.wait().unwrap();
    assert!(!status.success());
}
