//! pytest without coverage on chosen paths: what validation of generated
//! tests needs (run a file several times, read which tests passed) without
//! touching the suite's artifacts under `.testgen/`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{junit, process, project_config, RunnerError, TestResult};
use crate::workspace::Project;

/// One run's results; `None` exit when pytest was killed (timeout, cancel).
#[derive(Debug, Clone)]
pub struct PlainRun {
    pub exit: process::Exit,
    pub tests: Vec<TestResult>,
    pub tail: Vec<String>,
}

/// Runs pytest on `paths` (absolute) from the Python root, with the same
/// import setup as a full run, writing JUnit XML to `junit_xml`.
pub async fn run_paths(
    project: &Project,
    python: &Path,
    paths: &[PathBuf],
    junit_xml: &Path,
    timeout: Duration,
    cancel: &CancellationToken,
) -> Result<PlainRun, RunnerError> {
    let cfg = project_config::ProjectConfig::read(&project.python_root);
    let mut args: Vec<OsString> = vec!["-m".into(), "pytest".into(), "-q".into()];
    args.push(format!("--junitxml={}", junit_xml.display()).into());
    args.extend(["-o".into(), "junit_family=xunit1".into()]);
    args.extend(["-p".into(), "no:cacheprovider".into()]);
    // The project's addopts may ask for coverage; validation does not need
    // it and must not overwrite the suite's data.
    args.extend(["-p".into(), "no:cov".into()]);
    if !cfg.has_option("--import-mode") {
        args.push("--import-mode=importlib".into());
    }
    args.extend(paths.iter().map(|p| p.as_os_str().to_owned()));
    let _ = std::fs::remove_file(junit_xml);
    let spec = process::Spec::new(python, &project.python_root, timeout)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPATH", super::python_path(project));
    let finished = process::run(&spec, cancel)
        .await
        .map_err(RunnerError::io(format!("starting {}", python.display())))?;
    let tests = match std::fs::read(junit_xml) {
        Ok(bytes) => junit::parse(&bytes).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    Ok(PlainRun {
        exit: finished.exit,
        tests,
        tail: finished.tail,
    })
}
