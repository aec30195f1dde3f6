//! What a pytest run came to, from its exit code and its results. pytest's
//! exit codes: 0 all passed, 1 tests failed, 2 interrupted (also collection
//! errors), 3 internal error, 4 usage error, 5 no tests collected.

use serde::Serialize;

use super::junit::{TestOutcome, TestResult};
use super::process::Exit;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Every test passed (or was skipped / xfailed).
    Passed,
    /// Some tests failed or errored: the project's problem, not testgen's.
    TestsFailed,
    /// pytest stopped early, e.g. a test module that does not import.
    Interrupted,
    /// pytest itself crashed (exit code 3).
    InternalError,
    /// pytest rejected its command line or configuration (exit code 4).
    UsageError,
    NoTestsCollected,
    /// `--affected` found no test that executes the changed lines.
    NoTestsSelected,
    /// Killed at the timeout, with its whole process group.
    TimedOut,
    Cancelled,
    /// Ended by a signal or an exit code pytest never uses.
    Crashed,
}

impl RunOutcome {
    pub fn of(exit: Exit, tests: &[TestResult]) -> RunOutcome {
        match exit {
            Exit::Code(0) => RunOutcome::Passed,
            Exit::Code(1) => RunOutcome::TestsFailed,
            Exit::Code(2) => RunOutcome::Interrupted,
            Exit::Code(3) => RunOutcome::InternalError,
            Exit::Code(4) => RunOutcome::UsageError,
            Exit::Code(5) => RunOutcome::NoTestsCollected,
            Exit::TimedOut => RunOutcome::TimedOut,
            Exit::Cancelled => RunOutcome::Cancelled,
            Exit::Code(_) | Exit::Signal(_) => {
                let _ = tests;
                RunOutcome::Crashed
            }
        }
    }

    /// pytest ran to an end that produced results worth reading.
    pub fn has_results(self) -> bool {
        matches!(
            self,
            RunOutcome::Passed | RunOutcome::TestsFailed | RunOutcome::Interrupted
        )
    }

    /// testgen could not get a trustworthy result from pytest: the user
    /// needs pytest's own output to see why.
    pub fn is_abnormal(self) -> bool {
        matches!(
            self,
            RunOutcome::Interrupted
                | RunOutcome::InternalError
                | RunOutcome::UsageError
                | RunOutcome::TimedOut
                | RunOutcome::Crashed
        )
    }

    /// pytest may have stopped on the project's setup (configuration,
    /// plugins, conftest.py) rather than on its tests.
    pub fn could_be_setup(self) -> bool {
        matches!(
            self,
            RunOutcome::TestsFailed
                | RunOutcome::Interrupted
                | RunOutcome::InternalError
                | RunOutcome::UsageError
        )
    }

    /// Whether coverage.py's data of the run is worth reading: a run with
    /// results, or one that collected no tests (coverage.py still reports
    /// every file of its source at 0%).
    pub fn has_coverage(self) -> bool {
        self.has_results() || self == RunOutcome::NoTestsCollected
    }

    /// What happened, in words a user reads (never the variant's name).
    pub fn describe(self) -> &'static str {
        match self {
            RunOutcome::Passed => "every test passed",
            RunOutcome::TestsFailed => "some tests failed",
            RunOutcome::Interrupted => {
                "pytest stopped before running the tests: a test module or conftest.py could not be imported or collected; fix those errors (`testgen test PATH` shows them) and try again"
            }
            RunOutcome::InternalError => {
                "pytest crashed with an internal error; run `testgen test PATH` to see its output"
            }
            RunOutcome::UsageError => {
                "pytest rejected its command line or the project's pytest configuration (pytest.ini, pyproject.toml, setup.cfg); check the configuration, or pytestArgs"
            }
            RunOutcome::NoTestsCollected => "pytest found no tests",
            RunOutcome::NoTestsSelected => "no recorded test executes the changed lines",
            RunOutcome::TimedOut => {
                "pytest did not finish within the time limit and was killed; raise the limit (--timeout, testTimeoutS) or look for a test that hangs"
            }
            RunOutcome::Cancelled => "the run was cancelled",
            RunOutcome::Crashed => {
                "the interpreter running pytest crashed (killed by a signal or an unexpected exit code); run `testgen test PATH` to see its output"
            }
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Passed => "passed",
            RunOutcome::TestsFailed => "tests_failed",
            RunOutcome::Interrupted => "interrupted",
            RunOutcome::InternalError => "internal_error",
            RunOutcome::UsageError => "usage_error",
            RunOutcome::NoTestsCollected => "no_tests_collected",
            RunOutcome::NoTestsSelected => "no_tests_selected",
            RunOutcome::TimedOut => "timed_out",
            RunOutcome::Cancelled => "cancelled",
            RunOutcome::Crashed => "crashed",
        }
    }
}

/// Results by outcome, as pytest's summary line counts them (an xpassed
/// test appears in JUnit XML as passed, and is counted so).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub passed: u32,
    pub failed: u32,
    pub error: u32,
    pub skipped: u32,
    pub xfailed: u32,
}

impl Counts {
    pub fn of(tests: &[TestResult]) -> Counts {
        let mut c = Counts::default();
        for t in tests {
            match t.outcome {
                TestOutcome::Passed => c.passed += 1,
                TestOutcome::Failed => c.failed += 1,
                TestOutcome::Error => c.error += 1,
                TestOutcome::Skipped => c.skipped += 1,
                TestOutcome::Xfail => c.xfailed += 1,
            }
        }
        c
    }

    pub fn total(&self) -> u32 {
        self.passed + self.failed + self.error + self.skipped + self.xfailed
    }
}
