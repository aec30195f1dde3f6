//! `testgen.fixTest {uri, nodeid}`: repairs a failing test. The fixer has
//! not landed: a clear "not available yet", never a fake result.

use serde_json::Value;
use tower_lsp_server::ls_types::MessageType;

use super::FixArgs;
use crate::lsp::error::{LspError, LspResult};
use crate::lsp::handlers;
use crate::lsp::server::Backend;

pub async fn run(b: &Backend, a: FixArgs) -> LspResult<Option<Value>> {
    handlers::locate(&b.session, &handlers::parse_uri(&a.uri)?)?;
    let message = format!(
        "Fixing {} is not available yet: the test fixer has not landed",
        a.nodeid
    );
    b.session
        .client
        .show_message(MessageType::WARNING, &message)
        .await;
    Err(LspError::RequestFailed(message))
}
