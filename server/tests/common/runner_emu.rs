//! GitHub's runner, emulated (tests/scripts/runneremu): what the Action and
//! the docs' workflows run in. Each emulated job gets a clean HOME and a
//! PATH with only what a runner image has and testgen needs: bash, git,
//! cargo/rustc (rustup's proxies, CARGO_HOME and RUSTUP_HOME as the image
//! sets them), python3 (the test interpreter, as actions/setup-python
//! leaves one); never testgen.
//!
//! One concession to CI time, and only one: CARGO_TARGET_DIR points at
//! this workspace's target directory, where `cargo test --release` has just
//! built the same release binary, so the Action's `cargo install --path`
//! really runs but finds the build fresh (seconds, where a runner compiles
//! for minutes). CARGO_NET_OFFLINE keeps cargo off the network: every
//! dependency is in CARGO_HOME's registry already.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use super::{python, repo_root};

/// The scratch directory of one emulated run: HOME, the runner's PATH.
pub struct Runner {
    pub dir: tempfile::TempDir,
}

impl Default for Runner {
    fn default() -> Self {
        Runner::new()
    }
}

impl Runner {
    pub fn new() -> Runner {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(dir.path().join("home")).unwrap();
        for tool in ["cargo", "rustc", "git"] {
            std::os::unix::fs::symlink(which(tool), bin.join(tool)).unwrap();
        }
        // A wrapper, not a symlink: a venv's interpreter finds its
        // site-packages by the pyvenv.cfg beside the path it is run by.
        for name in ["python3", "python"] {
            let w = bin.join(name);
            std::fs::write(
                &w,
                format!("#!/bin/sh\nexec '{}' \"$@\"\n", python().display()),
            )
            .unwrap();
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Runner { dir }
    }

    pub fn path_var(&self) -> String {
        format!("{}:/usr/bin:/bin", self.dir.path().join("bin").display())
    }

    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// The emulator, in the runner's environment and nothing else.
    fn command(&self) -> Command {
        let home = std::env::var("HOME").unwrap();
        let cargo_home = std::env::var("CARGO_HOME").unwrap_or_else(|_| format!("{home}/.cargo"));
        let rustup_home =
            std::env::var("RUSTUP_HOME").unwrap_or_else(|_| format!("{home}/.rustup"));
        let target = std::env::var("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|_| repo_root().join("target"));
        let mut c = Command::new(python());
        c.arg(repo_root().join("tests/scripts/runneremu"))
            .env_clear()
            .env("HOME", self.home())
            .env("PATH", self.path_var())
            .env("LANG", "C.UTF-8")
            .env("CARGO_HOME", cargo_home)
            .env("RUSTUP_HOME", rustup_home)
            .env("CARGO_TARGET_DIR", target)
            .env("CARGO_NET_OFFLINE", "true");
        c
    }

    /// Runs the composite action at `action_dir` in `workspace`.
    pub fn action(
        &self,
        action_dir: &Path,
        workspace: &Path,
        inputs: &Value,
        github: &Value,
    ) -> (Value, Output) {
        let result = self.dir.path().join("result.json");
        let _ = std::fs::remove_file(&result);
        let out = self
            .command()
            .arg("action")
            .arg(action_dir)
            .arg(&result)
            .arg("--workspace")
            .arg(workspace)
            .arg("--inputs")
            .arg(inputs.to_string())
            .arg("--github")
            .arg(github.to_string())
            .output()
            .unwrap();
        (read_json(&result), out)
    }

    /// Runs `workflow` (YAML text); `uses: testgen/testgen@REF` is this
    /// repository's action, with `overrides` on top of its `with:`.
    pub fn workflow(
        &self,
        workflow: &str,
        remote: &Path,
        github: &Value,
        overrides: &Value,
    ) -> (Value, Output) {
        let file = self.dir.path().join("workflow.yml");
        std::fs::write(&file, workflow).unwrap();
        let result = self.dir.path().join("result.json");
        let scratch = self.dir.path().join("jobs");
        std::fs::create_dir_all(&scratch).unwrap();
        let out = self
            .command()
            .arg("workflow")
            .arg(&file)
            .arg(&result)
            .arg("--scratch")
            .arg(&scratch)
            .arg("--remote")
            .arg(remote)
            .arg("--action")
            .arg(format!("testgen/testgen={}", repo_root().display()))
            .arg("--github")
            .arg(github.to_string())
            .arg("--action-inputs")
            .arg(overrides.to_string())
            .output()
            .unwrap();
        (read_json(&result), out)
    }
}

fn read_json(p: &Path) -> Value {
    std::fs::read_to_string(p)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(Value::Null)
}

fn which(tool: &str) -> PathBuf {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .unwrap();
    let p = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(p.is_absolute(), "{tool} is not on the PATH");
    p
}

/// `git -C dir ARGS` with a fixed identity; panics on failure; stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "dev")
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "dev")
        .env("GIT_COMMITTER_EMAIL", "dev@example.com")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A repository of `src`'s files (one commit on `main`) and a bare remote
/// it pushed to: what actions/checkout fetches from, and where the Action
/// pushes. Returns (the clone, the bare remote).
pub fn repository(src: &Path, dir: &Path) -> (PathBuf, PathBuf) {
    let work = dir.join("work");
    let remote = dir.join("remote.git");
    super::copy_tree(src, &work);
    git(&work, &["init", "-q", "-b", "main"]);
    std::fs::write(
        work.join(".gitignore"),
        "__pycache__/\n.testgen/\n*.egg-info/\n",
    )
    .unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "the project"]);
    git(dir, &["init", "-q", "--bare", "remote.git"]);
    git(
        &work,
        &["remote", "add", "origin", remote.to_str().unwrap()],
    );
    git(&work, &["push", "-q", "origin", "main"]);
    (work, remote)
}

/// Whether `cmd` resolves on `path` (with nothing else on it).
pub fn on_path(cmd: &str, path: &str) -> bool {
    Command::new("/bin/sh")
        .args(["-c", &format!("command -v {cmd}")])
        .env_clear()
        .env("PATH", path)
        .status()
        .unwrap()
        .success()
}
