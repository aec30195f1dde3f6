//! What is never part of a project, defined once: directories (virtualenvs,
//! caches, build output, VCS metadata, dot-directories), testgen's own output
//! directory, and which files are tests. Shared by the file walk, the
//! Python-root search and target selection, and handed to the explore
//! harness as [`ProjectRules`] (JSON), which applies the same rules in the
//! project's interpreter and writes them into the generated conftest.
//!
//! Deliberately NOT here: anything matching on the word "test" in directory
//! names. The reference pipeline skipped every path containing "test", which
//! hid real modules such as `attestation.py` or `contest/`; test files are
//! classified by file name instead ([`TEST_FILE_NAMES`]).
//!
//! Name patterns are globs whose only wildcard is `*`, so that Python's
//! `fnmatch.fnmatchcase` reads them exactly as [`glob_match`] does.

use std::path::Path;

use serde::Serialize;

/// Directory names (patterns) skipped wherever they appear.
const SKIPPED_DIR_NAMES: &[&str] = &[
    "__pycache__",
    "site-packages",
    "dist-packages",
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
    "*.egg-info",
];

/// Dot-directories (`.venv`, `.idea`, caches) are never the project.
const SKIP_HIDDEN_DIRS: bool = true;

/// A directory holding this file is a virtualenv, whatever it is called.
const VIRTUALENV_MARKER: &str = "pyvenv.cfg";

/// testgen's output directory, at any depth (`tests/generated/` below the
/// Python root): never a target, never learned from.
const GENERATED_DIR: &[&str] = &["tests", "generated"];

/// File names (patterns) of test files.
pub(crate) const TEST_FILE_NAMES: &[&str] = &["conftest.py", "test_*.py", "*_test.py"];

/// The rules as the explore harness receives them (`--rules`, JSON); field
/// by field in docs/explore-protocol.md.
#[derive(Debug, Clone, Serialize)]
pub struct ProjectRules {
    pub skipped_dir_names: &'static [&'static str],
    pub skip_hidden_dirs: bool,
    pub virtualenv_marker: &'static str,
    pub generated_dir: &'static [&'static str],
    pub test_file_names: &'static [&'static str],
}

/// The one definition of what is not the project.
pub fn project_rules() -> ProjectRules {
    ProjectRules {
        skipped_dir_names: SKIPPED_DIR_NAMES,
        skip_hidden_dirs: SKIP_HIDDEN_DIRS,
        virtualenv_marker: VIRTUALENV_MARKER,
        generated_dir: GENERATED_DIR,
        test_file_names: TEST_FILE_NAMES,
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of
/// characters (possibly empty) and every other character for itself.
pub(crate) fn glob_match(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let middle: Vec<&str> = parts.collect();
    let Some((last, middle)) = middle.split_last() else {
        return rest.is_empty(); // no `*`: the whole name
    };
    for part in middle {
        match rest.find(part) {
            Some(i) => rest = &rest[i + part.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// Whether a directory with this name is skipped regardless of its content
/// (dot-directories aside: see [`is_hidden_dir_name`]).
pub(crate) fn is_skipped_dir_name(name: &str) -> bool {
    SKIPPED_DIR_NAMES.iter().any(|p| glob_match(p, name))
}

/// Whether a directory with this name is a dot-directory the rules skip.
pub(crate) fn is_hidden_dir_name(name: &str) -> bool {
    SKIP_HIDDEN_DIRS && name.starts_with('.')
}

/// A virtualenv is recognised by its `pyvenv.cfg`, whatever it is called
/// (`venv`, `.venv`, `env`, `.venv-test`, `py311`, ...).
pub(crate) fn is_virtualenv(dir: &Path) -> bool {
    dir.join(VIRTUALENV_MARKER).is_file()
}

/// Whether the walk must not descend into `dir` (whose file name is `name`).
pub(crate) fn is_skipped_dir(dir: &Path, name: &str) -> bool {
    is_skipped_dir_name(name) || is_hidden_dir_name(name) || is_virtualenv(dir)
}

/// Whether a file name is a test file's.
pub(crate) fn is_test_file_name(name: &str) -> bool {
    TEST_FILE_NAMES.iter().any(|p| glob_match(p, name))
}

/// Whether a `/`-separated path relative to the workspace lies in testgen's
/// output directory.
pub fn is_generated_path(rel: &str) -> bool {
    let dirs: Vec<&str> = rel.split('/').collect();
    let dirs = &dirs[..dirs.len().saturating_sub(1)];
    dirs.windows(GENERATED_DIR.len())
        .any(|w| w == GENERATED_DIR)
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
            "dist-packages",
        ] {
            assert!(is_skipped_dir_name(n), "{n} should be skipped");
        }
        for n in [".venv", ".idea", ".cache"] {
            assert!(is_hidden_dir_name(n), "{n} should be skipped");
            assert!(is_skipped_dir(
                Path::new("/nonexistent").join(n).as_path(),
                n
            ));
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

    #[test]
    fn glob_patterns() {
        assert!(glob_match("conftest.py", "conftest.py"));
        assert!(!glob_match("conftest.py", "conftest.pyc"));
        assert!(glob_match("test_*.py", "test_a.py"));
        assert!(glob_match("test_*.py", "test_.py"));
        assert!(!glob_match("test_*.py", "test_a.pyi"));
        assert!(!glob_match("test_*.py", "atest_a.py"));
        assert!(glob_match("*_test.py", "a_test.py"));
        assert!(!glob_match("*_test.py", "_test.pyx"));
        assert!(glob_match("*.egg-info", "mypkg.egg-info"));
        assert!(glob_match("a*b*c", "abc"));
        assert!(glob_match("a*b*c", "axxbyyc"));
        assert!(!glob_match("a*b*c", "acb"));
        assert!(!glob_match("ab*ba", "aba"));
    }

    /// Python's fnmatch also knows `?` and `[...]`: the patterns must not use
    /// them, or the harness would read them differently.
    #[test]
    fn patterns_use_only_the_star() {
        for p in SKIPPED_DIR_NAMES.iter().chain(TEST_FILE_NAMES) {
            assert!(!p.contains(['?', '[', ']']), "{p}");
        }
    }

    #[test]
    fn test_files_and_generated_paths() {
        for n in ["conftest.py", "test_x.py", "x_test.py"] {
            assert!(is_test_file_name(n), "{n}");
        }
        for n in ["attestation.py", "contest.py", "testing.py", "test_x.txt"] {
            assert!(!is_test_file_name(n), "{n}");
        }
        assert!(is_generated_path("tests/generated/test_a.py"));
        assert!(is_generated_path("backend/tests/generated/x.py"));
        assert!(!is_generated_path("tests/test_a.py"));
        assert!(!is_generated_path("tests/generated"));
        assert!(!is_generated_path("mytests/generated/x.py"));
    }

    #[test]
    fn rules_serialize_for_the_harness() {
        let v = serde_json::to_value(project_rules()).unwrap();
        assert_eq!(v["virtualenv_marker"], "pyvenv.cfg");
        assert_eq!(
            v["generated_dir"],
            serde_json::json!(["tests", "generated"])
        );
        assert_eq!(v["skip_hidden_dirs"], true);
        assert!(v["skipped_dir_names"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("*.egg-info")));
    }
}
