//! The model's part of fixing, behind one small trait: classifying what the
//! rules leave unknown, and writing a repaired test function. The fixer
//! works without one (deterministic fixes only); `llm.rs` implements it
//! over the LLM engine's chat client when that is configured.

use std::future::Future;

use serde::Serialize;

use super::classify::Kind;

/// What a model is shown about one failing test.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Context {
    pub nodeid: String,
    /// The test module, relative to the workspace root.
    pub file: String,
    /// The test function's source as it is now (decorators included).
    pub test_source: String,
    /// `ExceptionType: message`.
    pub error: String,
    /// pytest's report, shortened.
    pub traceback: String,
    /// Definitions the test imports, the project frames of the traceback
    /// and the handlers of the routes it calls, with where they are.
    pub snippets: Vec<Snippet>,
    /// The application's routes the test's URLs match (`POST /items -> create_item`).
    pub routes: Vec<String>,
    pub framework: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Snippet {
    /// `path.py:LINE` of its first line.
    pub location: String,
    /// Why it is shown: `imported`, `traceback`, `route`.
    pub why: &'static str,
    pub source: String,
}

/// The model's judgement of a failure the rules could not place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Only `TestMistake` or `CodeBug`.
    pub kind: Kind,
    pub reason: String,
}

/// One repair attempt: the 2nd carries why the 1st failed, the 3rd asks
/// for a different approach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// 1-based.
    pub number: u32,
    /// Why the previous attempt did not pass.
    pub previous_failure: Option<String>,
    pub different_approach: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Failed(String),
}

pub trait Model: Sync {
    /// Shown in the report (`provider/model`).
    fn name(&self) -> String;

    /// Calls, tokens and cost so far, for the report.
    fn usage(&self) -> Option<crate::generate::llm::accounting::RunUsage> {
        None
    }

    fn classify(&self, ctx: &Context) -> impl Future<Output = Result<Verdict, ModelError>> + Send;

    /// The repaired test function, as Python source (decorators optional).
    fn repair(
        &self,
        ctx: &Context,
        attempt: &Attempt,
    ) -> impl Future<Output = Result<String, ModelError>> + Send;
}

/// No model configured: the fixer never calls it (it checks for `None`
/// first); the type only names the absence.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoModel;

impl Model for NoModel {
    fn name(&self) -> String {
        "none".into()
    }

    async fn classify(&self, _: &Context) -> Result<Verdict, ModelError> {
        Err(ModelError::Failed("no LLM is configured".into()))
    }

    async fn repair(&self, _: &Context, _: &Attempt) -> Result<String, ModelError> {
        Err(ModelError::Failed("no LLM is configured".into()))
    }
}
