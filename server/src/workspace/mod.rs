//! Project discovery: the Python root, which files belong to the project,
//! where the existing tests live.
//!
//! - [`python_root`]: the reference's `detect_python_root()`.
//! - [`walk`]: every `*.py` file under the workspace root (the whole root, so
//!   tests outside the Python root are found), gitignore-aware, skipping
//!   virtualenvs, caches and build output ([`skip`]).
//! - [`TestsInfo`]: the reference's manual_test_result.json.

pub mod artifacts;
pub mod lock;
mod python_root;
pub(crate) mod skip;
#[cfg(test)]
pub(crate) mod test_support;
mod walk;

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
    /// At least one test module (`test_*.py` / `*_test.py`) exists; a lone
    /// conftest.py holds fixtures, not tests.
    pub found: bool,
    /// Common directory of all test files, relative to the root (`""` is the
    /// root itself). None when there are no test files.
    pub root: Option<RelPath>,
    pub files: Vec<RelPath>,
}

impl TestsInfo {
    /// Builds the test summary from the project's files (relative, any order).
    pub fn from_files<'a>(files: impl IntoIterator<Item = &'a RelPath>) -> TestsInfo {
        let mut tests: Vec<RelPath> = files
            .into_iter()
            .filter(|f| is_test_file(f))
            .cloned()
            .collect();
        tests.sort();
        tests.dedup();
        TestsInfo {
            found: tests.iter().any(|f| f.file_name() != "conftest.py"),
            root: common_dir(&tests),
            files: tests,
        }
    }
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
    let _span = tracing::info_span!("discover", root = %root.display()).entered();
    let root = canonical_dir(root)?;
    let python_root = python_root::detect(&root);
    let files = walk::python_files(&root);
    let rel: Vec<RelPath> = files
        .iter()
        .filter_map(|f| RelPath::from_abs(&root, f))
        .collect();
    let tests = TestsInfo::from_files(&rel);
    tracing::debug!(
        python_root = %python_root.display(),
        files = files.len(),
        tests = tests.files.len(),
        "project discovered"
    );
    Ok(Project {
        root,
        python_root,
        files,
        tests,
    })
}

fn canonical_dir(root: &Path) -> Result<PathBuf, WorkspaceError> {
    let canonical = root.canonicalize().map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => WorkspaceError::NotFound(root.to_path_buf()),
        _ => WorkspaceError::Io {
            path: root.to_path_buf(),
            source,
        },
    })?;
    if !canonical.is_dir() {
        return Err(WorkspaceError::NotADirectory(root.to_path_buf()));
    }
    Ok(canonical)
}

/// The Python root of the project at `root` (which need not be canonical),
/// without walking its files.
pub fn python_root_of(root: &Path) -> PathBuf {
    let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    python_root::detect(&root)
}

/// Whether a file is a test file by pytest's default naming: test_*.py, *_test.py, conftest.py.
pub fn is_test_file(path: &RelPath) -> bool {
    skip::is_test_file_name(path.file_name())
}

/// The deepest directory containing every file (`""` when that is the root).
fn common_dir(files: &[RelPath]) -> Option<RelPath> {
    let mut iter = files.iter().map(|f| parent_components(f.as_str()));
    let mut common = iter.next()?;
    for dirs in iter {
        let shared = common.iter().zip(&dirs).take_while(|(a, b)| a == b).count();
        common.truncate(shared);
    }
    Some(RelPath::new(common.join("/")))
}

fn parent_components(path: &str) -> Vec<&str> {
    let mut parts: Vec<&str> = path.split('/').collect();
    parts.pop();
    parts
}

#[cfg(test)]
mod tests {
    use super::test_support::TempTree;
    use super::*;

    fn rels(v: &[&str]) -> Vec<RelPath> {
        v.iter().map(RelPath::new).collect()
    }

    #[test]
    fn test_file_names() {
        for yes in [
            "test_x.py",
            "a/b/test_models.py",
            "x_test.py",
            "conftest.py",
            "t/conftest.py",
        ] {
            assert!(is_test_file(&RelPath::new(yes)), "{yes}");
        }
        for no in [
            "testing.py",
            "tests/helpers.py",
            "contest.py",
            "test_x.txt",
            "tests.py",
            "attest.py",
        ] {
            assert!(!is_test_file(&RelPath::new(no)), "{no}");
        }
    }

