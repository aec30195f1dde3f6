//! From proposals to candidate test files: one file per source module
//! (`tests/generated/test_<module>.py`), only the tests that add coverage
//! the suite lacks. A test whose engine knows what it reaches is chosen
//! before validation; one whose reach is unknown (an LLM's) is validated
//! first and chosen from the lines its validation run measured.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::engine::Proposal;
use super::output::{self, TestModule};
use super::targets::{NotTargeted, Target};
use super::validate::{Dropped, Validated};
use super::NO_NEW_COVERAGE;
use crate::index::model::RelPath;

/// (test file name, test name).
pub type TestKey = (String, String);

#[derive(Debug, Default)]
pub struct Candidates {
    /// Test file name → its candidate tests, in proposal order.
    pub modules: BTreeMap<String, TestModule>,
    /// Which target each candidate test was proposed for (`path::Qualname`).
    pub origin: BTreeMap<TestKey, String>,
    /// Targets left out because their test file is the user's.
    pub skipped: Vec<NotTargeted>,
    /// Tests that add nothing the suite lacks.
    pub dropped: Vec<Dropped>,
    /// Which proposal (its position in the batch) each candidate test is.
    pub proposal: BTreeMap<TestKey, usize>,
    /// The source file each test file is for (its header names it).
    sources: BTreeMap<String, RelPath>,
    /// Candidates whose reach is measured by validation, with their
    /// target, in proposal order (the greedy choice depends on it).
    unmeasured: Vec<(TestKey, Target)>,
    /// Lines of each target already reached by the candidates chosen for it.
    reached: BTreeMap<String, BTreeSet<u32>>,
}

impl Candidates {
    pub fn is_empty(&self) -> bool {
        self.modules.values().all(|m| m.tests.is_empty())
    }

    pub fn uses_fixture(&self, name: &str) -> bool {
        let call = format!("({name}");
        self.modules
            .values()
            .flat_map(|m| &m.tests)
            .any(|(_, src)| src.contains(&call))
    }

    /// Whether some candidates still need their reach measured.
    pub fn needs_measuring(&self) -> bool {
        !self.unmeasured.is_empty()
    }

    /// The source file each test file is for (its header names it).
    pub fn sources(&self) -> BTreeMap<String, String> {
        self.sources
            .iter()
            .map(|(f, p)| (f.clone(), p.to_string()))
            .collect()
    }

    /// The validated files, keeping of the measured candidates only those
    /// whose measured lines add coverage (in proposal order, greedily).
    pub fn keep_measured(
        &mut self,
        validated: Validated,
        dropped: &mut Vec<Dropped>,
    ) -> BTreeMap<String, TestModule> {
        let mut files = validated.files;
        for ((file, test), target) in std::mem::take(&mut self.unmeasured) {
            let Some(module) = files.get_mut(&file) else {
                continue;
            };
            if !module.names().contains(test.as_str()) {
                continue; // dropped by validation already
            }
            let lines = validated
                .reached
                .get(&(file.clone(), test.clone()))
                .and_then(|by_file| by_file.get(&target.path));
            let done = self.reached.entry(target.id()).or_default();
            let adds: Vec<u32> = target
                .missing_lines
                .iter()
                .copied()
                .filter(|l| !done.contains(l) && lines.is_some_and(|ls| ls.contains(l)))
                .collect();
            if adds.is_empty() {
                module.remove(&test);
                dropped.push(Dropped::new(file.clone(), test, NO_NEW_COVERAGE.into()));
            } else {
                done.extend(adds);
            }
        }
        files.retain(|_, m| !m.tests.is_empty());
        files
    }
}

/// Groups `proposals` into candidate files under `gen_dir`.
pub fn assemble(gen_dir: &Path, proposals: Vec<Proposal>) -> Candidates {
    let mut c = Candidates::default();
    let mut foreign: BTreeSet<String> = BTreeSet::new();
    let mut owned: BTreeSet<String> = BTreeSet::new();
    for (i, p) in proposals.into_iter().enumerate() {
        let file = output::test_file_name(&p.target.module);
        if !owned.contains(&file) && !foreign.contains(&file) {
            let existing = std::fs::read_to_string(gen_dir.join(&file)).ok();
            if existing.as_deref().is_some_and(|t| !output::is_ours(t)) {
                foreign.insert(file.clone());
            } else {
                owned.insert(file.clone());
            }
        }
        if foreign.contains(&file) {
            let target = p.target.id();
            if !c.skipped.iter().any(|s| s.target == target) {
                c.skipped.push(NotTargeted {
                    target,
                    reason: format!(
                        "{}/{file} exists and is not testgen's: left as it is",
                        output::DIR
                    ),
                });
            }
            continue;
        }
        c.add(file, p, i);
    }
    c
}

impl Candidates {
    fn add(&mut self, file: String, p: Proposal, i: usize) {
        self.sources.insert(file.clone(), p.target.path.clone());
        let target = p.target.id();
        let module = self.modules.entry(file.clone()).or_default();
        match &p.reaches {
            Some(lines) => {
                let done = self.reached.entry(target.clone()).or_default();
                let adds = lines
                    .iter()
                    .any(|l| p.target.missing_lines.contains(l) && !done.contains(l));
                if !adds {
                    self.dropped.push(Dropped::new(
                        file,
                        p.test.name.clone(),
                        NO_NEW_COVERAGE.into(),
                    ));
                    return;
                }
                done.extend(lines.iter().copied());
                let name = module.add(&p.test);
                self.proposal.insert((file.clone(), name.clone()), i);
                self.origin.insert((file, name), target);
            }
            None => {
                let name = module.add(&p.test);
                self.proposal.insert((file.clone(), name.clone()), i);
                self.origin.insert((file.clone(), name.clone()), target);
                self.unmeasured.push(((file, name), p.target));
            }
        }
    }
}
