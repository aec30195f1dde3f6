//! Work-done progress the server starts itself: VS Code never hands out a
//! token for requests, so the server creates one (`window/workDoneProgress/create`,
//! awaited) and reports `$/progress` begin / report / end on it. String
//! tokens: some clients reject numeric ones. Work with a size (files
//! indexed, tests run) reports a percentage.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tower_lsp_server::ls_types::notification::Progress as ProgressNotification;
use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, WorkDoneProgress, WorkDoneProgressBegin,
    WorkDoneProgressEnd, WorkDoneProgressReport,
};
use tower_lsp_server::Client;

#[derive(Clone)]
pub struct Task {
    client: Client,
    token: Option<NumberOrString>,
}

/// A percentage any thread may set; a task reports it while it changes.
pub struct Follower {
    pub value: Arc<AtomicU32>,
    ticker: tokio::task::JoinHandle<()>,
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.ticker.abort();
    }
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

    pub async fn report(&self, percent: u32, message: Option<String>) {
        if let Some(token) = &self.token {
            self.client
                .send_notification::<ProgressNotification>(ProgressParams {
                    token: token.clone(),
                    value: ProgressParamsValue::WorkDone(WorkDoneProgress::Report(
                        WorkDoneProgressReport {
                            cancellable: None,
                            message,
                            percentage: Some(percent.min(100)),
                        },
                    )),
                })
                .await;
        }
    }

    /// Reports the follower's value every 200 ms when it changed.
    pub fn follow(&self) -> Follower {
        let value = Arc::new(AtomicU32::new(0));
        let (task, v) = (self.clone(), value.clone());
        let ticker = tokio::spawn(async move {
            let mut last = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(200)).await;
                let now = v.load(Ordering::Relaxed);
                if now != last {
                    last = now;
                    task.report(now, None).await;
                }
            }
        });
        Follower { value, ticker }
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