    #[test]
    fn common_dir_of_tests() {
        assert_eq!(
            common_dir(&rels(&["tests/test_a.py", "tests/unit/test_b.py"])),
            Some(RelPath::new("tests"))
        );
        assert_eq!(
            common_dir(&rels(&["tests/unit/test_b.py"])),
            Some(RelPath::new("tests/unit"))
        );
        assert_eq!(
            common_dir(&rels(&["a/test_x.py", "b/test_y.py"])),
            Some(RelPath::new(""))
        );
        assert_eq!(
            common_dir(&rels(&["conftest.py", "tests/test_y.py"])),
            Some(RelPath::new(""))
        );
        // Component-wise, not character-wise: "tests" and "tests2" share nothing.
        assert_eq!(
            common_dir(&rels(&["tests/test_a.py", "tests2/test_b.py"])),
            Some(RelPath::new(""))
        );
        assert_eq!(common_dir(&[]), None);
    }

    #[test]
    fn tests_info_from_files() {
        let files = rels(&[
            "app/models.py",
            "tests/unit/test_m.py",
            "tests/conftest.py",
            "tests/helpers.py",
        ]);
        let t = TestsInfo::from_files(&files);
        assert!(t.found);
        assert_eq!(t.root, Some(RelPath::new("tests")));
        assert_eq!(
            t.files,
            rels(&["tests/conftest.py", "tests/unit/test_m.py"])
        );
    }

    #[test]
    fn lone_conftest_is_not_a_test_suite() {
        let t = TestsInfo::from_files(&rels(&["app.py", "conftest.py"]));
        assert!(!t.found);
        assert_eq!(t.files, rels(&["conftest.py"]));
    }

    #[test]
    fn no_tests() {
        let t = TestsInfo::from_files(&rels(&["app.py"]));
        assert_eq!(t, TestsInfo::default());
    }

    #[test]
    fn discover_missing_path_is_not_found() {
        let err = discover(Path::new("/definitely/not/here/xyz")).unwrap_err();
        assert!(matches!(err, WorkspaceError::NotFound(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "/definitely/not/here/xyz: no such directory"
        );
    }

    #[test]
    fn discover_file_is_not_a_directory() {
        let t = TempTree::new(&[("a.py", "")]);
        let err = discover(&t.path().join("a.py")).unwrap_err();
        assert!(matches!(err, WorkspaceError::NotADirectory(_)), "{err:?}");
        assert!(err.to_string().ends_with("a.py: not a directory"));
    }

    #[test]
    fn discover_fullstack_repo() {
        let t = TempTree::new(&[
            ("frontend/package.json", "{}"),
            ("frontend/node_modules/x/setup.py", ""),
            ("backend/requirements.txt", "flask\n"),
            ("backend/app/__init__.py", ""),
            ("backend/app/attestation.py", ""),
            ("backend/.venv/pyvenv.cfg", ""),
            ("backend/.venv/lib/site.py", ""),
            ("backend/venv/pyvenv.cfg", ""),
            ("backend/venv/lib/site.py", ""),
            ("tests/conftest.py", ""),
            ("tests/api/test_app.py", ""),
        ]);
        // Discover through a non-canonical path: the result is canonical.
        let p = discover(&t.path().join("frontend/..")).unwrap();
        assert_eq!(p.root, t.path());
        assert_eq!(p.python_root, t.path().join("backend"));
        let rel: Vec<String> = p
            .files
            .iter()
            .map(|f| RelPath::from_abs(&p.root, f).unwrap().to_string())
            .collect();
        assert_eq!(
            rel,
            [
                "backend/app/__init__.py",
                "backend/app/attestation.py",
                "tests/api/test_app.py",
                "tests/conftest.py"
            ]
        );
        assert!(p.tests.found);
        assert_eq!(p.tests.root, Some(RelPath::new("tests")));
        assert_eq!(
            p.tests.files,
            rels(&["tests/api/test_app.py", "tests/conftest.py"])
        );
    }
}
