//! The server's state: open documents, workspace folders, settings, client
//! capabilities. Handlers (`handlers/`) translate protocol messages into
//! calls on the session; the session never blocks the message loop (heavy
//! work goes to background tasks and `spawn_blocking`), and never waits for
//! indexing: until a folder is indexed, what is asked about it is answered
//! with what is known (nothing), and the indexing task publishes everything
//! once it ends.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use dashmap::DashMap;
use tower_lsp_server::ls_types::{Diagnostic, MessageType, Uri};
use tower_lsp_server::Client;

use crate::index::model::RelPath;
use crate::workspace;

use super::document::{Document, Encoding};
use super::line_map::LineMap;
use super::progress;
use super::render::{self, View};
use super::state::WorkspaceState;
use crate::config::{self, Config, ConfigError, Layer, Source};

#[derive(Debug, Clone, Copy, Default)]
pub struct ClientCaps {
    /// Generated tests are sent through workspace/applyEdit when set, else
    /// written to disk.
    pub apply_edit: bool,
    pub lens_refresh: bool,
    pub work_done_progress: bool,
    pub configuration: bool,
}

pub struct Session {
    pub client: Client,
    pub encoding: OnceLock<Encoding>,
    pub caps: OnceLock<ClientCaps>,
    /// Open documents by URI string.
    pub docs: DashMap<String, Document>,
    pub folders: RwLock<Vec<PathBuf>>,
    pub workspaces: RwLock<Vec<Arc<WorkspaceState>>>,
    /// The editor's settings as sent: initializationOptions,
    /// workspace/configuration (each folder resolves their relative paths
    /// against its own root).
    editor: Mutex<EditorSettings>,
    /// The resolved configuration of each workspace folder.
    configs: RwLock<HashMap<PathBuf, Arc<Config>>>,
    /// URIs that currently have diagnostics, to clear the ones that no longer do.
    published: Mutex<HashSet<String>>,
    /// Becomes true once the workspace folders are indexed and loaded.
    ready: tokio::sync::watch::Sender<bool>,
    /// Why the last generation of a file wrote nothing for some of its
    /// functions: (qualname, reason), by absolute path.
    pub skipped: DashMap<PathBuf, Vec<(String, String)>>,
    /// The long work the editor can cancel from its progress.
    pub cancellable: Arc<progress::Cancellable>,
}

/// A file of a workspace, from a URI.
pub struct Located {
    pub ws: Arc<WorkspaceState>,
    pub rel: RelPath,
    pub path: PathBuf,
}

impl Session {
    pub fn new(client: Client) -> Session {
        Session {
            client,
            encoding: OnceLock::new(),
            caps: OnceLock::new(),
            docs: DashMap::new(),
            folders: RwLock::new(Vec::new()),
            workspaces: RwLock::new(Vec::new()),
            editor: Mutex::new(EditorSettings::default()),
            configs: RwLock::new(HashMap::new()),
            published: Mutex::new(HashSet::new()),
            ready: tokio::sync::watch::Sender::new(false),
            skipped: DashMap::new(),
            cancellable: Arc::default(),
        }
    }

    /// Begins a work-done progress; with `cancel`, a cancellable one whose
    /// cancel button (`window/workDoneProgress/cancel`) cancels that token.
    pub async fn progress(
        &self,
        title: &str,
        cancel: Option<&tokio_util::sync::CancellationToken>,
    ) -> progress::Task {
        let cancel = cancel.map(|token| progress::Cancel {
            registry: &self.cancellable,
            token,
        });
        progress::begin(&self.client, self.caps().work_done_progress, title, cancel).await
    }

    pub fn is_ready(&self) -> bool {
        *self.ready.borrow()
    }

    pub fn set_ready(&self) {
        self.ready.send_replace(true);
    }

