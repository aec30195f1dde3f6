//! What one `testgen run` found and did: the data every rendering (the
//! terminal, summary.md, report.html, SARIF, workflow annotations) and
//! `iteration_report.json` are made from. Renderers read it; only the
//! pipeline writes it.

use serde::{Deserialize, Serialize};

use crate::generate::{BaselineKind, Coverage, NotTargeted, SuspectedBug};
use crate::runner::Counts;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunReport {
    pub version: u32,
    /// The engine that wrote this run's tests (`explore`, `llm`, ...).
    pub engine: String,
    /// The Python root, relative to the project root (`""`: the root).
    pub python_root: String,
    pub shard: Option<super::shard::Shard>,
    pub manual_tests: ManualTests,
    pub baseline: BaselineKind,
    pub coverage_before: Coverage,
    pub coverage_after: Coverage,
    /// Percentage points, after − before.
    pub delta: f64,
    pub rounds: Vec<Round>,
    pub stop: Stop,
    /// The final run of the user's and the generated tests.
    pub final_tests: Counts,
    /// Failing tests of the final run: node id and message.
    pub failing_tests: Vec<Failing>,
    /// Every test under tests/generated/ (this run's and earlier ones).
    pub generated: Vec<GeneratedFile>,
    pub files: Vec<crate::generate::baseline::FileLine>,
    /// Pull-request mode (`--diff BASE`): the changed lines and functions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<super::changes::ChangedReport>,
    /// The functions still missing statements, most missing first.
    pub remaining_gaps: Vec<RemainingGap>,
    pub suspected_bugs: Vec<SuspectedBug>,
    /// Targets whose search the wall-clock safety cap cut short: the only
    /// tests that may differ on a faster or slower machine.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub capped: Vec<String>,
    pub fixer: FixerStep,
    pub gates: Vec<Gate>,
    pub passed: bool,
    pub duration_s: f64,
}

impl RunReport {
    pub fn tests_generated(&self) -> usize {
        self.generated.iter().map(|f| f.tests.len()).sum()
    }

    /// Tests this run wrote (not the ones earlier runs left).
    pub fn tests_written(&self) -> usize {
        self.rounds.iter().map(|r| r.tests_written).sum()
    }
}

/// The reference's `manual_test_result.json`, with relative paths.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManualTests {
    pub manual_tests_found: bool,
    pub test_root: Option<String>,
    pub test_files_count: usize,
    pub files: Vec<String>,
    /// Earlier runs' generated test files (not counted as the user's).
    pub generated_files: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Round {
    pub round: u32,
    /// The shard that ran it (`testgen merge` keeps every shard's rounds).
    pub shard: Option<super::shard::Shard>,
    pub coverage_before: f64,
    pub coverage_after: f64,
    pub gain: f64,
    pub targets: usize,
    pub tests_written: usize,
    pub tests_dropped: usize,
    /// Targets the engine could not address this round.
    pub skipped: usize,
    pub duration_s: f64,
    /// Model calls and tokens of the round; 0 with an offline engine.
    pub llm_calls: u64,
    pub llm_tokens: u64,
    /// Why the loop stopped after this round, or what went wrong in it.
    pub note: Option<String>,
}

/// How far a round has come (progress lines, the live display): the
/// generation's counts, and the time left.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub round: u32,
    #[serde(flatten)]
    pub tally: crate::generate::progress::Tally,
    /// Seconds left: at the pace so far, at most what the time limit leaves.
    pub eta_s: Option<f64>,
}

impl Progress {
    pub fn of(
        round: u32,
        t: &crate::generate::progress::Tally,
        time_left: std::time::Duration,
    ) -> Progress {
        Progress {
            round,
            tally: t.clone(),
            eta_s: t.eta_s().map(|e| e.min(time_left.as_secs_f64())),
        }
    }

    /// One line for a CI log.
    pub fn line(&self) -> String {
        let eta = match self.eta_s {
            Some(s) => format!(
                ", about {} left",
                humantime::format_duration(std::time::Duration::from_secs(s.round() as u64))
            ),
            None => String::new(),
        };
        format!(
            "round {}: {}/{} modules, {}/{} targets tried, {} tests kept, coverage ~{:.2}%{eta}",
            self.round,
            self.tally.modules_done,
            self.tally.modules_total,
            self.tally.targets_tried,
            self.tally.targets_total,
            self.tally.tests_kept,
            self.tally.coverage
        )
    }
}

