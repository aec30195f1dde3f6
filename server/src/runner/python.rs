//! Which Python runs the project's tests, and whether it can: an explicit
//! setting, then `$VIRTUAL_ENV`, then `.venv/` or `venv/` under the project or
//! its Python root, then `python3` on PATH. The pytest / pytest-cov check runs
//! once per interpreter (per binary on disk) and is cached for the process.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::process::{self, Exit, Spec};
use super::RunnerError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `--python` or the editor's `python` setting.
    Explicit,
    VirtualEnv,
    ProjectVenv,
    Path,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Interpreter {
    pub path: PathBuf,
    pub source: Source,
}

/// Versions of what the runner needs, read from the interpreter itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Toolchain {
    pub python: String,
    pub pytest: String,
    pub pytest_cov: String,
    pub coverage: String,
    /// pytest-xdist's version when the interpreter has it (`testgen run`
    /// spreads its measuring runs over the cores with it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xdist: Option<String>,
}

/// Finds the interpreter for a project (see the module doc for the order).
pub fn discover(
    explicit: Option<&Path>,
    root: &Path,
    python_root: &Path,
) -> Result<Interpreter, RunnerError> {
    if let Some(p) = explicit {
        let path = resolve_program(p).ok_or_else(|| RunnerError::NoInterpreter {
            detail: format!("--python {}: no such executable", p.display()),
        })?;
        return Ok(Interpreter {
            path,
            source: Source::Explicit,
        });
    }
    if let Some(venv) = std::env::var_os("VIRTUAL_ENV").filter(|v| !v.is_empty()) {
        let p = Path::new(&venv).join("bin/python");
        if is_executable(&p) {
            return Ok(Interpreter {
                path: p,
                source: Source::VirtualEnv,
            });
        }
    }
    for dir in [root, python_root] {
        for venv in [".venv", "venv"] {
            let p = dir.join(venv).join("bin/python");
            if is_executable(&p) {
                return Ok(Interpreter {
                    path: p,
                    source: Source::ProjectVenv,
                });
            }
        }
    }
    let path = search_path("python3").ok_or_else(|| RunnerError::NoInterpreter {
        detail: "no --python given, no $VIRTUAL_ENV, no .venv/ or venv/ in the project, \
                 and no python3 on PATH"
            .to_string(),
    })?;
    Ok(Interpreter {
        path,
        source: Source::Path,
    })
}

/// The interpreter that creates a new venv: the explicit one, else python3
/// on PATH (never a project venv, which is what is being made).
pub fn base(explicit: Option<&Path>) -> Result<PathBuf, RunnerError> {
    match explicit {
        Some(p) => resolve_program(p).ok_or_else(|| RunnerError::NoInterpreter {
            detail: format!("--python {}: no such executable", p.display()),
        }),
        None => search_path("python3").ok_or_else(|| RunnerError::NoInterpreter {
            detail: "no python3 on PATH to create the venv with (give --python)".into(),
        }),
    }
}

/// An explicit program: a path (relative to the current directory) or a
/// bare name looked up on PATH.
fn resolve_program(p: &Path) -> Option<PathBuf> {
    if p.components().count() > 1 || p.is_absolute() {
        let abs = std::path::absolute(p).ok()?;
        return is_executable(&abs).then_some(abs);
    }
    search_path(p.to_str()?)
}

fn search_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

const CHECK: &str = r#"
import json, sys
out = {"python": sys.version.split()[0], "missing": []}
for mod, dist, key in (("pytest", "pytest", "pytest"), ("pytest_cov", "pytest-cov", "pytest_cov"), ("coverage", "coverage", "coverage")):
    try:
        m = __import__(mod)
        try:
            from importlib.metadata import version
            out[key] = version(dist)
        except Exception:
            out[key] = getattr(m, "__version__", "?")
    except Exception:
        out["missing"].append(dist)
try:
    from importlib.metadata import version
    out["xdist"] = version("pytest-xdist")
except Exception:
    pass
print(json.dumps(out))
"#;

type CacheKey = (PathBuf, Option<SystemTime>);

fn cache() -> &'static Mutex<HashMap<CacheKey, Toolchain>> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<CacheKey, Toolchain>>> =
        std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// Checks that pytest, pytest-cov and coverage import in `python`. A failure
/// names the interpreter and the command that fixes it. Only successes are
/// cached, so installing the packages takes effect without a restart.
pub async fn check(python: &Path) -> Result<Toolchain, RunnerError> {
    let real = python
        .canonicalize()
        .unwrap_or_else(|_| python.to_path_buf());
    let key = (
        real.clone(),
        std::fs::metadata(&real).and_then(|m| m.modified()).ok(),
    );
    if let Some(t) = cache().lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(t);
    }
    let spec =
        Spec::new(python, std::env::temp_dir(), Duration::from_secs(60)).args(["-I", "-c", CHECK]);
    let finished = process::run(&spec, &CancellationToken::new())
        .await
        .map_err(|e| RunnerError::NoInterpreter {
            detail: format!("{}: cannot run it: {e}", python.display()),
        })?;
    let parsed = match finished.exit {
        Exit::Code(0) => finished
            .tail
            .iter()
            .rev()
            .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()),
        _ => None,
    };
    let Some(v) = parsed else {
        return Err(RunnerError::NoInterpreter {
            detail: format!(
                "{} does not run as a Python interpreter: {}",
                python.display(),
                last_line(&finished.tail)
            ),
        });
    };
    let missing: Vec<String> = v["missing"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| m.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    if !missing.is_empty() {
        return Err(RunnerError::MissingPackages {
            python: python.to_path_buf(),
            missing,
        });
    }
    let s = |k: &str| v[k].as_str().unwrap_or("?").to_string();
    let t = Toolchain {
        python: s("python"),
        pytest: s("pytest"),
        pytest_cov: s("pytest_cov"),
        coverage: s("coverage"),
        xdist: v["xdist"].as_str().map(String::from),
    };
    if let Ok(mut c) = cache().lock() {
        c.insert(key, t.clone());
    }
    Ok(t)
}

fn last_line(tail: &[String]) -> &str {
    tail.iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map_or("(no output)", |s| s.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::test_support::TempTree;

    #[test]
    fn project_venv_before_path() {
        let t = TempTree::new(&[("backend/requirements.txt", "")]);
        let bin = t.path().join("backend/.venv/bin");
        std::fs::create_dir_all(&bin).unwrap();
        std::os::unix::fs::symlink("/bin/sh", bin.join("python")).unwrap();
        // VIRTUAL_ENV of the environment running the tests would win; the
        // explicit order is what is checked here.
        if std::env::var_os("VIRTUAL_ENV").is_none() {
            let i = discover(None, t.path(), &t.path().join("backend")).unwrap();
            assert_eq!(i.source, Source::ProjectVenv);
            assert_eq!(i.path, bin.join("python"));
        }
        let i = discover(Some(Path::new("/bin/sh")), t.path(), t.path()).unwrap();
        assert_eq!(i.source, Source::Explicit);
    }

    #[test]
    fn explicit_missing_interpreter_is_a_clear_error() {
        let e = discover(
            Some(Path::new("/no/such/python")),
            Path::new("/"),
            Path::new("/"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("/no/such/python"), "{e}");
    }
}
