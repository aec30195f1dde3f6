//! Project discovery on real directory trees: a real git repository, a real
//! virtualenv made by Python's `venv`, a fullstack layout.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use testgen::index::model::RelPath;
use testgen::workspace::{discover, WorkspaceError};

struct Tree(PathBuf);

impl Tree {
    fn new(name: &str, files: &[(&str, &str)]) -> Tree {
        let root = std::env::temp_dir().join(format!("testgen-wsit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (rel, content) in files {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, content).unwrap();
        }
        std::fs::create_dir_all(&root).unwrap();
        Tree(root.canonicalize().unwrap())
    }
    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TESTGEN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-test/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `bash tests/setup.sh` first (or set TESTGEN_TEST_PYTHON)",
        p.display()
    );
    p
}

/// Runs a command to completion within `limit`, killing it otherwise.
fn run(cmd: &mut Command, limit: Duration) {
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "{cmd:?} failed: {status}");
            return;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} timed out after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn relative(root: &Path, files: &[PathBuf]) -> Vec<String> {
    files
        .iter()
        .map(|f| RelPath::from_abs(root, f).unwrap().to_string())
        .collect()
}

#[test]
fn real_virtualenv_is_skipped_whatever_its_name() {
    let t = Tree::new(
        "venv",
        &[
            ("requirements.txt", ""),
            ("pkg/__init__.py", ""),
            ("pkg/core.py", ""),
        ],
    );
    // `--without-pip` keeps it fast; the venv still holds .py files of its own
    // (activate_this-like scripts are not guaranteed, so add one).
    run(
        Command::new(python())
            .args(["-m", "venv", "--without-pip", "py-env"])
            .current_dir(t.path()),
        Duration::from_secs(120),
    );
    assert!(
        t.path().join("py-env/pyvenv.cfg").is_file(),
        "venv has no pyvenv.cfg"
    );
    let site = t.path().join("py-env/lib/python3.11/site-packages/fake");
    std::fs::create_dir_all(&site).unwrap();
    std::fs::write(site.join("mod.py"), "").unwrap();
    std::fs::write(t.path().join("py-env/bin/tool.py"), "").unwrap();

    let p = discover(t.path()).unwrap();
    assert_eq!(
        relative(&p.root, &p.files),
        ["pkg/__init__.py", "pkg/core.py"]
    );
}

#[test]
fn git_repository_ignores_and_untracked_files() {
    let t = Tree::new(
        "git",
        &[
            (".gitignore", "/generated/\n*_pb2.py\n"),
            ("app/main.py", ""),
            ("app/api_pb2.py", ""),
            ("generated/client.py", ""),
            ("app/contest/test_scoring.py", ""),
            ("app/attest/attestation.py", ""),
        ],
    );
    run(
        Command::new("git")
            .args(["init", "-q"])
            .current_dir(t.path()),
        Duration::from_secs(30),
    );
    // .git/info/exclude is honoured inside a repository too.
    std::fs::write(t.path().join(".git/info/exclude"), "scratch.py\n").unwrap();
    std::fs::write(t.path().join("scratch.py"), "").unwrap();

    let p = discover(t.path()).unwrap();
    assert_eq!(
        relative(&p.root, &p.files),
        [
            "app/attest/attestation.py",
            "app/contest/test_scoring.py",
            "app/main.py"
        ]
    );
    assert_eq!(p.python_root, p.root.join("app"));
    assert!(p.tests.found);
    assert_eq!(p.tests.root, Some(RelPath::new("app/contest")));
}

#[test]
fn fullstack_repo_with_tests_outside_the_python_root() {
    let t = Tree::new(
        "fullstack",
        &[
            ("frontend/package.json", "{}"),
            ("frontend/src/App.tsx", ""),
            ("frontend/node_modules/flatted/python/flatted.py", ""),
            ("backend/pyproject.toml", "[project]\nname = \"shop\"\n"),
            ("backend/shop/__init__.py", ""),
            ("backend/shop/api.py", ""),
            ("backend/shop/tests/test_api.py", ""),
            ("e2e/conftest.py", ""),
            ("e2e/smoke_test.py", ""),
        ],
    );
    let p = discover(t.path()).unwrap();
    assert_eq!(p.python_root, p.root.join("backend"));
    assert_eq!(
        relative(&p.root, &p.files),
        [
            "backend/shop/__init__.py",
            "backend/shop/api.py",
            "backend/shop/tests/test_api.py",
            "e2e/conftest.py",
            "e2e/smoke_test.py"
        ]
    );
    assert_eq!(
        p.tests.files,
        [
            RelPath::new("backend/shop/tests/test_api.py"),
            RelPath::new("e2e/conftest.py"),
            RelPath::new("e2e/smoke_test.py")
        ]
    );
    assert_eq!(p.tests.root, Some(RelPath::new("")));
}

#[test]
fn discovery_is_deterministic() {
    let files: Vec<(String, &str)> = (0..200)
        .map(|i| (format!("pkg{}/m{i}.py", i % 7), ""))
        .collect();
    let refs: Vec<(&str, &str)> = files.iter().map(|(p, c)| (p.as_str(), *c)).collect();
    let t = Tree::new("determinism", &refs);
    let first = discover(t.path()).unwrap();
    assert_eq!(first.files.len(), 200);
    let mut sorted = first.files.clone();
    sorted.sort();
    assert_eq!(first.files, sorted);
    for _ in 0..5 {
        assert_eq!(discover(t.path()).unwrap().files, first.files);
    }
}

#[test]
fn bad_roots_are_clear_errors() {
    let missing = std::env::temp_dir().join("testgen-wsit-definitely-missing");
    let err = discover(&missing).unwrap_err();
    assert!(matches!(err, WorkspaceError::NotFound(_)));
    assert_eq!(
        err.to_string(),
        format!("{}: no such directory", missing.display())
    );

    let t = Tree::new("file", &[("a.py", "")]);
    let err = discover(&t.path().join("a.py")).unwrap_err();
    assert!(matches!(err, WorkspaceError::NotADirectory(_)));
}
