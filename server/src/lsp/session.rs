//! The server's state: open documents, workspace folders, settings, client
//! capabilities. Handlers in `server.rs` translate protocol messages into
//! calls on the session; the session never blocks the message loop (heavy
//! work goes to `spawn_blocking`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use dashmap::DashMap;
use tower_lsp_server::ls_types::{Diagnostic, MessageType, Uri};
use tower_lsp_server::Client;

use crate::index::model::RelPath;
use crate::workspace;

use super::document::{Document, Encoding};
use super::line_map::LineMap;
use super::render::{self, View};
use super::settings::{Layer, Settings};
use super::state::WorkspaceState;

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
    /// initializationOptions, workspace/configuration.
    pub layers: Mutex<(Layer, Layer)>,
    pub settings: RwLock<Arc<Settings>>,
    /// URIs that currently have diagnostics, to clear the ones that no longer do.
    published: Mutex<HashSet<String>>,
    /// Becomes true once the workspace folders are indexed and loaded.
    ready: tokio::sync::watch::Sender<bool>,
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
            layers: Mutex::new((Layer::default(), Layer::default())),
            settings: RwLock::new(Arc::new(Settings::default())),
            published: Mutex::new(HashSet::new()),
            ready: tokio::sync::watch::Sender::new(false),
        }
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

    pub fn settings(&self) -> Arc<Settings> {
        self.settings.read().map(|s| s.clone()).unwrap_or_default()
    }

    pub fn workspaces(&self) -> Vec<Arc<WorkspaceState>> {
        self.workspaces
            .read()
            .map(|w| w.clone())
            .unwrap_or_default()
    }

    /// Recomputes the settings from the layers and the first folder's
    /// pyproject.toml. An invalid layer keeps the previous settings and
    /// returns the problem for the user.
    pub fn recompute_settings(&self) -> Result<(), String> {
        let (init, config) = self.layers.lock().map(|l| l.clone()).unwrap_or_default();
        let root = self.folders.read().ok().and_then(|f| f.first().cloned());
        let py = match root {
            Some(r) => Layer::from_pyproject(&r)?,
            None => Layer::default(),
        };
        let s = Settings::from_layers(&[&init, &config, &py])?;
        if let Ok(mut cur) = self.settings.write() {
            *cur = Arc::new(s);
        }
        Ok(())
    }

    /// The workspace and relative path of a `file://` URI inside a folder.
    pub fn locate(&self, uri: &Uri) -> Option<Located> {
        let path = uri.to_file_path()?.into_owned();
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
        let cov_map = cov.map(|c| LineMap::between(&c.anchor, doc.text()));
        let res_map = res.map(|r| LineMap::between(&r.anchor, doc.text()));
        let view = View {
            doc: &doc,
            encoding: self.encoding(),
            coverage: cov.map(|c| c.as_ref()).zip(cov_map.as_ref()),
            results: res.map(|r| r.as_ref()).zip(res_map.as_ref()),
        };
        Some(f(&view, &loc))
    }

    pub fn diagnostics_for(&self, uri: &Uri) -> Vec<Diagnostic> {
        let settings = self.settings();
        self.with_view(uri, |view, loc| {
            render::diagnostics(view, uri, &settings, workspace::is_test_file(&loc.rel))
        })
        .unwrap_or_default()
    }

    /// Publishes the diagnostics of one URI (with the document's version).
    pub async fn publish(&self, uri: &Uri) {
        self.wait_ready().await;
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
