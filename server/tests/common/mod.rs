//! Shared support for the end-to-end tests: the test interpreter, the binary,
//! fixture copies. Each test binary uses a subset, hence the allow.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The Python interpreter of the tests: $TESTGEN_TEST_PYTHON, else the
/// repository's .venv-test made by tests/setup.sh. Fails (never skips) without it.
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TESTGEN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = repo_root().join(".venv-test/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `bash tests/setup.sh` first (or set TESTGEN_TEST_PYTHON)",
        p.display()
    );
    p
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

/// The testgen binary under test: this build's, or `TESTGEN_BIN` to run
/// the same tests against another build (tests/against_build.sh uses it to
/// show which tests an older build fails).
pub fn testgen_bin() -> PathBuf {
    std::env::var_os("TESTGEN_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_testgen")))
}

/// A copy of fixture `name` after `testgen test` on it (coverage and
/// results on disk, as an editor finds a project someone has tested); the
/// suite must pass.
pub fn measured_copy(name: &str) -> tempfile::TempDir {
    let p = copy_to_temp(&fixture(name));
    let py = python();
    let out = testgen(&[
        "test",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p
}

/// A finished command's exit code and both streams, for assertion messages.
pub fn output_text(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the real testgen binary.
pub fn testgen(args: &[&str]) -> Output {
    Command::new(testgen_bin())
        .args(args)
        .output()
        .expect("running testgen")
}

/// Runs `testgen <command> PROJECT --python <test python> --json EXTRA...`
/// and parses its stdout; panics with both streams when it is not JSON.
pub fn testgen_json(command: &str, project: &Path, extra: &[&str]) -> (serde_json::Value, Output) {
    let py = python();
    let mut args = vec![
        command,
        project.to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = testgen(&args);
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON from testgen {command} ({e}):\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (json, out)
}

/// `python -m pytest -q -p no:cacheprovider ARGS` in `cwd`, with the test
/// interpreter, as a user would run it (the project's own configuration).
pub fn pytest(cwd: &Path, args: &[&str]) -> Output {
    Command::new(python())
        .current_dir(cwd)
        .args(["-m", "pytest", "-q", "--color=no", "-p", "no:cacheprovider"])
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("running pytest")
}

/// Copies a directory tree (skipping caches and venvs) into a fresh temp dir,
/// so tests never write into the source tree.
pub fn copy_to_temp(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(src, dir.path());
    dir
}

pub fn copy_tree(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for entry in std::fs::read_dir(src).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        let n = name.to_string_lossy();
        if matches!(
            n.as_ref(),
            "__pycache__" | ".testgen" | ".pytest_cache" | ".venv" | "node_modules"
        ) || n == ".coverage"
            || n == "coverage.xml"
        {
            continue;
        }
        let from = entry.path();
        let to = dst.join(&name);
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&from, &to);
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
}

/// A PyPI sdist (source and its own tests), downloaded once into the target
/// dir and unpacked into a fresh temp dir per call. Returns the temp dir and
/// the unpacked project (`name-version/`).
pub fn sdist(name: &str, version: &str) -> (tempfile::TempDir, PathBuf) {
    let cache = Path::new(env!("CARGO_TARGET_TMPDIR")).join("sdists");
    let archive = cache.join(format!("{name}-{version}.tar.gz"));
    if !archive.exists() {
        // Into a private dir first: test binaries may download at once.
        let tmp = tempfile::tempdir_in({
            std::fs::create_dir_all(&cache).unwrap();
            &cache
        })
        .unwrap();
        let out = Command::new(python())
            .args([
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
            ])
            .arg(format!("{name}=={version}"))
            .arg("-d")
            .arg(tmp.path())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pip download {name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let got = std::fs::read_dir(tmp.path())
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().ends_with(".tar.gz"))
            .expect("pip downloaded a .tar.gz");
        std::fs::rename(got.path(), &archive).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let ok = Command::new("tar")
        .arg("xzf")
        .arg(&archive)
        .arg("-C")
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(ok.success());
    let root = dir.path().join(format!("{name}-{version}"));
    (dir, root)
}
pub mod corpus;
pub mod llm_run;
pub mod llm_stub;

/// Functions of the slow module: each costs the harness its whole budget.
pub const SLOW_FUNCTIONS: usize = 16;

/// A project whose `slowlib/work.py` holds [`SLOW_FUNCTIONS`] functions
/// that sleep on every call (generation over it runs for minutes), with a
/// passing suite measured by `testgen test` (coverage on disk, as an
/// editor finds a tested project).
pub fn slow_project() -> tempfile::TempDir {
    let p = tempfile::tempdir().unwrap();
    let root = p.path();
    std::fs::create_dir_all(root.join("slowlib")).unwrap();
    std::fs::create_dir_all(root.join("tests")).unwrap();
    std::fs::write(
        root.join("pyproject.toml"),
        "[project]\nname = \"slowlib\"\nversion = \"0.1.0\"\n\n\
         [tool.pytest.ini_options]\npythonpath = [\".\"]\ntestpaths = [\"tests\"]\n",
    )
    .unwrap();
    std::fs::write(root.join("slowlib/__init__.py"), "").unwrap();
    let mut module = String::from("\"\"\"Functions that take their time.\"\"\"\nimport time\n");
    for i in 0..SLOW_FUNCTIONS {
        module.push_str(&format!(
            "\n\ndef slow_{i}(n):\n    time.sleep(0.25)\n    if n > {i}:\n        return n * {i}\n    return -n\n"
        ));
    }
    std::fs::write(root.join("slowlib/work.py"), module).unwrap();
    std::fs::write(
        root.join("tests/test_work.py"),
        "from slowlib.work import slow_0\n\n\ndef test_slow_0():\n    assert slow_0(0) == 0\n",
    )
    .unwrap();
    let py = python();
    let out = testgen(&[
        "test",
        root.to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    p
}

/// Live processes (other than `server` and this one) whose command line names `root`:
/// a grandchild the server lost track of would be reparented to init.
pub fn processes_naming(root: &Path, server: u32) -> Vec<(u32, String)> {
    let needle = root.to_str().unwrap();
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(p) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if p == server || p == std::process::id() {
            continue;
        }
        let zombie = std::fs::read_to_string(e.path().join("stat"))
            .is_ok_and(|s| s.rfind(')').is_some_and(|i| s[i + 2..].starts_with('Z')));
        let cmd =
            String::from_utf8_lossy(&std::fs::read(e.path().join("cmdline")).unwrap_or_default())
                .replace('\0', " ");
        if !zombie && cmd.contains(needle) {
            out.push((p, cmd));
        }
    }
    out
}
pub mod runner_emu;
