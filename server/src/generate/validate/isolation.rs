//! The last check of validation and the last of its [`RUNS`], once the
//! generated tests passed the others in their files: one run of the
//! survivors in reverse order, before the user's own suite (as CoverUp
//! does with pytest-cleanslate, batched into one run to stay cheap). A
//! generated test that fails there is flaky or depends on the order of the
//! others; a user test that fails there, but passes without
//! the generated tests, was broken by one of them, found by bisection.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use super::{split_nodeid, staged_tests, Staged, ValidateError, RUNS};
use crate::generate::candidates::TestKey;
use crate::generate::output::TestModule;
use crate::runner::plain::{self, PlainRun};
use crate::runner::{process, TestOutcome};
use crate::workspace::Project;

/// Runs at most, bisecting for the tests that break a user test.
const MAX_BISECT_RUNS: usize = 12;

pub struct Check<'a> {
    pub project: &'a Project,
    pub python: &'a Path,
    pub staging: &'a Path,
    /// With TESTGEN_ORDER=reversed: the staging plugin puts the generated
    /// tests first, reversed.
    pub run: &'a plain::RunOptions<'a>,
    pub cancel: &'a CancellationToken,
}

impl Check<'_> {
    /// The tests to drop, with why.
    pub async fn run(
        &self,
        staged_paths: &[PathBuf],
        staged: &BTreeMap<String, Staged>,
        files: &BTreeMap<String, TestModule>,
    ) -> Result<BTreeMap<TestKey, String>, ValidateError> {
        let user = self.user_test_files();
        let mut paths = staged_paths.to_vec();
        paths.extend(user.iter().cloned());
        let r = self.pytest(&paths).await?;
        let mut drop: BTreeMap<TestKey, String> = BTreeMap::new();
        if r.exit == process::Exit::TimedOut {
            for s in staged.values() {
                for key in staged_tests(s, files) {
                    drop.insert(
                        key,
                        "the run with the user's suite timed out (a test hangs or leaves a thread running)".into(),
                    );
                }
            }
            return Ok(drop);
        }
        let mut generated: Vec<String> = Vec::new();
        let mut broken_user: Vec<String> = Vec::new();
        for t in &r.tests {
            let passed = matches!(
                t.outcome,
                TestOutcome::Passed | TestOutcome::Skipped | TestOutcome::Xfail
            );
            match self.staged_key(&t.nodeid, staged) {
                Some(key) if !passed => {
                    drop.entry(key).or_insert_with(|| format!(
                        "failed in run {RUNS} of {RUNS}, with the generated tests in reverse order before the user's suite: it is flaky or depends on another test ({})",
                        t.reason().unwrap_or_default()
                    ));
                }
                Some(_) => generated.push(t.nodeid.clone()),
                None if !passed && !t.nodeid.ends_with(".py") => broken_user.push(t.nodeid.clone()),
                None => {}
            }
        }
        if broken_user.is_empty() {
            return Ok(drop);
        }
        // Failing without the generated tests too: not theirs (the user's
        // suite may not pass in the sandbox).
        let alone = self.failing(&[], &broken_user).await?;
        broken_user.retain(|n| !alone.contains(n));
        if broken_user.is_empty() {
            return Ok(drop);
        }
        let culprits = self.bisect(generated, &broken_user).await?;
        for nodeid in culprits {
            if let Some(key) = self.staged_key(&nodeid, staged) {
                drop.entry(key).or_insert_with(|| {
                    format!(
                        "the user's test {} fails when it runs after this one (it leaves state behind)",
                        broken_user[0]
                    )
                });
            }
        }
        Ok(drop)
    }

    /// The generated tests that make one of `victims` fail (all of
    /// `candidates` do together): halves are tried while the run budget
    /// lasts; a set no half of which breaks a victim alone goes whole.
    async fn bisect(
        &self,
        candidates: Vec<String>,
        victims: &[String],
    ) -> Result<Vec<String>, ValidateError> {
        let mut runs = 0;
        let mut stack = vec![candidates];
        let mut found = Vec::new();
        while let Some(c) = stack.pop() {
            if c.len() <= 1 || runs + 2 > MAX_BISECT_RUNS {
                found.extend(c);
                continue;
            }
            let (a, b) = c.split_at(c.len() / 2);
            runs += 2;
            let fa = !self.failing(a, victims).await?.is_empty();
            let fb = !self.failing(b, victims).await?.is_empty();
            if !fa && !fb {
                found.extend(c); // only together
                continue;
            }
            if fa {
                stack.push(a.to_vec());
            }
            if fb {
                stack.push(b.to_vec());
            }
        }
        Ok(found)
    }

    /// Which of `victims` fail when run after `generated` (node ids).
    async fn failing(
        &self,
        generated: &[String],
        victims: &[String],
    ) -> Result<BTreeSet<String>, ValidateError> {
        let paths: Vec<PathBuf> = generated.iter().chain(victims).map(PathBuf::from).collect();
        let r = self.pytest(&paths).await?;
        let victims: BTreeSet<&String> = victims.iter().collect();
        Ok(r.tests
            .iter()
            .filter(|t| victims.contains(&t.nodeid))
            .filter(|t| matches!(t.outcome, TestOutcome::Failed | TestOutcome::Error))
            .map(|t| t.nodeid.clone())
            .collect())
    }

    async fn pytest(&self, paths: &[PathBuf]) -> Result<PlainRun, ValidateError> {
        let junit = self.staging.join("isolation.xml");
        let r = plain::run_paths(
            self.project,
            self.python,
            paths,
            &junit,
            self.run,
            self.cancel,
        )
        .await?;
        if r.exit == process::Exit::Cancelled {
            return Err(ValidateError::Cancelled);
        }
        Ok(r)
    }

    /// A node id of a staged file (not a user file of the same name).
    fn staged_key(&self, nodeid: &str, staged: &BTreeMap<String, Staged>) -> Option<TestKey> {
        let dir = self.staging.file_name()?.to_string_lossy().into_owned();
        let path = nodeid.split("::").next().unwrap_or(nodeid);
        if !path.split('/').any(|part| part == dir) {
            return None;
        }
        let (file, test) = split_nodeid(nodeid);
        let s = staged.get(&file)?;
        if test.is_empty() {
            return None;
        }
        Some((s.file.clone(), s.only.clone().unwrap_or(test)))
    }

    /// The user's test files (absolute), testgen's own left out.
    fn user_test_files(&self) -> Vec<PathBuf> {
        self.project
            .tests
            .files
            .iter()
            .filter(|f| !crate::generate::targets::is_generated(f))
            .map(|f| self.project.root.join(f.as_str()))
            .filter(|p| p.is_file() && !p.starts_with(self.staging))
            .collect()
    }
}
