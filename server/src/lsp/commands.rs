//! The commands the server executes (`workspace/executeCommand`) and their
//! arguments. Generation goes through `generate.rs` into `generate/`; fixing
//! answers with a clear "not available yet" error until the fixer lands:
//! never a fake result.

use serde::Deserialize;

pub const GENERATE: &str = "testgen.generateTests";
pub const FIX: &str = "testgen.fixTest";
pub const RUN: &str = "testgen.runTests";
pub const REFRESH: &str = "testgen.refreshCoverage";

pub const ALL: [&str; 4] = [GENERATE, FIX, RUN, REFRESH];

/// `testgen.generateTests`: one function (`qualname`) or every gap of the file.
#[derive(Debug, Clone, Deserialize)]
pub struct GenerateArgs {
    pub uri: String,
    pub qualname: Option<String>,
}

/// `testgen.fixTest`.
#[derive(Debug, Clone, Deserialize)]
pub struct FixArgs {
    pub uri: String,
    pub nodeid: String,
}

/// `testgen.runTests`: the given node ids, or the whole suite.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct RunArgs {
    pub uri: Option<String>,
    #[serde(default)]
    pub nodeids: Vec<String>,
}

/// Parses the first argument of a command; a missing one is "{}".
pub fn args<T: for<'de> Deserialize<'de>>(
    command: &str,
    arguments: &[serde_json::Value],
) -> Result<T, String> {
    let v = arguments
        .first()
        .cloned()
        .unwrap_or_else(|| serde_json::json!({}));
    serde_json::from_value(v).map_err(|e| format!("{command}: invalid arguments: {e}"))
}
