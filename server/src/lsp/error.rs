//! The one error type of the server's handlers, with its JSON-RPC code: a
//! handler says what went wrong in words, and this says how the protocol
//! reports it. Messages are for people (never a Rust type's name).

use tower_lsp_server::jsonrpc::{Error, ErrorCode};

#[derive(Debug, Clone, thiserror::Error)]
pub enum LspError {
    /// The request itself is wrong: a bad argument, a file outside the
    /// workspace (-32602).
    #[error("{0}")]
    InvalidParams(String),
    /// A valid request that could not be carried out: no interpreter, a
    /// buffer with unsaved changes, a generation that failed (-32803, LSP's
    /// RequestFailed).
    #[error("{0}")]
    RequestFailed(String),
    /// No such method or command (-32601).
    #[error("{0}")]
    MethodNotFound(String),
    /// The user cancelled the work (its progress, or the request): what it
    /// would have written was not written (-32800, LSP's RequestCancelled,
    /// the answer tower-lsp-server gives to `$/cancelRequest` too).
    #[error("{0}")]
    Cancelled(String),
}

pub type LspResult<T> = Result<T, LspError>;

impl From<LspError> for Error {
    fn from(e: LspError) -> Error {
        let code = match &e {
            LspError::InvalidParams(_) => ErrorCode::InvalidParams,
            LspError::RequestFailed(_) => ErrorCode::ServerError(-32803),
            LspError::MethodNotFound(_) => ErrorCode::MethodNotFound,
            LspError::Cancelled(_) => ErrorCode::RequestCancelled,
        };
        Error {
            code,
            message: e.to_string().into(),
            data: None,
        }
    }
}
