//! The pipeline's files under `.testgen/`: cleaning the previous run's
//! artifacts (never the user's files, never the LLM cache), the
//! reference's `manual_test_result.json`, and coverage.py's HTML report.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::report::ManualTests;
use crate::runner::process;
use crate::workspace::{artifacts, Project};

/// What one run writes, by the reference's names where it had them. Only
/// these are removed before a run: `.testgen/` also holds the LLM cache,
/// prompt overrides and the lock, which outlive runs.
pub const RUN_ARTIFACTS: &[&str] = &[
    "coverage.xml",
    "coverage.json",
    "coverage.partial.xml",
    "coverage.partial.json",
    ".coverage",
    ".coverage.partial",
    "htmlcov",
    "test-results.xml",
    "test-results.json",
    "contexts.json",
    "analysis.json",
    "coverage_gaps.json",
    "iteration_report.json",
    "auto_fixer_report.json",
    "manual_test_result.json",
    "summary.md",
    "report.html",
    "testgen.sarif",
    "shard.json",
    "generation_costs.json",
    "shard-generated",
];

/// Removes the previous run's artifacts.
pub fn clean(root: &Path) -> std::io::Result<()> {
    let dir = root.join(artifacts::DIR);
    for name in RUN_ARTIFACTS {
        let p = dir.join(name);
        // Never follow a link out of the project.
        let Ok(meta) = std::fs::symlink_metadata(&p) else {
            continue;
        };
        if meta.is_dir() {
            std::fs::remove_dir_all(&p)?;
        } else {
            std::fs::remove_file(&p)?;
        }
    }
    Ok(())
}

/// The user's tests, apart from earlier runs' generated ones.
pub fn manual_tests(project: &Project) -> ManualTests {
    let (generated, manual): (Vec<_>, Vec<_>) = project
        .tests
        .files
        .iter()
        .filter(|f| crate::workspace::is_test_file(f))
        .map(|f| f.to_string())
        .partition(|f| {
            crate::generate::targets::is_generated(&crate::index::model::RelPath::new(f))
        });
    ManualTests {
        manual_tests_found: !manual.is_empty(),
        test_root: project.tests.root.as_ref().map(|r| r.to_string()),
        test_files_count: manual.len(),
        files: manual,
        generated_files: generated,
    }
}

/// Writes `value` as pretty JSON to `.testgen/name`, atomically.
pub fn write_json(root: &Path, name: &str, value: &impl Serialize) -> std::io::Result<PathBuf> {
    let dir = artifacts::ensure_dir(root)?;
    let path = dir.join(name);
    let bytes = serde_json::to_vec_pretty(value).map_err(std::io::Error::other)?;
    artifacts::write_atomic(&path, &bytes)?;
    Ok(path)
}

pub fn write_text(root: &Path, name: &str, text: &str) -> std::io::Result<PathBuf> {
    let dir = artifacts::ensure_dir(root)?;
    let path = dir.join(name);
    artifacts::write_atomic(&path, text.as_bytes())?;
    Ok(path)
}

/// coverage.py's HTML report of the last full run (`.testgen/htmlcov/`),
/// with each line's tests. A failure is a warning: the other reports stand.
pub async fn html_coverage(
    project: &Project,
    python: &Path,
    data_file: &Path,
    cancel: &CancellationToken,
) -> Option<PathBuf> {
    let out = project.root.join(artifacts::DIR).join("htmlcov");
    let spec = process::Spec::new(python, &project.python_root, Duration::from_secs(300))
        .args([
            "-m",
            "coverage",
            "html",
            "-q",
            "-i",
            "--show-contexts",
            "-d",
        ])
        .arg(&out)
        .env("COVERAGE_FILE", data_file);
    match process::run(&spec, cancel).await {
        Ok(f) if f.exit == process::Exit::Code(0) => Some(out),
        Ok(f) => {
            tracing::warn!("coverage html failed: {}", f.tail_text());
            None
        }
        Err(e) => {
            tracing::warn!("coverage html could not start: {e}");
            None
        }
    }
}