    /// Waits until the folders are indexed: what arrives meanwhile (an open,
    /// a save) is handled against the whole workspace, not dropped.
    pub async fn wait_ready(&self) {
        let mut rx = self.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    pub fn encoding(&self) -> Encoding {
        self.encoding.get().copied().unwrap_or_default()
    }

    pub fn caps(&self) -> ClientCaps {
        self.caps.get().copied().unwrap_or_default()
    }

    /// The configuration of the folder holding `root` (the defaults over
    /// the editor's settings when the folder is unknown).
    pub fn config(&self, root: &Path) -> Arc<Config> {
        if let Some(c) = self.configs.read().ok().and_then(|m| m.get(root).cloned()) {
            return c;
        }
        let editor = self
            .editor
            .lock()
            .map(|e| e.layers(None))
            .unwrap_or_default();
        Arc::new(Config::from_layers(&editor).unwrap_or_default())
    }

    pub fn workspaces(&self) -> Vec<Arc<WorkspaceState>> {
        self.workspaces
            .read()
            .map(|w| w.clone())
            .unwrap_or_default()
    }

    /// Replaces one of the editor's settings layers (`source` is
    /// initializationOptions or workspace/configuration) and recomputes
    /// every folder's configuration. An invalid value keeps the previous
    /// configuration and returns the problem for the user.
    pub fn set_editor_settings(
        &self,
        source: Source,
        value: serde_json::Value,
    ) -> Result<(), ConfigError> {
        // Checked once here, so a bad value is reported when it arrives.
        Layer::from_json(source, &value, None)?;
        {
            let mut e = self.editor.lock().unwrap_or_else(|e| e.into_inner());
            match source {
                Source::InitializationOptions => e.init = value,
                _ => e.workspace = value,
            }
        }
        self.recompute_configs()
    }

    /// Recomputes each folder's configuration: the editor's layers, the
    /// folder's pyproject.toml, the environment. All or nothing.
    pub fn recompute_configs(&self) -> Result<(), ConfigError> {
        let folders = self.folders.read().map(|f| f.clone()).unwrap_or_default();
        let editor = self.editor.lock().map(|e| e.clone()).unwrap_or_default();
        let mut fresh = HashMap::new();
        for root in folders {
            let python_root = workspace::python_root_of(&root);
            let layers = editor.layers(Some(&root));
            let c = config::load(&root, &python_root, &layers, None)?;
            // Keyed like WorkspaceState::root(): canonical.
            fresh.insert(root.canonicalize().unwrap_or(root), Arc::new(c));
        }
        if let Ok(mut cur) = self.configs.write() {
            *cur = fresh;
        }
        Ok(())
    }

    /// The workspace and relative path of a `file://` URI inside a folder.
    pub fn locate(&self, uri: &Uri) -> Option<Located> {
        // `ws/../outside.py` is outside: resolve `..` before comparing.
        let path = normalize(&uri.to_file_path()?);
        let wss = self.workspaces();
        let find = |p: &Path| {
            wss.iter()
                .filter_map(|ws| Some((ws, ws.rel(p)?)))
                .max_by_key(|(ws, _)| ws.root().as_os_str().len())
                .map(|(ws, rel)| (ws.clone(), rel))
        };
        let (ws, rel) = find(&path).or_else(|| find(&path.canonicalize().ok()?))?;
        Some(Located { ws, rel, path })
    }

    /// The buffer of an open document, or the file on disk.
    fn buffer(&self, uri: &Uri, loc: &Located) -> Option<Document> {
        if let Some(d) = self.docs.get(uri.as_str()) {
            return Some(d.clone());
        }
        let bytes = std::fs::read(&loc.path).ok()?;
        Some(Document::new(
            String::from_utf8_lossy(&bytes).into_owned(),
            0,
        ))
    }

    /// Renders something for a URI: builds the view (buffer + data + maps)
    /// and hands it to `f`.
    pub fn with_view<R>(&self, uri: &Uri, f: impl FnOnce(&View, &Located) -> R) -> Option<R> {
        let loc = self.locate(uri)?;
        let data = loc.ws.data();
        let doc = self.buffer(uri, &loc)?;
        let cov = data.coverage.get(&loc.rel);
        let res = data.results.get(&loc.rel);
        let imp = data.imports.get(&loc.rel);
        let cov_map = cov.map(|c| LineMap::between(&c.anchor, doc.text()));
        let res_map = res.map(|r| LineMap::between(&r.anchor, doc.text()));
        let imp_map = imp.map(|i| LineMap::between(&i.anchor, doc.text()));
        let bugs = data.bugs.get(&loc.rel);
        let bug_map = bugs.map(|b| LineMap::between(&b.anchor, doc.text()));
        let skipped = self
            .skipped
            .get(&loc.path)
            .map(|s| s.value().clone())
            .unwrap_or_default();
        let view = View {
            doc: &doc,
            encoding: self.encoding(),
            coverage: cov.map(|c| c.as_ref()).zip(cov_map.as_ref()),
            results: res.map(|r| r.as_ref()).zip(res_map.as_ref()),
            imports: imp.map(|i| i.as_ref()).zip(imp_map.as_ref()),
            bugs: bugs.map(|b| b.as_ref()).zip(bug_map.as_ref()),
            skipped: &skipped,
        };
        Some(f(&view, &loc))
    }

    pub fn diagnostics_for(&self, uri: &Uri) -> Vec<Diagnostic> {
        self.with_view(uri, |view, loc| {
            let config = self.config(loc.ws.root());
            render::diagnostics(view, uri, &config, workspace::is_test_file(&loc.rel))
        })
        .unwrap_or_default()
    }

    /// Publishes the diagnostics of one URI (with the document's version).
    pub async fn publish(&self, uri: &Uri) {
        if !self.is_ready() {
            return; // indexing publishes every file when it ends
        }
        let diags = self.diagnostics_for(uri);
        let version = self.docs.get(uri.as_str()).map(|d| d.version);
        let had = {
            let mut p = self.published.lock().unwrap_or_else(|e| e.into_inner());
            if diags.is_empty() {
                p.remove(uri.as_str())
            } else {
                p.insert(uri.as_str().to_string());
                true
            }
        };
        if had || !diags.is_empty() {
            self.client
                .publish_diagnostics(uri.clone(), diags, version)
                .await;
        }
    }

    /// Publishes every file that has data or diagnostics, and every open
    /// document; clears files that no longer have any.
    pub async fn publish_all(&self) {
        let mut uris: HashSet<String> =
            self.published.lock().map(|p| p.clone()).unwrap_or_default();
        uris.extend(self.docs.iter().map(|d| d.key().clone()));
        for ws in self.workspaces() {
            let data = ws.data();
            for rel in data.files() {
                if let Some(u) = Uri::from_file_path(ws.root().join(rel.as_str())) {
                    uris.insert(u.as_str().to_string());
                }
            }
        }
        for u in uris {
            if let Ok(uri) = u.parse::<Uri>() {
                self.publish(&uri).await;
            }
        }
    }

    /// The folder holding `uri` (a file or the folder itself).
    pub fn workspace_of(&self, uri: &Uri) -> Option<Arc<WorkspaceState>> {
        let path = normalize(&uri.to_file_path()?);
        self.workspaces()
            .into_iter()
            .filter(|ws| {
                path.starts_with(ws.root())
                    || path.canonicalize().is_ok_and(|p| p.starts_with(ws.root()))
            })
            .max_by_key(|ws| ws.root().as_os_str().len())
    }

    /// The text of `uri` as the server sees it: the open buffer, else the file.
    pub fn buffer_text(&self, uri: &Uri, loc: &Located) -> Option<String> {
        self.buffer(uri, loc).map(|d| d.text().to_string())
    }

    /// The tests whose recorded contexts executed the buffer's 0-based
    /// `line` of `uri` (None: nothing measured there).
    pub fn tests_for_line(&self, uri: &Uri, line: u32) -> Option<Vec<String>> {
        let loc = self.locate(uri)?;
        let data = loc.ws.data();
        let cov = data.coverage.get(&loc.rel)?;
        let doc = self.buffer(uri, &loc)?;
        let anchor = LineMap::between(&cov.anchor, doc.text()).anchor_of(line + 1)?;
        let contexts = data.contexts.as_ref()?;
        Some(
            contexts
                .tests_touching(&loc.rel, Some(anchor..=anchor))
                .into_iter()
                .collect(),
        )
    }

    /// Re-reads every folder's measured data and shows the result:
    /// diagnostics, lenses, the coverage notification.
    pub async fn reload_all(&self) {
        for ws in self.workspaces() {
            self.reload(&ws, false).await;
        }
        self.publish_all().await;
        self.refresh_lenses().await;
    }

    /// Re-reads one folder's measured data (off the message loop); shows its
    /// problems; when something changed (or `always`), republishes and tells
    /// the client. Returns whether anything changed.
    pub async fn reload(&self, ws: &Arc<WorkspaceState>, always: bool) -> bool {
        let w = ws.clone();
        let report = super::background::spawn_blocking(move || w.reload())
            .await
            .unwrap_or_default();
        for p in report.problems {
            self.show_error(p).await;
        }
        if report.changed {
            self.notify_coverage(ws).await;
        }
        if report.changed || always {
            self.publish_all().await;
            self.refresh_lenses().await;
        }
        report.changed
    }

    /// `testgen/coverageChanged` for one folder (docs/lsp-extensions.md).
    pub async fn notify_coverage(&self, ws: &WorkspaceState) {
        let payload = super::coverage_view::summary(ws);
        self.client
            .send_notification::<CoverageChanged>(payload)
            .await;
    }

    /// A problem the user must see: a message window plus a log line.
    pub async fn show_error(&self, message: impl Into<String>) {
        let message = message.into();
        tracing::error!("{message}");
        self.client.log_message(MessageType::ERROR, &message).await;
        self.client.show_message(MessageType::ERROR, message).await;
    }

    pub async fn refresh_lenses(&self) {
        if self.caps().lens_refresh {
            if let Err(e) = self.client.code_lens_refresh().await {
                tracing::debug!("codeLens/refresh: {e}");
            }
        }
    }
}

/// The editor's two settings layers, as JSON: parsed per folder, because
/// relative paths resolve against each folder's root.
#[derive(Debug, Clone, Default)]
struct EditorSettings {
    init: serde_json::Value,
    workspace: serde_json::Value,
}

impl EditorSettings {
    fn layers(&self, root: Option<&Path>) -> Vec<Layer> {
        [
            (Source::InitializationOptions, &self.init),
            (Source::WorkspaceConfiguration, &self.workspace),
        ]
        .into_iter()
        .filter_map(|(source, v)| Layer::from_json(source, v, root).ok())
        .collect()
    }
}

/// `a/b/../c` → `a/c`, lexically (the file need not exist).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// testgen's own notification: a folder's coverage changed.
pub enum CoverageChanged {}

impl tower_lsp_server::ls_types::notification::Notification for CoverageChanged {
    type Params = serde_json::Value;
    const METHOD: &'static str = "testgen/coverageChanged";
}
