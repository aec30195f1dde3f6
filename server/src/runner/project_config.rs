//! What the project's own pytest and coverage.py configuration already says,
//! so that testgen adds its options without overriding the project's:
//! pytest's `addopts` (pytest.ini, pyproject.toml, tox.ini, setup.cfg, in
//! pytest's own order) and coverage.py's `[run] source` / `branch`
//! (.coveragerc, setup.cfg, tox.ini, pyproject.toml).

use std::path::Path;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectConfig {
    /// pytest's addopts, split into arguments.
    pub addopts: Vec<String>,
    /// coverage.py's `[run] source` is set: a bare `--cov` then measures it.
    pub coverage_source: bool,
    /// The file and section coverage.py's `[run]` settings come from, in
    /// words ("pyproject.toml ([tool.coverage.run])"), when any.
    pub coverage_file: Option<String>,
    /// coverage.py's `[run] branch` is set (either way): leave it alone.
    pub coverage_branch: bool,
    /// pytest's `pythonpath` entries (relative to `dir` as written).
    pub pythonpath: Vec<String>,
    /// pytest's `testpaths` (relative to `dir` as written).
    pub testpaths: Vec<String>,
    /// pytest's `filterwarnings`, one filter per entry.
    pub filterwarnings: Vec<String>,
    /// The file pytest reads its configuration from, with its section, in
    /// words ("pyproject.toml ([tool.pytest.ini_options])"), when any.
    pub pytest_file: Option<String>,
}

impl ProjectConfig {
    /// Reads the configuration files in `dir` (where pytest runs). Unreadable
    /// or malformed files count as absent: pytest will report them itself.
    pub fn read(dir: &Path) -> ProjectConfig {
        let one = |s: &str| vec![s.to_string()];
        let mut c = ProjectConfig {
            addopts: pytest_addopts(dir),
            pythonpath: pytest_pythonpath(dir),
            testpaths: pytest_option(dir, "testpaths", one),
            // In an ini file one filter per line; joined lines split again.
            filterwarnings: pytest_option(dir, "filterwarnings", one),
            pytest_file: pytest_file(dir),
            ..Default::default()
        };
        coverage_run(dir, &mut c);
        c
    }

    /// Whether `testpaths` names directories of which none exists in `dir`
    /// (a project whose tests are yet to be written): pytest then searches
    /// from `dir` and warns, at configuration time, with a
    /// `PytestConfigWarning` that `filterwarnings = error` turns into a crash.
    pub fn testpaths_all_missing(&self, dir: &Path) -> bool {
        !self.testpaths.is_empty()
            && self
                .testpaths
                .iter()
                .all(|p| !p.contains(['*', '?', '[']) && !dir.join(p).exists())
    }

    /// Whether addopts already gives option `name` (`--x` or `--x=...`).
    pub fn has_option(&self, name: &str) -> bool {
        self.addopts
            .iter()
            .any(|a| a == name || a.starts_with(&format!("{name}=")))
    }
}

fn pytest_addopts(dir: &Path) -> Vec<String> {
    // An array item of addopts may hold several options.
    pytest_option(dir, "addopts", split)
}

fn pytest_pythonpath(dir: &Path) -> Vec<String> {
    // An array item of pythonpath is one path, spaces and all.
    pytest_option(dir, "pythonpath", |s| vec![s.to_string()])
}

/// A pytest ini option, split like a shell, from the one file pytest reads
/// its configuration from: pytest.ini wins even without a [pytest]
/// section; pyproject.toml, tox.ini and setup.cfg only count when they hold
/// pytest's section. `item` turns one pyproject.toml array item into values.
fn pytest_option(dir: &Path, key: &str, item: fn(&str) -> Vec<String>) -> Vec<String> {
    if let Some(ini) = read(dir, "pytest.ini") {
        return ini_value(&ini, &["pytest", "tool:pytest"], key)
            .map(|v| split(&v))
            .unwrap_or_default();
    }
    if let Some(text) = read(dir, "pyproject.toml") {
        if let Ok(doc) = text.parse::<toml::Table>() {
            if let Some(opts) = doc
                .get("tool")
                .and_then(|t| t.get("pytest"))
                .and_then(|t| t.get("ini_options"))
            {
                return match opts.get(key) {
                    Some(toml::Value::String(s)) => split(s),
                    Some(toml::Value::Array(a)) => {
                        a.iter().filter_map(|v| v.as_str()).flat_map(item).collect()
                    }
                    _ => Vec::new(),
                };
            }
        }
    }
    for (file, section) in [("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")] {
        if let Some(ini) = read(dir, file) {
            if has_section(&ini, section) {
                return ini_value(&ini, &[section], key)
                    .map(|v| split(&v))
                    .unwrap_or_default();
            }
        }
    }
    Vec::new()
}

