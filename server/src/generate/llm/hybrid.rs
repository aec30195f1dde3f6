//! `auto` with an LLM configured: explore runs first (it is free), then the
//! LLM gets only the targets and lines explore's tests do not reach, each
//! prompt carrying explore's tests for that target (the calls that ran and
//! what they returned or raised) as concrete examples.

use std::collections::{BTreeMap, BTreeSet};

use super::LlmEngine;
use crate::generate::engine::{Engine, EngineError, Failure, Job, Proposals};
use crate::generate::explore::ExploreEngine;
use crate::generate::targets::Target;

/// Findings per target given to the prompt, at most.
const FINDINGS: usize = 6;

#[derive(Debug, Clone)]
pub struct HybridEngine {
    pub explore: ExploreEngine,
    pub llm: LlmEngine,
}

impl HybridEngine {
    pub fn new(explore: ExploreEngine, llm: LlmEngine) -> HybridEngine {
        HybridEngine { explore, llm }
    }
}

/// What explore left for the LLM: each target with the lines its tests do
/// not reach (targets explore skipped keep all theirs), and explore's tests
/// per target as findings.
pub fn leftovers(
    targets: &[Target],
    explored: &Proposals,
) -> (Vec<Target>, BTreeMap<String, Vec<String>>) {
    let mut reached: BTreeMap<String, BTreeSet<u32>> = BTreeMap::new();
    let mut findings: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for p in &explored.tests {
        let id = p.target.id();
        reached
            .entry(id.clone())
            .or_default()
            .extend(p.reaches.iter().flatten().copied());
        let f = findings.entry(id).or_default();
        if f.len() < FINDINGS {
            f.push(p.test.source.trim().to_string());
        }
    }
    let left = targets
        .iter()
        .filter_map(|t| {
            let done = reached.get(&t.id());
            let missing: Vec<u32> = t
                .missing_lines
                .iter()
                .copied()
                .filter(|l| done.is_none_or(|d| !d.contains(l)))
                .collect();
            (!missing.is_empty()).then(|| Target {
                missing_lines: missing,
                ..t.clone()
            })
        })
        .collect();
    (left, findings)
}

impl Engine for HybridEngine {
    fn name(&self) -> &'static str {
        "explore+llm"
    }

    async fn propose(&self, job: Job<'_>) -> Result<Proposals, EngineError> {
        let targets = job.targets.clone();
        let explored = self
            .explore
            .propose(job.with_targets(targets.clone()))
            .await?;
        let (left, findings) = leftovers(&targets, &explored);
        tracing::info!(
            explored = explored.tests.len(),
            left = left.len(),
            "explore done; the LLM gets what it left"
        );
        self.llm.set_findings(findings);
        let mut out = explored;
        let asked: BTreeSet<String> = left.iter().map(Target::id).collect();
        if left.is_empty() {
            out.usage = Some(self.llm.usage());
            return Ok(out);
        }
        let mut more = self.llm.propose(job.with_targets(left)).await?;
        // A target explore could not handle but the LLM did is no skip.
        let answered: BTreeSet<String> = more.tests.iter().map(|p| p.target.id()).collect();
        out.skipped
            .retain(|s| !(asked.contains(&s.target) && answered.contains(&s.target)));
        out.skipped.append(&mut more.skipped);
        out.tests.append(&mut more.tests);
        out.suspected_bugs.append(&mut more.suspected_bugs);
        out.usage = more.usage;
        Ok(out)
    }

    async fn repair(&self, job: Job<'_>, failures: Vec<Failure>) -> Result<Proposals, EngineError> {
        self.llm.repair(job, failures).await
    }

    fn usage(&self) -> Option<super::accounting::RunUsage> {
        Some(self.llm.usage())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::generate::engine::{Proposal, TestSource};
    use crate::generate::targets::TargetKind;
    use crate::index::model::RelPath;

    fn target(q: &str, missing: &[u32]) -> Target {
        Target {
            path: RelPath::new("m.py"),
            abs: "/p/m.py".into(),
            module: "m".into(),
            qualname: q.into(),
            kind: TargetKind::Function,
            line: 1,
            end_line: 20,
            missing_lines: missing.to_vec(),
            framework: None,
        }
    }

    #[test]
    fn the_llm_gets_only_what_explore_missed_with_its_findings() {
        let (f, g, h) = (
            target("f", &[2, 3, 4]),
            target("g", &[5, 6]),
            target("h", &[7]),
        );
        let explored = Proposals {
            tests: vec![
                Proposal {
                    target: f.clone(),
                    test: TestSource {
                        name: "test_f".into(),
                        source: "def test_f():\n    assert f(1) == 2\n".into(),
                        imports: vec![],
                        fixtures: vec![],
                    },
                    reaches: Some(vec![2, 3]),
                },
                Proposal {
                    target: g.clone(),
                    test: TestSource {
                        name: "test_g".into(),
                        source: "def test_g():\n    assert g() is None\n".into(),
                        imports: vec![],
                        fixtures: vec![],
                    },
                    reaches: Some(vec![5, 6]),
                },
            ],
            ..Proposals::default()
        };
        let (left, findings) = leftovers(&[f, g, h], &explored);
        let got: Vec<(String, Vec<u32>)> = left
            .iter()
            .map(|t| (t.qualname.clone(), t.missing_lines.clone()))
            .collect();
        assert_eq!(
            got,
            [("f".to_string(), vec![4]), ("h".to_string(), vec![7])]
        );
        assert!(findings["m.py::f"][0].contains("assert f(1) == 2"));
        assert!(!findings.contains_key("m.py::h"));
    }
}
