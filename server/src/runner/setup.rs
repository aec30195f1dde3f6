//! `--setup`: gives a project a working `.venv` the way the reference
//! pipeline prepared its environment: create the venv when there is none,
//! install the project's requirements.txt or pyproject dependencies, then
//! pytest, pytest-cov and coverage. A stamp of what was installed makes a
//! second `--setup` with unchanged requirements cost nothing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::process::{self, Exit, Spec};
use super::{python, RunnerError};

/// pip may have to download; its own limit is generous but finite.
const PIP_TIMEOUT: Duration = Duration::from_secs(1800);
const STAMP: &str = ".testgen-setup";

/// Makes sure the project has a venv with its dependencies and the test
/// tools; returns its interpreter. `base` creates the venv when missing
/// (default: python3 on PATH).
pub async fn ensure_venv(
    root: &Path,
    python_root: &Path,
    base: Option<&Path>,
    cancel: &CancellationToken,
) -> Result<PathBuf, RunnerError> {
    let venv = existing_venv(root, python_root).unwrap_or_else(|| python_root.join(".venv"));
    let py = venv.join("bin/python");
    if !py.exists() {
        let base = python::base(base)?;
        tracing::info!(venv = %venv.display(), base = %base.display(), "creating venv");
        let spec = Spec::new(&base, python_root, Duration::from_secs(300))
            .args(["-m", "venv"])
            .arg(&venv);
        step(&venv, spec, "creating the venv", cancel).await?;
    }
    let wanted = requirements(python_root);
    let stamp = venv.join(STAMP);
    if std::fs::read_to_string(&stamp).ok().as_deref() == Some(wanted.describe().as_str()) {
        tracing::info!(venv = %venv.display(), "venv already set up");
        return Ok(py);
    }
    let pip = |extra: Vec<String>| {
        Spec::new(&py, python_root, PIP_TIMEOUT)
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
            .args(extra)
    };
    if let Some(req) = &wanted.requirements_txt {
        let spec = pip(vec!["-r".into(), req.display().to_string()]);
        step(&venv, spec, "installing requirements.txt", cancel).await?;
    }
    if !wanted.pyproject_deps.is_empty() {
        let spec = pip(wanted.pyproject_deps.clone());
        step(
            &venv,
            spec,
            "installing pyproject.toml dependencies",
            cancel,
        )
        .await?;
    }
    if wanted.installable {
        // Libraries read their own version with importlib.metadata at import
        // time: the project must be installed. After pinned requirements,
        // without re-resolving them.
        let mut args = vec!["-e".to_string(), python_root.display().to_string()];
        if wanted.requirements_txt.is_some() {
            args.insert(0, "--no-deps".into());
        }
        step(
            &venv,
            pip(args),
            "installing the project itself (pip install -e .)",
            cancel,
        )
        .await?;
    }
    let tools = ["pytest", "pytest-cov", "coverage"]
        .map(String::from)
        .to_vec();
    step(
        &venv,
        pip(tools),
        "installing pytest and pytest-cov",
        cancel,
    )
    .await?;
    crate::workspace::artifacts::write_atomic(&stamp, wanted.describe().as_bytes())
        .map_err(RunnerError::io(format!("writing {}", stamp.display())))?;
    Ok(py)
}

fn existing_venv(root: &Path, python_root: &Path) -> Option<PathBuf> {
    [root, python_root]
        .iter()
        .flat_map(|d| [d.join(".venv"), d.join("venv")])
        .find(|v| v.join("bin/python").exists())
}

async fn step(
    venv: &Path,
    spec: Spec,
    what: &str,
    cancel: &CancellationToken,
) -> Result<(), RunnerError> {
    let f = process::run(&spec, cancel)
        .await
        .map_err(|e| RunnerError::Setup {
            venv: venv.to_path_buf(),
            detail: format!("{what}: cannot run {}: {e}", spec.program.display()),
        })?;
    match f.exit {
        Exit::Code(0) => Ok(()),
        other => Err(RunnerError::Setup {
            venv: venv.to_path_buf(),
            detail: format!(
                "{what} failed ({}): {}",
                other.describe(),
                // The tool's own reason, not pip's closing "This error
                // originates from a subprocess".
                super::diagnose::install_error(&f.tail).unwrap_or_else(|| f
                    .tail
                    .iter()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .map_or(String::new(), |s| s.trim().to_string()))
            ),
        }),
    }
}

struct Wanted {
    requirements_txt: Option<PathBuf>,
    pyproject_deps: Vec<String>,
    /// The project is a package pip can install (a build system in
    /// pyproject.toml, setup.py or setup.cfg).
    installable: bool,
    /// Content of the files, so a change re-runs the installs.
    fingerprint: String,
}

impl Wanted {
    fn describe(&self) -> String {
        format!("v2\n{}", self.fingerprint)
    }
}

fn requirements(python_root: &Path) -> Wanted {
    let req = python_root.join("requirements.txt");
    let req_text = std::fs::read_to_string(&req).ok();
    let pyproject = std::fs::read_to_string(python_root.join("pyproject.toml")).ok();
    let doc = pyproject
        .as_deref()
        .and_then(|t| t.parse::<toml::Table>().ok());
    let installable = doc.as_ref().is_some_and(|d| d.contains_key("build-system"))
        || python_root.join("setup.py").is_file()
        || python_root.join("setup.cfg").is_file();
    // With the project installed, pip resolves its dependencies itself.
    let deps = doc
        .filter(|_| !installable)
        .and_then(|doc| {
            let deps = doc.get("project")?.get("dependencies")?.as_array()?.clone();
            Some(
                deps.iter()
                    .filter_map(|d| d.as_str().map(String::from))
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap_or_default();
    Wanted {
        requirements_txt: req_text.as_ref().map(|_| req.clone()),
        pyproject_deps: deps,
        installable,
        fingerprint: format!(
            "{}\n--\n{}",
            req_text.unwrap_or_default(),
            pyproject.unwrap_or_default()
        ),
    }
}
