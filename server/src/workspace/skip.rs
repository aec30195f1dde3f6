//! Which directories are never part of a project: virtualenvs, caches, build
//! output, VCS metadata. Shared by the file walk and the Python-root search so
//! both agree on what "the project" is.
//!
//! Deliberately NOT here: anything matching on the word "test". The reference
//! pipeline skipped every path containing "test", which hid real modules such
//! as `attestation.py` or `contest/`; test files are classified by name instead
//! (see [`super::is_test_file`]).

use std::path::Path;

/// Directory names skipped wherever they appear.
const SKIPPED_DIR_NAMES: &[&str] = &[
    "__pycache__",
    "site-packages",
    "node_modules",
    ".git",
    ".hg",
    ".svn",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".testgen",
    ".eggs",
    "build",
    "dist",
];

/// Whether a directory with this name is skipped regardless of its content.
pub(crate) fn is_skipped_dir_name(name: &str) -> bool {
    SKIPPED_DIR_NAMES.contains(&name) || name.ends_with(".egg-info")
}

/// A virtualenv is recognised by its `pyvenv.cfg`, whatever it is called
/// (`venv`, `.venv`, `env`, `.venv-test`, `py311`, ...).
pub(crate) fn is_virtualenv(dir: &Path) -> bool {
    dir.join("pyvenv.cfg").is_file()
}

/// Whether the walk must not descend into `dir` (whose file name is `name`).
pub(crate) fn is_skipped_dir(dir: &Path, name: &str) -> bool {
    is_skipped_dir_name(name) || is_virtualenv(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_are_skipped() {
        for n in [
            "__pycache__",
            "site-packages",
            "node_modules",
            ".git",
            ".tox",
            ".nox",
            ".mypy_cache",
            ".pytest_cache",
            ".testgen",
            "build",
            "dist",
            "mypkg.egg-info",
            ".eggs",
        ] {
            assert!(is_skipped_dir_name(n), "{n} should be skipped");
        }
    }

    #[test]
    fn names_mentioning_test_are_not_skipped() {
        for n in [
            "tests",
            "test",
            "contest",
            "attestation",
            "testing",
            "src",
            "app",
        ] {
            assert!(!is_skipped_dir_name(n), "{n} must not be skipped");
        }
    }

    #[test]
    fn virtualenv_recognised_by_pyvenv_cfg() {
        let dir = std::env::temp_dir().join(format!("tg-skip-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("myenv")).unwrap();
        assert!(!is_virtualenv(&dir.join("myenv")));
        std::fs::write(dir.join("myenv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
        assert!(is_virtualenv(&dir.join("myenv")));
        assert!(is_skipped_dir(&dir.join("myenv"), "myenv"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
