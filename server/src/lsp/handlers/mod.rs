//! One file per LSP message. Notifications apply what they carry at once
//! (document changes before any `.await`) and spawn the rest; requests
//! answer from the current state without waiting for indexing.

pub mod code_action;
pub mod code_lens;
pub mod configuration;
pub mod coverage;
pub mod did_change;
pub mod did_close;
pub mod did_open;
pub mod did_save;
pub mod execute_command;
pub mod hover;
pub mod initialize;
pub mod initialized;
pub mod progress_cancel;
pub mod watched_files;

use tower_lsp_server::ls_types::Uri;

use super::error::{LspError, LspResult};
use super::session::{Located, Session};

/// The file of a workspace folder that `uri` names, or why not.
pub fn locate(session: &Session, uri: &Uri) -> LspResult<Located> {
    if uri.scheme().as_str() != "file" {
        return Err(LspError::InvalidParams(format!(
            "{}: not a file URI",
            uri.as_str()
        )));
    }
    session.locate(uri).ok_or_else(|| {
        LspError::InvalidParams(format!(
            "{}: not a file of a workspace folder",
            uri.as_str()
        ))
    })
}

/// Requests about a document need it open (its text is the buffer's) and
/// a `file:` URI.
pub fn open_doc(session: &Session, uri: &Uri) -> LspResult<()> {
    if uri.scheme().as_str() != "file" {
        return Err(LspError::InvalidParams(format!(
            "{}: not a file URI",
            uri.as_str()
        )));
    }
    if !session.docs.contains_key(uri.as_str()) {
        return Err(LspError::InvalidParams(format!(
            "{}: document is not open",
            uri.as_str()
        )));
    }
    Ok(())
}

/// Parses a URI given as a string (a command's argument).
pub fn parse_uri(s: &str) -> LspResult<Uri> {
    s.parse()
        .map_err(|_| LspError::InvalidParams(format!("{s}: not a URI")))
}

/// Whether `uri` is a Python source file (what testgen has something to
/// say about).
pub fn is_python(uri: &Uri) -> bool {
    uri.path().as_str().ends_with(".py")
}

/// Publishes the diagnostics of `uri` in the background.
pub fn publish_later(session: &std::sync::Arc<Session>, uri: Uri) {
    let s = session.clone();
    super::background::spawn(async move { s.publish(&uri).await });
}
