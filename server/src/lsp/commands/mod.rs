//! The commands the server executes (`workspace/executeCommand`): parsed
//! into one typed [`Command`], each run by its own file. Generation goes
//! through `generate.rs` into `generate/`, fixing through `fix.rs` into
//! `fix/`, runs through `run.rs` into the server's `runs.rs`. The long
//! ones (generate, fix, run) take the command's cancellation token and
//! show a cancellable progress; cancelled, they write nothing and return
//! [`cancelled`] (answered as `{"cancelled": true}` when the progress was
//! cancelled; a `$/cancelRequest` is answered RequestCancelled by
//! tower-lsp-server).

pub mod fix;
pub mod generate;
pub mod refresh;
pub mod report;
pub mod run;

use std::future::Future;
use std::time::Duration;

use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::error::{LspError, LspResult};

/// How long cancelled work gets to stop by itself (its children killed,
/// its staging removed) before it is dropped where it stands: the user
/// sees it stop within 2 s either way.
pub const STOP_GRACE: Duration = Duration::from_millis(1200);

/// Runs `work` to its end, or until [`STOP_GRACE`] after `cancel` fires
/// (None). Dropping the work kills its children: every child process runs
/// in a process group killed on drop.
pub async fn or_cancelled<T>(
    work: impl Future<Output = T>,
    cancel: &CancellationToken,
) -> Option<T> {
    tokio::pin!(work);
    tokio::select! {
        r = &mut work => Some(r),
        _ = async {
            cancel.cancelled().await;
            tokio::time::sleep(STOP_GRACE).await;
        } => None,
    }
}

/// A command's answer; a failure is also shown to the user (a cancellation
/// is answered only: the user asked for it).
pub async fn answered(
    session: &crate::lsp::session::Session,
    result: LspResult<serde_json::Value>,
) -> LspResult<Option<serde_json::Value>> {
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e @ LspError::Cancelled(_)) => Err(e),
        Err(e) => {
            session.show_error(e.to_string()).await;
            Err(e)
        }
    }
}

/// A command that could not do its work, in words for the user.
pub fn failed(message: String) -> LspError {
    LspError::RequestFailed(message)
}

/// The answer of a command the user cancelled.
pub fn cancelled() -> LspError {
    LspError::Cancelled("testgen: cancelled; nothing was written".into())
}

pub const GENERATE: &str = "testgen.generateTests";
pub const FIX: &str = "testgen.fixTest";
pub const RUN: &str = "testgen.runTests";
pub const REFRESH: &str = "testgen.refreshCoverage";
pub const REPORT: &str = "testgen.showReport";

pub const ALL: [&str; 5] = [GENERATE, FIX, RUN, REFRESH, REPORT];

/// A command with its parsed arguments.
#[derive(Debug, Clone)]
pub enum Command {
    Generate(GenerateArgs),
    Fix(FixArgs),
    Run(RunArgs),
    Refresh,
    Report(ReportArgs),
}

impl Command {
    pub fn parse(name: &str, arguments: &[serde_json::Value]) -> LspResult<Command> {
        Ok(match name {
            GENERATE => Command::Generate(args(name, arguments)?),
            FIX => Command::Fix(args(name, arguments)?),
            RUN => Command::Run(args(name, arguments)?),
            REFRESH => Command::Refresh,
            REPORT => Command::Report(args(name, arguments)?),
            other => {
                return Err(LspError::InvalidParams(format!(
                    "unknown command {other:?}; this server runs {}",
                    ALL.join(", ")
                )))
            }
        })
    }

    /// Whether the command needs the workspace folders indexed first.
    pub fn needs_index(&self) -> bool {
        !matches!(self, Command::Report(_))
    }
}

/// `testgen.showReport`: the folder of `uri` (the first folder without it).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ReportArgs {
    pub uri: Option<String>,
}

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

/// Parses the first argument of a command. No argument, `null`, `[]` and
/// `{}` all mean "no arguments": Lua's empty table `{}` (Neovim's
/// `arguments = { {} }`) is encoded as a JSON array, and commands whose
/// arguments are all optional must accept it. Bad arguments are
/// InvalidParams, in words.
pub fn args<T: for<'de> Deserialize<'de>>(
    command: &str,
    arguments: &[serde_json::Value],
) -> LspResult<T> {
    let v = match arguments.first() {
        None | Some(serde_json::Value::Null) => serde_json::json!({}),
        Some(serde_json::Value::Array(a)) if a.is_empty() => serde_json::json!({}),
        Some(v @ serde_json::Value::Object(_)) => v.clone(),
        Some(other) => {
            return Err(LspError::InvalidParams(format!(
                "{command}: invalid arguments: the first argument must be an object, not {}",
                kind(other)
            )))
        }
    };
    serde_json::from_value(v)
        .map_err(|e| LspError::InvalidParams(format!("{command}: invalid arguments: {e}")))
}

/// A JSON value's kind, as a user reads it in a message.
fn kind(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Array(_) => "a list".into(),
        serde_json::Value::String(s) => format!("the string {s:?}"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_arguments_in_every_spelling_mean_none() {
        for arguments in [vec![], vec![json!(null)], vec![json!([])], vec![json!({})]] {
            let a: RunArgs = args(RUN, &arguments).unwrap_or_else(|e| panic!("{arguments:?}: {e}"));
            assert!(a.uri.is_none() && a.nodeids.is_empty(), "{arguments:?}");
        }
        let a: RunArgs = args(RUN, &[json!({"nodeids": ["t.py::x"]})]).unwrap();
        assert_eq!(a.nodeids, ["t.py::x"]);
    }

    #[test]
    fn bad_arguments_are_explained_without_rust_names() {
        let e = args::<RunArgs>(RUN, &[json!([1, 2])])
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "testgen.runTests: invalid arguments: the first argument must be an object, not a list"
        );
        let e = args::<GenerateArgs>(GENERATE, &[json!([])])
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing field `uri`"), "{e}");
        let e = args::<GenerateArgs>(GENERATE, &[json!("file:///x.py")])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not the string"), "{e}");
        let e = args::<RunArgs>(RUN, &[json!({"nodeids": "t.py::x"})])
            .unwrap_err()
            .to_string();
        assert!(!e.contains("RunArgs") && !e.contains("struct"), "{e}");
    }
}
