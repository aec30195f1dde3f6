//! Python root detection, as the reference's `detect_python_root()`:
//! (a) the root itself when it holds a project marker; (b) else the first of
//! `backend/ server/ api/ app/ src/` holding Python files or a marker; (c) else
//! the first directory one or two levels down holding a marker (breadth-first,
//! sorted by name, so the answer never depends on directory listing order);
//! (d) else the root.

use std::path::{Path, PathBuf};

use super::skip::is_skipped_dir;

/// Files that mark the top of a Python project.
const MARKERS: &[&str] = &["requirements.txt", "setup.py", "pyproject.toml"];

/// Conventional backend directory names of fullstack repositories, in priority order.
const CANDIDATE_DIRS: &[&str] = &["backend", "server", "api", "app", "src"];

/// How far below a candidate directory to look for a `.py` file. `src/pkg/mod/x.py`
/// is the deepest common layout; a bound keeps this cheap on huge trees.
const PY_SEARCH_DEPTH: usize = 4;

/// The Python root of the project at `root` (absolute, canonical).
pub(crate) fn detect(root: &Path) -> PathBuf {
    if has_marker(root) {
        return root.to_path_buf();
    }
    for name in CANDIDATE_DIRS {
        let dir = root.join(name);
        if dir.is_dir() && (has_marker(&dir) || contains_python(&dir, PY_SEARCH_DEPTH)) {
            return dir;
        }
    }
    let level1 = searchable_subdirs(root);
    if let Some(dir) = level1.iter().find(|d| has_marker(d)) {
        return dir.clone();
    }
    for dir in &level1 {
        if let Some(found) = searchable_subdirs(dir).into_iter().find(|d| has_marker(d)) {
            return found;
        }
    }
    root.to_path_buf()
}

fn has_marker(dir: &Path) -> bool {
    MARKERS.iter().any(|m| dir.join(m).is_file())
}

/// Subdirectories the level search may enter, sorted by name. Besides the
/// walk's skip rules (hidden directories included), `frontend/` is left out,
/// as in the reference.
fn searchable_subdirs(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name != "frontend" && !is_skipped_dir(&e.path(), &name)
        })
        .map(|e| e.path())
        .collect();
    dirs.sort();
    dirs
}

/// Whether `dir` holds a `.py` file within `depth` levels.
fn contains_python(dir: &Path, depth: usize) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return false;
    };
    let mut subdirs = Vec::new();
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        match entry.file_type() {
            Ok(t) if t.is_file() && path.extension().is_some_and(|x| x == "py") => return true,
            Ok(t) if t.is_dir() => subdirs.push(path),
            _ => {}
        }
    }
    depth > 1
        && subdirs.iter().any(|d| {
            let name = d
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            !is_skipped_dir(d, &name) && contains_python(d, depth - 1)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::test_support::TempTree;

    #[test]
    fn marker_at_root_wins() {
        let t = TempTree::new(&[("requirements.txt", ""), ("backend/requirements.txt", "")]);
        assert_eq!(detect(t.path()), t.path());
    }

    #[test]
    fn each_marker_counts_at_root() {
        for m in MARKERS {
            let t = TempTree::new(&[(m, ""), ("backend/app.py", "")]);
            assert_eq!(detect(t.path()), t.path(), "marker {m}");
        }
    }

    #[test]
    fn fullstack_frontend_backend_picks_backend() {
        let t = TempTree::new(&[
            ("frontend/package.json", "{}"),
            ("frontend/src/index.js", ""),
            ("frontend/scripts/tool.py", ""),
            ("backend/requirements.txt", "flask\n"),
            ("backend/app.py", ""),
        ]);
        assert_eq!(detect(t.path()), t.path().join("backend"));
    }

    #[test]
    fn candidate_order_is_backend_server_api_app_src() {
        let t = TempTree::new(&[("src/x.py", ""), ("api/y.py", ""), ("server/z.py", "")]);
        assert_eq!(detect(t.path()), t.path().join("server"));
    }

    #[test]
    fn candidate_with_nested_python_counts() {
        let t = TempTree::new(&[("src/pkg/sub/mod.py", "")]);
        assert_eq!(detect(t.path()), t.path().join("src"));
    }

    #[test]
    fn candidate_without_python_or_marker_is_passed_over() {
        let t = TempTree::new(&[
            ("app/page.tsx", ""),
            ("app/node_modules/x/y.py", ""),
            ("services/api/pyproject.toml", ""),
        ]);
        assert_eq!(detect(t.path()), t.path().join("services/api"));
    }

    #[test]
    fn level_one_marker_beats_level_two() {
        let t = TempTree::new(&[("aaa/deep/setup.py", ""), ("zzz/setup.py", "")]);
        assert_eq!(detect(t.path()), t.path().join("zzz"));
    }

    #[test]
    fn level_search_is_sorted() {
        let t = TempTree::new(&[("b_svc/pyproject.toml", ""), ("a_svc/pyproject.toml", "")]);
        assert_eq!(detect(t.path()), t.path().join("a_svc"));
    }

    #[test]
    fn level_search_skips_frontend_hidden_node_modules_and_venvs() {
        let t = TempTree::new(&[
            ("frontend/requirements.txt", ""),
            (".hidden/requirements.txt", ""),
            ("node_modules/requirements.txt", ""),
            ("venv/pyvenv.cfg", ""),
            ("venv/requirements.txt", ""),
        ]);
        assert_eq!(detect(t.path()), t.path());
    }

    #[test]
    fn three_levels_down_is_too_deep() {
        let t = TempTree::new(&[("a/b/c/setup.py", "")]);
        assert_eq!(detect(t.path()), t.path());
    }

    #[test]
    fn no_marker_anywhere_falls_back_to_root() {
        let t = TempTree::new(&[("lib/x.py", ""), ("README.md", "")]);
        assert_eq!(detect(t.path()), t.path());
    }
}
