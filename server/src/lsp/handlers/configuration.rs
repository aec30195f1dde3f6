//! The editor's settings: `workspace/configuration` (asked for after
//! `initialized` and on every `didChangeConfiguration` without settings)
//! and `didChangeConfiguration` with settings (the push model).

use std::sync::Arc;

use serde_json::Value;
use tower_lsp_server::ls_types::{ConfigurationItem, DidChangeConfigurationParams};

use crate::config::Source;
use crate::lsp::server::Backend;
use crate::lsp::session::Session;

/// Asks the client for section `testgen` and applies it.
pub async fn fetch(session: &Arc<Session>) {
    if !session.caps().configuration {
        return;
    }
    let items = vec![ConfigurationItem {
        scope_uri: None,
        section: Some("testgen".into()),
    }];
    match session.client.configuration(items).await {
        Ok(values) => {
            let v = values.into_iter().next().unwrap_or(Value::Null);
            apply(session, v).await;
        }
        Err(e) => tracing::debug!("workspace/configuration: {e}"),
    }
}

async fn apply(session: &Session, v: Value) {
    if let Err(e) = session.set_editor_settings(Source::WorkspaceConfiguration, v) {
        session.show_error(format!("testgen: {e}")).await;
    }
}

pub fn did_change(b: &Backend, params: DidChangeConfigurationParams) {
    let session = b.session.clone();
    crate::lsp::background::spawn(async move {
        let s = &params.settings;
        let signal_only = s.is_null()
            || *s == serde_json::json!({})
            || s.as_array().is_some_and(|a| a.is_empty());
        if signal_only {
            // Pull model: the client only signals a change.
            fetch(&session).await;
        } else {
            apply(&session, params.settings).await;
        }
        session.publish_all().await;
    });
}
