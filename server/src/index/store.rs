//! The incremental in-memory index: one [`FileIndex`] per path in a DashMap,
//! so one file can be re-indexed from new text without touching the others.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashmap::DashMap;
use rayon::prelude::*;

use super::extract::index_text;
use super::model::{FileIndex, Framework, ParseErrorInfo, RelPath};
use crate::workspace::Project;

/// Indexes one file's bytes. Never fails: syntax errors become `parse_errors`,
/// non-UTF-8 bytes are decoded lossily (`lossy = true`).
pub fn index_source(path: &RelPath, bytes: &[u8]) -> FileIndex {
    super::stack::with_stack_for(bytes.len(), || index_bytes(path, bytes))
        .unwrap_or_else(|| unparsed(path, bytes.len()))
}

/// A file that cannot be parsed safely (too large): one parse error.
fn unparsed(path: &RelPath, len: usize) -> FileIndex {
    tracing::warn!(%path, len, "not parsed: too large");
    FileIndex {
        parse_errors: vec![ParseErrorInfo {
            path: path.clone(),
            line: 1,
            column: 1,
            message: format!(
                "not indexed: {:.1} MB of source (the limit is {} MB)",
                len as f64 / (1 << 20) as f64,
                super::stack::MAX_PARSE_BYTES >> 20
            ),
        }],
        ..FileIndex::default()
    }
}

fn index_bytes(path: &RelPath, bytes: &[u8]) -> FileIndex {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) => index_text(path, text),
        Err(err) => {
            tracing::info!(%path, "not valid UTF-8 ({err}); decoded lossily");
            let text = String::from_utf8_lossy(bytes);
            let mut index = index_text(path, &text);
            index.lossy = true;
            index
        }
    }
}

pub struct Index {
    root: PathBuf,
    files: DashMap<RelPath, Arc<FileIndex>>,
}

impl Index {
    /// An empty index of the project at `root`.
    pub fn new(root: PathBuf) -> Index {
        Index {
            root,
            files: DashMap::new(),
        }
    }

    /// Indexes every file of the project, in parallel.
    pub fn build(project: &Project) -> Index {
        Index::build_counting(project, None)
    }

    /// `build`, counting the files done in `done` (for progress).
    pub fn build_counting(
        project: &Project,
        done: Option<&std::sync::atomic::AtomicUsize>,
    ) -> Index {
        let _span = tracing::info_span!("index_build", files = project.files.len()).entered();
        let index = Index::new(project.root.clone());
        project.files.par_iter().for_each(|abs| {
            let Some(rel) = RelPath::from_abs(&project.root, abs) else {
                return;
            };
            let file = match std::fs::read(abs) {
                Ok(bytes) => index_source(&rel, &bytes),
                Err(err) => unreadable(&rel, &err),
            };
            index.files.insert(rel, Arc::new(file));
            if let Some(d) = done {
                d.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
        });
        index
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Re-indexes one file from new text (an editor buffer, a file changed on disk).
    pub fn reindex_file(&self, path: &RelPath, bytes: &[u8]) -> Arc<FileIndex> {
        let fi = Arc::new(index_source(path, bytes));
        self.files.insert(path.clone(), fi.clone());
        fi
    }

    pub fn remove_file(&self, path: &RelPath) {
        self.files.remove(path);
    }

    pub fn file(&self, path: &RelPath) -> Option<Arc<FileIndex>> {
        self.files.get(path).map(|e| e.value().clone())
    }

    /// All indexed paths, sorted.
    pub fn paths(&self) -> Vec<RelPath> {
        let mut v: Vec<_> = self.files.iter().map(|e| e.key().clone()).collect();
        v.sort();
        v
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// A consistent, sorted copy of (path, file) pairs: cheap (Arc clones),
    /// and later edits do not change it.
    pub fn snapshot(&self) -> Vec<(RelPath, Arc<FileIndex>)> {
        let mut v: Vec<_> = self
            .files
            .iter()
            .map(|e| (e.key().clone(), e.value().clone()))
            .collect();
        v.sort_by(|a, b| a.0.cmp(&b.0));
        v
    }

    /// The project's framework, from everything indexed now.
    pub fn framework(&self) -> Framework {
        let snap = self.snapshot();
        super::framework::detect(snap.iter().map(|(p, f)| (p, f.as_ref())))
    }
}

/// An unreadable file still appears, with the reason as its one error.
fn unreadable(path: &RelPath, err: &std::io::Error) -> FileIndex {
    tracing::warn!(%path, "cannot read: {err}");
    FileIndex {
        parse_errors: vec![ParseErrorInfo {
            path: path.clone(),
            line: 1,
            column: 1,
            message: format!("cannot read file: {err}"),
        }],
        ..FileIndex::default()
    }
}
