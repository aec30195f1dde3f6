//! pytest on chosen paths, for validating generated tests: run a file
//! several times and read which tests passed, without touching the suite's
//! artifacts under `.testgen/`. Optionally measured: per-test coverage
//! contexts of the run, for tests whose reach nobody knows beforehand.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::{junit, process, project_config, RunnerError, TestContexts, TestResult};
use crate::workspace::Project;

/// One run's results.
#[derive(Debug, Clone)]
pub struct PlainRun {
    pub exit: process::Exit,
    pub tests: Vec<TestResult>,
    pub tail: Vec<String>,
    /// Which lines each test executed, when the run was measured and
    /// coverage.py could report.
    pub contexts: Option<TestContexts>,
}

/// How one run goes besides its paths.
#[derive(Debug, Clone)]
pub struct RunOptions<'a> {
    /// A coverage data file: record per-test coverage of the Python root.
    pub measure: Option<&'a Path>,
    pub timeout: Duration,
    /// Confine the run (generated candidates): src/sandbox/.
    pub sandbox: Option<&'a crate::sandbox::Policy>,
    /// More variables for the run (read by testgen's staging conftest).
    pub env: Vec<(String, String)>,
}

/// Runs pytest on `paths` (absolute files or node ids) from the Python
/// root, with the same import setup as a full run, in the order given
/// (pytest-randomly off), writing JUnit XML to `junit_xml`.
pub async fn run_paths(
    project: &Project,
    python: &Path,
    paths: &[PathBuf],
    junit_xml: &Path,
    opts: &RunOptions<'_>,
    cancel: &CancellationToken,
) -> Result<PlainRun, RunnerError> {
    let measure = opts.measure;
    let cfg = project_config::ProjectConfig::read(&project.python_root);
    let mut args: Vec<OsString> = vec!["-m".into(), "pytest".into(), "-q".into()];
    args.push(format!("--junitxml={}", junit_xml.display()).into());
    args.extend(["-o".into(), "junit_family=xunit1".into()]);
    args.extend(["-p".into(), "no:cacheprovider".into()]);
    // The order is part of what is checked: the same every run.
    args.extend(["-p".into(), "no:randomly".into()]);
    // One staged file that does not import must not keep the others from
    // running: each test is judged on its own.
    args.push("--continue-on-collection-errors".into());
    match measure {
        Some(_) => {
            for dir in super::coverage_sources(&project.python_root) {
                args.push(format!("--cov={}", dir.display()).into());
            }
            args.extend(["--cov-context=test".into(), "--cov-report=".into()]);
        }
        // The project's addopts may ask for coverage; a plain run does not
        // need it and must not overwrite the suite's data.
        None => args.extend(["-p".into(), "no:cov".into()]),
    }
    if !cfg.has_option("--import-mode") {
        args.push("--import-mode=importlib".into());
    }
    args.extend(paths.iter().map(|p| p.as_os_str().to_owned()));
    let _ = std::fs::remove_file(junit_xml);
    let mut spec = process::Spec::new(python, &project.python_root, opts.timeout)
        .args(args)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONPATH", super::python_path(project));
    if let Some(data) = measure {
        let _ = std::fs::remove_file(data);
        spec = spec.env("COVERAGE_FILE", data);
    }
    for (k, v) in &opts.env {
        spec = spec.env(k, v);
    }
    if let Some(policy) = opts.sandbox {
        spec = spec.sandbox(policy.clone());
    }
    let finished = process::run(&spec, cancel)
        .await
        .map_err(RunnerError::io(format!("starting {}", python.display())))?;
    let tests = match std::fs::read(junit_xml) {
        Ok(bytes) => junit::parse(&bytes).unwrap_or_default(),
        Err(_) => Vec::new(),
    };
    let contexts = match (measure, finished.exit) {
        (Some(data), process::Exit::Code(_)) => contexts_of(project, python, data, cancel).await,
        _ => None,
    };
    Ok(PlainRun {
        exit: finished.exit,
        tests,
        tail: finished.tail,
        contexts,
    })
}

/// The per-test contexts of a coverage data file.
async fn contexts_of(
    project: &Project,
    python: &Path,
    data: &Path,
    cancel: &CancellationToken,
) -> Option<TestContexts> {
    let json_path = data.with_extension("json");
    let spec = process::Spec::new(python, &project.python_root, Duration::from_secs(120))
        .args([
            "-m",
            "coverage",
            "json",
            "--show-contexts",
            "-q",
            "-i",
            "-o",
        ])
        .arg(&json_path)
        .env("COVERAGE_FILE", data);
    let finished = process::run(&spec, cancel).await.ok()?;
    if finished.exit != process::Exit::Code(0) {
        tracing::warn!(
            "coverage json failed: {}",
            finished.tail.last().map_or("", String::as_str)
        );
        return None;
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(&json_path).ok()?).ok()?;
    let (contexts, _) =
        TestContexts::from_coverage_json(&json, &project.root, &project.python_root);
    Some(contexts)
}
