//! The incremental in-memory index: one [`FileIndex`] per path in a DashMap,
//! so one file can be re-indexed from new text without touching the others.
//!
//! INTERFACE STUB (owned by the index work): signatures fixed, bodies to be written.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use dashmap::DashMap;

use super::model::{FileIndex, RelPath};
use crate::workspace::Project;

/// Indexes one file's bytes. Never fails: syntax errors become `parse_errors`,
/// non-UTF-8 bytes are decoded lossily (`lossy = true`).
pub fn index_source(_path: &RelPath, _bytes: &[u8]) -> FileIndex {
    FileIndex::default()
}

pub struct Index {
    root: PathBuf,
    files: DashMap<RelPath, Arc<FileIndex>>,
}

impl Index {
    /// Indexes every file of the project, in parallel.
    pub fn build(project: &Project) -> Index {
        Index {
            root: project.root.clone(),
            files: DashMap::new(),
        }
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
}