/// Which file holds pytest's configuration, by the same rules as
/// [`pytest_option`].
fn pytest_file(dir: &Path) -> Option<String> {
    if read(dir, "pytest.ini").is_some() {
        return Some("pytest.ini".into());
    }
    if let Some(text) = read(dir, "pyproject.toml") {
        let has = text.parse::<toml::Table>().ok().is_some_and(|doc| {
            doc.get("tool")
                .and_then(|t| t.get("pytest"))
                .and_then(|t| t.get("ini_options"))
                .is_some()
        });
        if has {
            return Some("pyproject.toml ([tool.pytest.ini_options])".into());
        }
    }
    for (file, section) in [("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")] {
        if read(dir, file).is_some_and(|ini| has_section(&ini, section)) {
            return Some(format!("{file} ([{section}])"));
        }
    }
    None
}

fn coverage_run(dir: &Path, c: &mut ProjectConfig) {
    let ini_files = [
        (".coveragerc", "run"),
        ("setup.cfg", "coverage:run"),
        ("tox.ini", "coverage:run"),
    ];
    for (file, section) in ini_files {
        if let Some(ini) = read(dir, file) {
            if has_section(&ini, section) {
                c.coverage_source = ini_value(&ini, &[section], "source").is_some();
                c.coverage_branch = ini_value(&ini, &[section], "branch").is_some();
                c.coverage_file = Some(format!("{file} ([{section}])"));
                return;
            }
        }
    }
    if let Some(text) = read(dir, "pyproject.toml") {
        if let Ok(doc) = text.parse::<toml::Table>() {
            if let Some(run) = doc
                .get("tool")
                .and_then(|t| t.get("coverage"))
                .and_then(|t| t.get("run"))
            {
                c.coverage_source = run.get("source").is_some();
                c.coverage_branch = run.get("branch").is_some();
                c.coverage_file = Some("pyproject.toml ([tool.coverage.run])".into());
            }
        }
    }
}

fn read(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

fn has_section(ini: &str, section: &str) -> bool {
    ini.lines()
        .any(|l| l.trim().strip_prefix('[').and_then(|l| l.strip_suffix(']')) == Some(section))
}

/// The value of `key` in the first of `sections`, with INI continuation lines
/// (indented lines following the key) joined by spaces.
fn ini_value(ini: &str, sections: &[&str], key: &str) -> Option<String> {
    let mut in_section = false;
    let mut value: Option<String> = None;
    for line in ini.lines() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            if value.is_some() {
                break;
            }
            in_section = sections.contains(&name);
            continue;
        }
        if !in_section || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        let continuation = line.starts_with([' ', '\t']);
        match (&mut value, continuation) {
            (Some(v), true) if !trimmed.is_empty() => {
                v.push(' ');
                v.push_str(trimmed);
            }
            (Some(_), false) if !trimmed.is_empty() => break,
            (None, false) => {
                if let Some((k, v)) = trimmed.split_once(['=', ':']) {
                    if k.trim() == key {
                        value = Some(v.trim().to_string());
                    }
                }
            }
            _ => {}
        }
    }
    value
}

