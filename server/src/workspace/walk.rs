//! The project's Python files: a parallel, gitignore-aware walk of the whole
//! workspace root.
//!
//! The whole root is walked, not only the Python root, so that tests kept
//! outside it (`backend/` code with a top-level `tests/`) and helper scripts
//! are indexed too; the Python root only decides where imports resolve from
//! and what coverage measures.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use super::skip::is_skipped_dir;

/// Every `*.py` file below `root` (absolute, sorted). `.pyi` stubs are left
/// out: they hold no code to test.
pub(crate) fn python_files(root: &Path) -> Vec<PathBuf> {
    let _span = tracing::info_span!("walk", root = %root.display()).entered();
    let found = Mutex::new(Vec::new());
    builder(root).build_parallel().run(|| {
        let found = &found;
        Box::new(move |entry| {
            match entry {
                Ok(e) if is_python_file(&e) => found
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(e.into_path()),
                Ok(_) => {}
                // An unreadable directory costs us its files, not the whole walk.
                Err(err) => tracing::warn!("skipping unreadable path: {err}"),
            }
            WalkState::Continue
        })
    });
    let mut files = found.into_inner().unwrap_or_else(|p| p.into_inner());
    files.sort();
    files
}

fn builder(root: &Path) -> WalkBuilder {
    let mut b = WalkBuilder::new(root);
    b.hidden(true)
        // Honour .gitignore even in a plain directory (an unpacked sdist, a
        // fixture): users put venvs and generated code there for a reason.
        .require_git(false)
        .follow_links(false)
        .filter_entry(|e| {
            // Never filter the root itself, whatever it is called.
            if e.depth() == 0 || !e.file_type().is_some_and(|t| t.is_dir()) {
                return true;
            }
            !is_skipped_dir(e.path(), &e.file_name().to_string_lossy())
        });
    b
}

fn is_python_file(e: &ignore::DirEntry) -> bool {
    e.file_type().is_some_and(|t| t.is_file()) && e.path().extension().is_some_and(|x| x == "py")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::test_support::TempTree;

    fn rel(t: &TempTree, files: Vec<PathBuf>) -> Vec<String> {
        files
            .iter()
            .map(|f| {
                f.strip_prefix(t.path())
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect()
    }

    #[test]
    fn finds_py_files_sorted_and_ignores_others() {
        let t = TempTree::new(&[
            ("b.py", ""),
            ("a.py", ""),
            ("pkg/__init__.py", ""),
            ("pkg/mod.pyi", ""),
            ("README.md", ""),
            ("pkg/data.pyc", ""),
        ]);
        assert_eq!(
            rel(&t, python_files(t.path())),
            ["a.py", "b.py", "pkg/__init__.py"]
        );
    }

    #[test]
    fn paths_containing_test_are_kept() {
        let t = TempTree::new(&[
            ("app/attestation.py", ""),
            ("app/contest/scoring.py", ""),
            ("testing_utils/helpers.py", ""),
            ("tests/test_x.py", ""),
        ]);
        assert_eq!(
            rel(&t, python_files(t.path())),
            [
                "app/attestation.py",
                "app/contest/scoring.py",
                "testing_utils/helpers.py",
                "tests/test_x.py"
            ]
        );
    }

    #[test]
    fn virtualenv_with_any_name_is_skipped() {
        let t = TempTree::new(&[
            ("app.py", ""),
            ("myenv/pyvenv.cfg", "home = /usr/bin\n"),
            ("myenv/lib/python3.11/site-packages/flask/app.py", ""),
            ("myenv/bin/activate_this.py", ""),
        ]);
        assert_eq!(rel(&t, python_files(t.path())), ["app.py"]);
    }

    #[test]
    fn caches_build_output_and_vcs_are_skipped() {
        let t = TempTree::new(&[
            ("keep.py", ""),
            ("__pycache__/x.py", ""),
            ("lib/site-packages/y.py", ""),
            ("node_modules/pkg/z.py", ""),
            (".tox/py311/a.py", ""),
            (".nox/b.py", ""),
            (".mypy_cache/c.py", ""),
            (".pytest_cache/d.py", ""),
            (".testgen/generated/test_e.py", ""),
            ("build/lib/f.py", ""),
            ("dist/g.py", ""),
            ("mypkg.egg-info/h.py", ""),
            (".eggs/i.py", ""),
            (".git/hooks/j.py", ""),
        ]);
        assert_eq!(rel(&t, python_files(t.path())), ["keep.py"]);
    }

    #[test]
    fn gitignore_is_honoured_without_a_git_repository() {
        let t = TempTree::new(&[
            (".gitignore", "generated/\nsecret_*.py\n"),
            ("app.py", ""),
            ("generated/out.py", ""),
            ("secret_keys.py", ""),
            ("pkg/secret_thing.py", ""),
            ("pkg/ok.py", ""),
        ]);
        assert!(!t.path().join(".git").exists());
        assert_eq!(rel(&t, python_files(t.path())), ["app.py", "pkg/ok.py"]);
    }

    #[test]
    fn nested_gitignore_applies_below_it() {
        let t = TempTree::new(&[
            ("sub/.gitignore", "skip.py\n"),
            ("sub/skip.py", ""),
            ("skip.py", ""),
        ]);
        assert_eq!(rel(&t, python_files(t.path())), ["skip.py"]);
    }

    #[test]
    fn root_with_skipped_name_is_still_walked() {
        let t = TempTree::new(&[("build/x.py", "")]);
        let root = t.path().join("build");
        let files = python_files(&root);
        assert_eq!(files, [root.join("x.py")]);
    }
}
