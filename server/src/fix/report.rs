//! `.testgen/auto_fixer_report.json`: per failure its classification, the
//! reason, every attempt, the outcome and the diff applied; and the
//! suspected bugs (the fixer's, and those a generation reported) that the
//! editor shows as `suspected-bug` diagnostics and CI summaries list.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::classify::{Classification, Kind};
use crate::generate::SuspectedBug;
use crate::workspace::artifacts;

pub const FILE: &str = "auto_fixer_report.json";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The test was repaired and passes every run.
    Fixed,
    /// The code is wrong: reported, the test left as it is.
    CodeBug,
    /// A test mistake no attempt repaired; the file is unchanged.
    Unfixed,
    /// The rules could not tell, and no model is configured to decide.
    NeedsModel,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttemptRecord {
    pub number: u32,
    /// `rule:<name>` for a deterministic fix, `llm` for the model's.
    pub by: String,
    pub description: String,
    /// `passed`, or why the attempt was not kept.
    pub result: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub nodeid: String,
    pub file: String,
    pub error: String,
    pub classification: Kind,
    /// Which rule (or `llm`) classified it.
    pub classified_by: String,
    pub reason: String,
    pub attempts: Vec<AttemptRecord>,
    pub outcome: Outcome,
    /// Unified diff of the test module, when a fix was applied.
    pub diff: Option<String>,
    pub iteration: u32,
}

impl Record {
    pub fn new(
        nodeid: &str,
        file: &str,
        error: String,
        c: &Classification,
        iteration: u32,
    ) -> Record {
        Record {
            nodeid: nodeid.to_string(),
            file: file.to_string(),
            error,
            classification: c.kind,
            classified_by: c.by.clone(),
            reason: c.reason.clone(),
            attempts: Vec::new(),
            outcome: Outcome::Unfixed,
            diff: None,
            iteration,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Summary {
    pub failures: usize,
    pub fixed: usize,
    pub code_bugs: usize,
    pub unfixed: usize,
    pub needs_model: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: u32,
    /// `provider/model`, or None: only deterministic fixes were tried.
    pub model: Option<String>,
    /// The model's calls, tokens and estimated cost (cached answers are
    /// not calls); None without a model.
    #[serde(default)]
    pub llm: Option<crate::generate::llm::accounting::RunUsage>,
    pub iterations: u32,
    pub duration_s: f64,
    pub summary: Summary,
    pub failures: Vec<Record>,
    pub suspected_bugs: Vec<SuspectedBug>,
    /// Said once, when the run was limited (no model, a test not found).
    pub notes: Vec<String>,
}

impl Report {
    pub fn new(model: Option<String>) -> Report {
        Report {
            version: 1,
            model,
            llm: None,
            iterations: 0,
            duration_s: 0.0,
            summary: Summary::default(),
            failures: Vec::new(),
            suspected_bugs: Vec::new(),
            notes: Vec::new(),
        }
    }

    pub fn summarize(&mut self) {
        let count = |o: Outcome| self.failures.iter().filter(|r| r.outcome == o).count();
        self.summary = Summary {
            failures: self.failures.len(),
            fixed: count(Outcome::Fixed),
            code_bugs: count(Outcome::CodeBug),
            unfixed: count(Outcome::Unfixed),
            needs_model: count(Outcome::NeedsModel),
        };
    }

    /// Every test mistake was fixed and no code bug was found.
    pub fn all_fixed(&self) -> bool {
        self.failures.iter().all(|r| r.outcome == Outcome::Fixed) && self.suspected_bugs.is_empty()
    }

    pub fn path(root: &Path) -> PathBuf {
        root.join(artifacts::DIR).join(FILE)
    }

    /// The last report of the project, when one is readable.
    pub fn load(root: &Path) -> Option<Report> {
        serde_json::from_slice(&std::fs::read(Self::path(root)).ok()?).ok()
    }

    /// Writes the report; with `keep_others`, the earlier report's records
    /// and bugs of tests this run did not look at stay (the editor fixes
    /// one test at a time).
    pub fn save(&self, root: &Path, keep_others: bool) -> std::io::Result<Report> {
        let mut out = self.clone();
        if keep_others {
            if let Some(old) = Self::load(root) {
                let seen: std::collections::BTreeSet<&str> =
                    self.failures.iter().map(|r| r.nodeid.as_str()).collect();
                let mut kept: Vec<Record> = old
                    .failures
                    .into_iter()
                    .filter(|r| !seen.contains(r.nodeid.as_str()))
                    .collect();
                kept.extend(out.failures);
                out.failures = kept;
                let mut bugs: Vec<SuspectedBug> = old
                    .suspected_bugs
                    .into_iter()
                    .filter(|b| b.test.as_deref().is_none_or(|t| !seen.contains(t)))
                    .collect();
                bugs.extend(out.suspected_bugs);
                out.suspected_bugs = bugs;
                out.summarize();
            }
        }
        artifacts::ensure_dir(root)?;
        let bytes = serde_json::to_vec_pretty(&out).map_err(std::io::Error::other)?;
        artifacts::write_atomic(&Self::path(root), &bytes)?;
        Ok(out)
    }
}
