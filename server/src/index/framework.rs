//! Framework detection (Django, FastAPI, Flask, plain Python) from the index,
//! with the reference pipeline's conflict resolution. Deterministic.
//!
//! INTERFACE STUB (owned by the workspace/web work): signature fixed, body to be written.

use super::model::{FileIndex, Framework, RelPath};

/// Detects the project's framework from its files (path + index of each).
pub fn detect<'a>(_files: impl IntoIterator<Item = (&'a RelPath, &'a FileIndex)>) -> Framework {
    Framework::Python
}