/// Why the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Stop {
    /// The suite already met the minimum: nothing generated.
    NoGenerationNeeded,
    /// Coverage reached the minimum after this round.
    TargetReached { round: u32 },
    /// The last allowed round ran.
    LastRound { round: u32 },
    /// A round added nothing, so another would not either.
    NoGain { round: u32 },
    /// `run.generationTimeoutS` ran out during this round.
    TimeLimit { round: u32 },
    /// No function is left that the engine could target.
    NothingToTarget,
    /// `testgen merge` of this many shards' runs.
    Merged { shards: u32 },
}

impl Stop {
    pub fn describe(&self, min_coverage: f64) -> String {
        match self {
            Stop::NoGenerationNeeded => {
                format!("coverage already meets {min_coverage}%: no generation needed")
            }
            Stop::TargetReached { round } => {
                format!("reached {min_coverage}% in round {round}")
            }
            Stop::LastRound { round } => format!("stopped after the last round ({round})"),
            Stop::NoGain { round } => {
                format!("round {round} gained nothing: stopped, another round would not either")
            }
            Stop::TimeLimit { round } => {
                format!("the generation time limit ran out in round {round}")
            }
            Stop::NothingToTarget => "no function is left to target".into(),
            Stop::Merged { shards } => format!("merged the results of {shards} shards"),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Failing {
    pub nodeid: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeneratedFile {
    /// Relative to the project root.
    pub path: String,
    pub tests: Vec<GeneratedTest>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct GeneratedTest {
    pub name: String,
    pub target: String,
    pub engine: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RemainingGap {
    /// `path.py::Qualname`.
    pub target: String,
    pub file: String,
    pub line: u32,
    pub missing_lines: Vec<u32>,
    pub coverage: f64,
    /// Why no test covers it yet, when a round said so (skipped targets).
    pub reason: Option<String>,
}

/// What happened to the user's failing tests.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "status")]
pub enum FixerStep {
    /// No user test failed.
    NotNeeded,
    /// User tests failed; the fixer classified them (`auto_fixer_report.json`)
    /// and, with `--fix-user-tests`, wrote the fixes it could verify.
    Ran {
        failing: usize,
        fixed: usize,
        code_bugs: usize,
        unfixed: usize,
        /// The fixes were written to the user's test files.
        written: bool,
        note: String,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Gate {
    /// `coverage` or `delta`.
    pub name: String,
    pub label: String,
    pub threshold: f64,
    pub value: f64,
    pub passed: bool,
}

/// Targets skipped in any round, the last reason kept, in target order.
pub fn merge_skipped(rounds: &[Vec<NotTargeted>]) -> Vec<NotTargeted> {
    let mut by: std::collections::BTreeMap<String, String> = Default::default();
    for r in rounds {
        for s in r {
            // A later round cut by the time limit does not hide why an
            // earlier one could not test the function.
            if is_not_tried(&s.reason) && by.contains_key(&s.target) {
                continue;
            }
            by.insert(s.target.clone(), s.reason.clone());
        }
    }
    by.into_iter()
        .map(|(target, reason)| NotTargeted { target, reason })
        .collect()
}

/// Whether a reason says the time limit kept the function from being tried.
pub fn is_not_tried(reason: &str) -> bool {
    reason == crate::generate::NOT_TRIED || reason == crate::generate::INTERRUPTED
}

/// The remaining gaps the time limit kept from being tried, and the advice.
pub fn not_tried_note(gaps: &[RemainingGap]) -> Option<String> {
    let n = gaps
        .iter()
        .filter(|g| g.reason.as_deref().is_some_and(is_not_tried))
        .count();
    (n > 0).then(|| {
        format!(
            "{n} function{} not tried: the time limit ran out (raise `GENERATION_TIMEOUT` / `run.generationTimeoutS`, or split the run into shards: `testgen run --plan` says how many)",
            if n == 1 { " was" } else { "s were" }
        )
    })
}

/// The note on searches the wall-clock cap cut, if any.
pub fn capped_note(capped: &[String]) -> Option<String> {
    (!capped.is_empty()).then(|| {
        format!(
            "the wall-clock safety cap (`--budget-s`) cut the search of {} target{} ({}): {} tests may differ on a faster or slower machine",
            capped.len(),
            if capped.len() == 1 { "" } else { "s" },
            capped.iter().take(3).cloned().collect::<Vec<_>>().join(", ")
                + if capped.len() > 3 { ", ..." } else { "" },
            if capped.len() == 1 { "its" } else { "their" }
        )
    })
}
