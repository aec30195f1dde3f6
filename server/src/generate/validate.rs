//! No generated test is written unless it passes: candidate files are put in
//! a staging directory beside the project's tests (so the project's own
//! conftest files apply exactly as they will later), run 3 times in a row,
//! and every test that fails or errors in any run is dropped with the
//! reason. Then the survivors run 3 times again, until a round is clean.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use super::output::{self, TestModule};
use crate::runner::plain::{self, PlainRun};
use crate::runner::{process, RunnerError, TestOutcome};
use crate::workspace::Project;

/// Runs in a row a test must pass.
pub const RUNS: usize = 3;
const MAX_ROUNDS: usize = 3;
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

#[derive(Debug, Clone, Serialize)]
pub struct Dropped {
    pub file: String,
    pub test: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Validated {
    /// file name → tests that passed every run.
    pub files: BTreeMap<String, TestModule>,
    pub dropped: Vec<Dropped>,
}

/// Validates candidate test modules (file name → tests), with the generated
/// `conftest` when route tests need it.
pub async fn validate(
    project: &Project,
    python: &Path,
    mut files: BTreeMap<String, TestModule>,
    conftest: Option<&str>,
    header: impl Fn(&str) -> String,
    cancel: &CancellationToken,
) -> Result<Validated, RunnerError> {
    let mut dropped = Vec::new();
    files.retain(|_, m| !m.tests.is_empty());
    if files.is_empty() {
        return Ok(Validated { files, dropped });
    }
    let tests_dir = project.python_root.join("tests");
    std::fs::create_dir_all(&tests_dir).map_err(io(format!("creating {}", tests_dir.display())))?;
    // A dot directory: pytest's default norecursedirs keeps it out of the
    // user's own runs should testgen be killed before it is removed.
    let staging = tempfile::Builder::new()
        .prefix(".testgen-staging-")
        .tempdir_in(&tests_dir)
        .map_err(io("creating the staging directory".into()))?;
    if let Some(c) = conftest {
        write(
            &staging.path().join("conftest.py"),
            &output::conftest_text(c),
        )?;
    }
    for round in 0..MAX_ROUNDS {
        let mut paths = Vec::new();
        for (name, m) in &files {
            let p = staging.path().join(name);
            write(&p, &m.render(&header(name)))?;
            paths.push(p);
        }
        let junit = staging.path().join("results.xml");
        let mut failures: BTreeMap<(String, String), String> = BTreeMap::new();
        for run in 1..=RUNS {
            let r = plain::run_paths(project, python, &paths, &junit, RUN_TIMEOUT, cancel).await?;
            if r.exit == process::Exit::Cancelled {
                return Err(RunnerError::Io {
                    context: "validating generated tests".into(),
                    source: std::io::Error::other("cancelled"),
                });
            }
            collect_failures(&r, run, &files, &mut failures);
        }
        if failures.is_empty() {
            tracing::info!(round, "generated tests passed {RUNS} runs");
            return Ok(Validated { files, dropped });
        }
        for ((file, test), reason) in failures {
            if let Some(m) = files.get_mut(&file) {
                if test.is_empty() {
                    for (name, _) in std::mem::take(&mut m.tests) {
                        dropped.push(Dropped {
                            file: file.clone(),
                            test: name,
                            reason: reason.clone(),
                        });
                    }
                } else {
                    m.remove(&test);
                    dropped.push(Dropped {
                        file: file.clone(),
                        test,
                        reason,
                    });
                }
            }
        }
        files.retain(|_, m| !m.tests.is_empty());
        for stale in std::fs::read_dir(staging.path())
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = stale.file_name().to_string_lossy().into_owned();
            if name.starts_with("test_") && !files.contains_key(&name) {
                let _ = std::fs::remove_file(stale.path());
            }
        }
        if files.is_empty() {
            break;
        }
    }
    // Still failing after the last round: nothing of it is written.
    for (file, m) in std::mem::take(&mut files) {
        for (test, _) in m.tests {
            dropped.push(Dropped {
                file: file.clone(),
                test,
                reason: format!("still unstable after {MAX_ROUNDS} rounds of validation"),
            });
        }
    }
    Ok(Validated { files, dropped })
}

/// Records every test of `files` that did not pass in this run, with why.
fn collect_failures(
    r: &PlainRun,
    run: usize,
    files: &BTreeMap<String, TestModule>,
    failures: &mut BTreeMap<(String, String), String>,
) {
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    for t in &r.tests {
        let (file, test) = split_nodeid(&t.nodeid);
        if !files.contains_key(&file) {
            continue;
        }
        seen.insert((file.clone(), test.clone()));
        if matches!(t.outcome, TestOutcome::Passed) {
            continue;
        }
        let what = match t.outcome {
            TestOutcome::Failed => "failed",
            TestOutcome::Error if test.is_empty() => "does not import",
            TestOutcome::Error => "errored",
            _ => "was skipped",
        };
        let msg = t
            .message
            .as_deref()
            .and_then(|m| m.lines().next())
            .unwrap_or("")
            .chars()
            .take(300)
            .collect::<String>();
        let flaky = if run > 1 {
            " (flaky: passed before)"
        } else {
            ""
        };
        failures
            .entry((file, test))
            .or_insert_with(|| format!("{what} in run {run} of {RUNS}{flaky}: {msg}"));
    }
    // A test pytest did not report (the run was killed, or it was not
    // collected) cannot be trusted either.
    for (file, m) in files {
        if seen.contains(&(file.clone(), String::new())) {
            continue;
        }
        for (name, _) in &m.tests {
            if !seen.contains(&(file.clone(), name.clone())) {
                let why = match r.exit {
                    process::Exit::TimedOut => "the validation run timed out",
                    _ => "not reported by pytest",
                };
                failures
                    .entry((file.clone(), name.clone()))
                    .or_insert_with(|| format!("{why} in run {run} of {RUNS}"));
            }
        }
    }
}

/// `tests/.staging/test_x.py::test_y[param]` → (`test_x.py`, `test_y`);
/// a collection error's node id (the file alone) gives an empty test.
fn split_nodeid(nodeid: &str) -> (String, String) {
    let (path, test) = nodeid.split_once("::").unwrap_or((nodeid, ""));
    let file = path.rsplit('/').next().unwrap_or(path).to_string();
    let test = test.split('[').next().unwrap_or("").to_string();
    (file, test)
}

fn write(path: &Path, text: &str) -> Result<(), RunnerError> {
    crate::workspace::artifacts::write_atomic(path, text.as_bytes())
        .map_err(io(format!("writing {}", path.display())))
}

fn io(context: String) -> impl FnOnce(std::io::Error) -> RunnerError {
    move |source| RunnerError::Io { context, source }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_ids_split_into_file_and_test() {
        assert_eq!(
            split_nodeid("tests/.testgen-staging-x/test_a.py::test_b[1-2]"),
            ("test_a.py".into(), "test_b".into())
        );
        assert_eq!(
            split_nodeid("tests/.testgen-staging-x/test_a.py"),
            ("test_a.py".into(), String::new())
        );
    }
}
