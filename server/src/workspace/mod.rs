//! Project discovery: the Python root, which files belong to the project,
//! where the existing tests live.
//!
//! INTERFACE STUB (owned by the workspace work): the signatures are fixed,
//! the bodies are placeholders to be replaced.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::index::model::RelPath;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("{}: no such directory", .0.display())]
    NotFound(PathBuf),
    #[error("{}: not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The existing tests of a project (the reference's manual_test_result.json).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct TestsInfo {
    pub found: bool,
    /// Common directory of all test files, relative to the root.
    pub root: Option<RelPath>,
    pub files: Vec<RelPath>,
}

#[derive(Debug, Clone)]
pub struct Project {
    /// Absolute, canonical workspace root.
    pub root: PathBuf,
    /// Absolute Python root (the root itself, or e.g. `backend/` of a fullstack repo).
    pub python_root: PathBuf,
    /// Every Python file of the project, absolute, sorted.
    pub files: Vec<PathBuf>,
    pub tests: TestsInfo,
}

/// Discovers the project at `root`: Python root, files (gitignore-aware), tests.
pub fn discover(root: &Path) -> Result<Project, WorkspaceError> {
    let root = root
        .canonicalize()
        .map_err(|_| WorkspaceError::NotFound(root.to_path_buf()))?;
    if !root.is_dir() {
        return Err(WorkspaceError::NotADirectory(root));
    }
    let mut files: Vec<PathBuf> = ignore::WalkBuilder::new(&root)
        .build()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "py"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    Ok(Project {
        python_root: root.clone(),
        root,
        files,
        tests: TestsInfo::default(),
    })
}

/// Whether a file is a test file by pytest's default naming: test_*.py, *_test.py, conftest.py.
pub fn is_test_file(path: &RelPath) -> bool {
    let name = path.file_name();
    name == "conftest.py"
        || (name.starts_with("test_") && name.ends_with(".py"))
        || name.ends_with("_test.py")
}
