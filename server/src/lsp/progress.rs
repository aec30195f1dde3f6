//! Work-done progress the server starts itself: VS Code never hands out a
//! token for requests, so the server creates one (`window/workDoneProgress/create`,
//! awaited) and reports `$/progress` begin / report / end on it. String
//! tokens: some clients reject numeric ones. Work with a size (files
//! indexed, tests run) reports a percentage.
//!
//! Long work (a generation, a fix, a test run) begins its progress with its
//! cancellation token: the progress is then `cancellable`, and the token is
//! registered under the progress token in [`Cancellable`] for as long as
//! the progress lives, so `window/workDoneProgress/cancel` (the editor's own
//! cancel button) stops the work exactly as `$/cancelRequest` does.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use tokio_util::sync::CancellationToken;

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
    /// Keeps the work cancellable from the editor while a clone lives.
    _registered: Option<Arc<Registration>>,
}

/// The cancellation of each cancellable progress in flight, by token.
#[derive(Default)]
pub struct Cancellable(DashMap<String, CancellationToken>);

impl Cancellable {
    /// Cancels the work of a progress token; false when no work has it
    /// (already ended, or never cancellable).
    pub fn cancel(&self, token: &NumberOrString) -> bool {
        match self.0.get(&key(token)) {
            Some(t) => {
                t.cancel();
                true
            }
            None => false,
        }
    }

    /// Cancels every cancellable work in flight (shutdown).
    pub fn cancel_all(&self) {
        for t in self.0.iter() {
            t.value().cancel();
        }
    }
}

/// Removes its token from the registry once the progress is over.
struct Registration {
    map: Arc<Cancellable>,
    key: String,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.map.0.remove(&self.key);
    }
}

fn key(token: &NumberOrString) -> String {
    match token {
        NumberOrString::String(s) => s.clone(),
        NumberOrString::Number(n) => n.to_string(),
    }
}

/// What makes a progress cancellable: the registry and the work's token.
pub struct Cancel<'a> {
    pub registry: &'a Arc<Cancellable>,
    pub token: &'a CancellationToken,
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
/// With `cancel`, the progress is cancellable and cancelling it cancels
/// `cancel.token`.
pub async fn begin(
    client: &Client,
    supported: bool,
    title: &str,
    cancel: Option<Cancel<'_>>,
) -> Task {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let none = || Task {
        client: client.clone(),
        token: None,
        _registered: None,
    };
    if !supported {
        return none();
    }
    let token = NumberOrString::String(format!("testgen/{}", NEXT.fetch_add(1, Ordering::Relaxed)));
    if let Err(e) = client.create_work_done_progress(token.clone()).await {
        tracing::debug!("client refused a progress token: {e}");
        return none();
    }
    let cancellable = cancel.is_some();
    // Registered before `begin` goes out: the client may cancel at once.
    let registered = cancel.map(|c| {
        c.registry.0.insert(key(&token), c.token.clone());
        Arc::new(Registration {
            map: c.registry.clone(),
            key: key(&token),
        })
    });
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
        _registered: registered,
    }
}

impl Task {
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
