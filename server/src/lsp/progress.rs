//! Work-done progress the server starts itself: VS Code never hands out a
//! token for requests, so the server creates one (`window/workDoneProgress/create`,
//! awaited) and reports `$/progress` begin / end on it. String tokens: some
//! clients reject numeric ones.

use std::sync::atomic::{AtomicU64, Ordering};

use tower_lsp_server::ls_types::notification::Progress as ProgressNotification;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressEnd,
};
use tower_lsp_server::Client;

pub struct Task {
    client: Client,
    token: Option<NumberOrString>,
}

/// Begins a progress when the client supports it; a no-op task otherwise.
pub async fn begin(client: &Client, supported: bool, title: &str, cancellable: bool) -> Task {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    if !supported {
        return Task {
            client: client.clone(),
            token: None,
        };
    }
    let token = NumberOrString::String(format!("testgen/{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    if let Err(e) = client.create_work_done_progress(token.clone()).await {
        tracing::debug!("client refused a progress token: {e}");
        return Task {
            client: client.clone(),
            token: None,
        };
    }
    client
        .send_notification::<ProgressNotification>(ProgressParams {
            token: token.clone(),
            value: ProgressParamsValue::WorkDone(WorkDoneProgress::Begin(WorkDoneProgressBegin {
                title: title.to_string(),
                cancellable: Some(cancellable),
                message: None,
                percentage: None,
            })),
        })
        .await;
    Task {
        client: client.clone(),
        token: Some(token),
    }
}

impl Task {
    pub fn token(&self) -> Option<&NumberOrString> {
        self.token.as_ref()
    }

    pub async fn end(self, message: impl Into<String>) {
        if let Some(token) = self.token {
            self.client
                .send_notification::<ProgressNotification>(ProgressParams {
                    token,
                    value: ProgressParamsValue::WorkDone(WorkDoneProgress::End(
                        WorkDoneProgressEnd {
                            message: Some(message.into()),
                        },
                    )),
                })
                .await;
        }
    }
}
