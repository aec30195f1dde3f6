//! A fix is kept only when the test passes every one of validation's runs
//! in a row ([`crate::generate::validate::RUNS`], as a generated test must),
//! run on a temporary copy of its module beside the original, so the same
//! conftest files and package apply and the user's file is not touched
//! until the fix has passed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::generate::validate::RUNS;
use crate::index::model::RelPath;
use crate::runner::plain::{self, RunOptions};
use crate::runner::{process, RunnerError, TestOutcome, TestResult};
use crate::workspace::{artifacts, Project};

pub struct Verifier<'a> {
    pub project: &'a Project,
    pub python: &'a Path,
    pub timeout: Duration,
    /// Confines runs of fixes a model wrote (code nobody has read yet).
    pub sandbox: Option<&'a crate::sandbox::Settings>,
    pub cancel: &'a CancellationToken,
}

#[derive(Debug)]
pub enum Verdict {
    Passed,
    /// Why not, and the failing result (node id and traceback already
    /// pointing at the original module) when pytest reported one.
    Failed {
        reason: String,
        result: Option<TestResult>,
    },
}

/// Removes the temporary copy however the verification ends.
struct Copy(PathBuf);

impl Drop for Copy {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl Verifier<'_> {
    /// Runs `test` (`Class::name` / `name`, parameters stripped: every
    /// parameter runs) of module `file` holding `text`, `RUNS` times.
    pub async fn check(
        &self,
        file: &RelPath,
        text: &str,
        test: &str,
        confine: bool,
    ) -> Result<Verdict, RunnerError> {
        let original = self.project.root.join(file.as_str());
        let stem = original
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        // A valid module name, so any import mode imports it.
        let copy_name = format!("{stem}_testgen_fix_{}.py", std::process::id());
        let copy = original.with_file_name(&copy_name);
        artifacts::check_inside(&self.project.root, &copy).map_err(|e| RunnerError::Io {
            context: "writing a test's fix".into(),
            source: std::io::Error::other(e),
        })?;
        artifacts::write_atomic(&copy, text.as_bytes()).map_err(|source| RunnerError::Io {
            context: format!("writing {}", copy.display()),
            source,
        })?;
        let _guard = Copy(copy.clone());
        let dir = artifacts::ensure_dir(&self.project.root).map_err(|source| RunnerError::Io {
            context: format!("creating {}", artifacts::DIR),
            source,
        })?;
        let junit = dir.join("fix-results.xml");
        let tmp = tempfile::Builder::new()
            .prefix("testgen-fix-")
            .tempdir()
            .map_err(|source| RunnerError::Io {
                context: "creating a temporary directory".into(),
                source,
            })?;
        let policy = self
            .sandbox
            .filter(|_| confine)
            .map(|s| s.policy(tmp.path()).writable(dir.clone()));
        let target = if test.is_empty() {
            copy.clone()
        } else {
            PathBuf::from(format!("{}::{test}", copy.display()))
        };
        let copy_rel = RelPath::from_abs(&self.project.python_root, &copy)
            .map(|r| r.to_string())
            .unwrap_or_default();
        let orig_rel = RelPath::from_abs(&self.project.python_root, &original)
            .map(|r| r.to_string())
            .unwrap_or_default();
        for run in 1..=RUNS {
            let opts = RunOptions {
                measure: None,
                timeout: self.timeout,
                sandbox: policy.as_ref(),
                env: Vec::new(),
            };
            let r = plain::run_paths(
                self.project,
                self.python,
                std::slice::from_ref(&target),
                &junit,
                &opts,
                self.cancel,
            )
            .await?;
            match r.exit {
                process::Exit::Cancelled => return Err(RunnerError::Cancelled),
                process::Exit::TimedOut => {
                    return Ok(failed(format!("run {run} of {RUNS} timed out"), None))
                }
                _ => {}
            }
            // A whole module (it did not import) is judged on importing:
            // its tests' own failures are their own records.
            let bad = r
                .tests
                .iter()
                .find(|t| {
                    if test.is_empty() {
                        !t.nodeid.contains("::") && t.outcome == TestOutcome::Error
                    } else {
                        !matches!(t.outcome, TestOutcome::Passed)
                    }
                })
                .cloned();
            if let Some(mut t) = bad {
                t.nodeid = t.nodeid.replace(&copy_rel, &orig_rel);
                t.traceback = t
                    .traceback
                    .map(|s| s.replace(&copy_name, &file_name(&original)));
                t.message = t
                    .message
                    .map(|s| s.replace(&copy_name, &file_name(&original)));
                let reason = format!(
                    "{} in run {run} of {RUNS}: {}",
                    match t.outcome {
                        TestOutcome::Error => "errored",
                        TestOutcome::Skipped | TestOutcome::Xfail => "was skipped",
                        _ => "failed",
                    },
                    t.reason().unwrap_or_default()
                );
                return Ok(failed(reason, Some(t)));
            }
            if r.tests.is_empty() {
                let last = r.tail.iter().rev().find(|l| !l.trim().is_empty());
                return Ok(failed(
                    format!(
                        "pytest ran no test in run {run}{}",
                        last.map(|l| format!(": {}", l.trim())).unwrap_or_default()
                    ),
                    None,
                ));
            }
        }
        Ok(Verdict::Passed)
    }
}

fn failed(reason: String, result: Option<TestResult>) -> Verdict {
    Verdict::Failed { reason, result }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