/// Splits like a shell (quotes group, no expansion), as pytest does with shlex.
fn split(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for ch in s.chars() {
        match (quote, ch) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(ch);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::test_support::TempTree;

    #[test]
    fn pytest_ini_addopts_with_continuation() {
        let t = TempTree::new(&[(
            "pytest.ini",
            "[pytest]\naddopts = -q\n    --import-mode=prepend\n  '--cov=my pkg'\ntestpaths = tests\n",
        )]);
        let c = ProjectConfig::read(t.path());
        assert_eq!(c.addopts, ["-q", "--import-mode=prepend", "--cov=my pkg"]);
        assert!(c.has_option("--import-mode"));
        assert!(c.has_option("--cov"));
        assert!(!c.has_option("--cov-branch"));
    }

    #[test]
    fn testpaths_none_of_which_exists_yet() {
        // Flask's tutorial app without its tests: pyproject names `tests`.
        let toml =
            "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\nfilterwarnings = [\"error\"]\n";
        let t = TempTree::new(&[("pyproject.toml", toml)]);
        let c = ProjectConfig::read(t.path());
        assert_eq!(c.testpaths, ["tests"]);
        assert!(c.testpaths_all_missing(t.path()));
        std::fs::create_dir(t.path().join("tests")).unwrap();
        assert!(!c.testpaths_all_missing(t.path()));
        // No testpaths, or a glob pytest expands itself: nothing to say.
        let t = TempTree::new(&[("pytest.ini", "[pytest]\ntestpaths = t*\n")]);
        assert!(!ProjectConfig::read(t.path()).testpaths_all_missing(t.path()));
        let t = TempTree::new(&[("pytest.ini", "[pytest]\n")]);
        assert!(!ProjectConfig::read(t.path()).testpaths_all_missing(t.path()));
    }

    #[test]
    fn pythonpath_from_pytest_ini_and_pyproject() {
        let t = TempTree::new(&[("pytest.ini", "[pytest]\npythonpath = . src\n")]);
        assert_eq!(ProjectConfig::read(t.path()).pythonpath, [".", "src"]);
        let t = TempTree::new(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\npythonpath = [\"lib\"]\n",
        )]);
        assert_eq!(ProjectConfig::read(t.path()).pythonpath, ["lib"]);
        let t = TempTree::new(&[("setup.cfg", "[metadata]\nname = x\n")]);
        assert!(ProjectConfig::read(t.path()).pythonpath.is_empty());
    }

    #[test]
    fn pyproject_string_or_list_and_coverage_run() {
        let t = TempTree::new(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\naddopts = [\"-ra\", \"--cov-branch\"]\n\
             [tool.coverage.run]\nsource = [\"pkg\"]\n",
        )]);
        let c = ProjectConfig::read(t.path());
        assert_eq!(c.addopts, ["-ra", "--cov-branch"]);
        assert!(c.coverage_source);
        assert!(!c.coverage_branch);
    }

    #[test]
    fn setup_cfg_and_coveragerc() {
        let t = TempTree::new(&[
            (
                "setup.cfg",
                "[metadata]\nname=x\n[tool:pytest]\naddopts=-x\n",
            ),
            (".coveragerc", "[run]\nbranch = True\n"),
        ]);
        let c = ProjectConfig::read(t.path());
        assert_eq!(c.addopts, ["-x"]);
        assert!(c.coverage_branch);
        assert!(!c.coverage_source);
    }

    #[test]
    fn testpaths_filterwarnings_and_the_file_they_come_from() {
        let t = TempTree::new(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\nfilterwarnings = [\"error\"]\n",
        )]);
        let c = ProjectConfig::read(t.path());
        assert_eq!(c.testpaths, ["tests"]);
        assert_eq!(c.filterwarnings, ["error"]);
        assert_eq!(
            c.pytest_file.as_deref(),
            Some("pyproject.toml ([tool.pytest.ini_options])")
        );
        let t = TempTree::new(&[("setup.cfg", "[tool:pytest]\ntestpaths = unit\n")]);
        let c = ProjectConfig::read(t.path());
        assert_eq!(c.testpaths, ["unit"]);
        assert_eq!(c.pytest_file.as_deref(), Some("setup.cfg ([tool:pytest])"));
    }

    #[test]
    fn nothing_configured() {
        let t = TempTree::new(&[("pyproject.toml", "[project]\nname='x'\n")]);
        assert_eq!(ProjectConfig::read(t.path()), ProjectConfig::default());
    }
}
