//! Project setups pytest cannot start on, in one message each that names the
//! setting, the file and the fix (instead of "coverage.py wrote no report"):
//! a configuration warning that `filterwarnings = error` makes fatal,
//! a configuration pytest rejects, an option in `addopts` no installed
//! plugin provides, a `-p` plugin that is not installed, a conftest.py that
//! does not import. And the one problem testgen fixes itself: `testpaths`
//! naming a `tests/` that does not exist yet (testgen writes its tests
//! there).

use std::path::Path;

use super::project_config::ProjectConfig;

/// Plugins that provide well-known options, to name in the fix.
const PLUGINS: &[(&str, &str)] = &[
    ("--timeout", "pytest-timeout"),
    ("-n", "pytest-xdist"),
    ("--numprocesses", "pytest-xdist"),
    ("--dist", "pytest-xdist"),
    ("--reruns", "pytest-rerunfailures"),
    ("--benchmark", "pytest-benchmark"),
    ("--randomly", "pytest-randomly"),
    ("-p randomly", "pytest-randomly"),
    ("--asyncio-mode", "pytest-asyncio"),
    ("--ds", "pytest-django"),
    ("--reuse-db", "pytest-django"),
    ("--html", "pytest-html"),
    ("--mypy", "pytest-mypy"),
    ("--doctest-plus", "pytest-doctestplus"),
];

/// Creates `tests/` when the configuration's `testpaths` names it and it
/// is missing: pytest would otherwise warn (and stop, with warnings as
/// errors) on a project that simply has no tests yet. Returns whether it
/// did.
pub fn create_missing_tests_dir(dir: &Path, cfg: &ProjectConfig) -> std::io::Result<bool> {
    let names_tests = cfg
        .testpaths
        .iter()
        .any(|p| matches!(p.trim_end_matches('/'), "tests" | "./tests"));
    let tests = dir.join("tests");
    if !names_tests || tests.exists() {
        return Ok(false);
    }
    std::fs::create_dir(&tests)?;
    tracing::info!(
        "created {}: testpaths in {} names it and testgen writes its tests there",
        tests.display(),
        cfg.pytest_file
            .as_deref()
            .unwrap_or("the pytest configuration")
    );
    Ok(true)
}

/// Why pytest could not start, from the end of its output: one message with
/// the setting, the file and the fix; None when the output shows none of
/// the known setups.
pub fn explain(tail: &[String], cfg: &ProjectConfig, python: &Path) -> Option<String> {
    let file = cfg
        .pytest_file
        .clone()
        .unwrap_or_else(|| "the pytest configuration".into());
    let lines: Vec<&str> = tail.iter().map(|l| l.trim()).collect();
    if let Some(msg) = conftest(&lines, python) {
        return Some(msg);
    }
    if let Some(msg) = plugin(&lines, cfg, &file, python) {
        return Some(msg);
    }
    if let Some(msg) = config_warning(&lines, cfg, &file) {
        return Some(msg);
    }
    let error = lines.iter().find_map(|l| l.strip_prefix("ERROR: "))?;
    if error.starts_with("usage:")
        || error.starts_with("file or directory not found")
        || error.starts_with("not found:")
    {
        return None;
    }
    // A file pytest cannot parse has no section testgen could read: the
    // error itself starts with the file's path.
    let file = match &cfg.pytest_file {
        Some(f) => f.clone(),
        None => error
            .split(':')
            .next()
            .unwrap_or("its configuration")
            .to_string(),
    };
    Some(format!(
        "pytest cannot read its configuration in {file}: {error}; correct the place it names"
    ))
}

fn conftest(lines: &[&str], python: &Path) -> Option<String> {
    let i = lines
        .iter()
        .position(|l| l.starts_with("ImportError while loading conftest"))?;
    let path = lines[i]
        .split('\'')
        .nth(1)
        .unwrap_or("conftest.py")
        .to_string();
    let why = lines[i..]
        .iter()
        .find_map(|l| l.strip_prefix("E   "))
        .unwrap_or("it raised an error")
        .trim();
    let fix = match why.strip_prefix("ModuleNotFoundError: No module named ") {
        Some(m) => format!(
            "install {} into {} (`--setup` installs the project's requirements) or fix the import",
            m.trim_matches('\''),
            python.display()
        ),
        None => "fix the error in that file".into(),
    };
    Some(format!(
        "{path} does not import ({why}), and pytest cannot start without it: {fix}"
    ))
}

fn plugin(lines: &[&str], cfg: &ProjectConfig, file: &str, python: &Path) -> Option<String> {
    if let Some(l) = lines
        .iter()
        .find(|l| l.contains("Error importing plugin \""))
    {
        let name = l.split('"').nth(1).unwrap_or("?");
        let from = if cfg.addopts.iter().any(|a| a.contains(name)) {
            format!("`addopts` in {file} loads it (-p {name})")
        } else {
            "the command line loads it (`-p`, pytestArgs)".to_string()
        };
        return Some(format!(
            "the pytest plugin \"{name}\" is not installed in {}: {from}; install it there or remove the `-p {name}`",
            python.display()
        ));
    }
    let args = lines
        .iter()
        .find_map(|l| l.split_once("error: unrecognized arguments: "))?
        .1;
    let unknown: Vec<&str> = args.split_whitespace().collect();
    let in_addopts = unknown.iter().any(|u| cfg.addopts.iter().any(|a| a == u));
    let plugin = unknown.iter().find_map(|u| {
        PLUGINS
            .iter()
            .find(|(opt, _)| u.starts_with(opt))
            .map(|(_, p)| *p)
    });
    let install = match plugin {
        Some(p) => format!("install {p} into {}", python.display()),
        None => format!(
            "install the pytest plugin that provides it into {}",
            python.display()
        ),
    };
    let source = if in_addopts {
        format!("`addopts` in {file} passes")
    } else {
        "pytest's arguments (pytestArgs) pass".to_string()
    };
    let remove = if in_addopts {
        "remove it from addopts"
    } else {
        "remove it from pytestArgs"
    };
    Some(format!(
        "{source} {args}, which no installed pytest plugin understands: {install}, or {remove}"
    ))
}

fn config_warning(lines: &[&str], cfg: &ProjectConfig, file: &str) -> Option<String> {
    let warning = lines.iter().find_map(|l| {
        l.split_once("PytestConfigWarning: ")
            .map(|(_, w)| w.trim().to_string())
    })?;
    let as_errors = cfg
        .filterwarnings
        .iter()
        .any(|f| f == "error" || f.starts_with("error:"));
    let setting = if as_errors {
        format!(
            "`filterwarnings = error` in {file} turns pytest's configuration warning into an error"
        )
    } else {
        format!("pytest stopped on a configuration warning about {file}")
    };
    let fix = if warning.starts_with("No files were found in testpaths") {
        format!(
            "`testpaths` ({}) names no existing directory: create it or correct testpaths",
            cfg.testpaths.join(", ")
        )
    } else if let Some(opt) = warning.strip_prefix("Unknown config option: ") {
        format!("remove `{opt}` from {file}, or install the plugin that defines it")
    } else {
        "fix the setting it names, or add \"ignore::pytest.PytestConfigWarning\" to filterwarnings"
            .into()
    };
    Some(format!("{setting}: {warning} Fix: {fix}."))
}

/// coverage.py measured nothing because `[run] source` names no module the
/// tests import: one message with the setting, its file and the fix
/// (instead of "coverage.py wrote no report"); None when the output does
/// not say so.
pub fn coverage_source(tail: &[String], cfg: &ProjectConfig) -> Option<String> {
    if !cfg.coverage_source {
        return None;
    }
    let never: Vec<&str> = tail
        .iter()
        .filter_map(|l| {
            l.split_once("CoverageWarning: Module ")?
                .1
                .split_once(" was never imported")
                .map(|(m, _)| m)
        })
        .collect();
    let no_data = tail
        .iter()
        .any(|l| l.contains("No data was collected") || l.contains("No data to report"));
    if never.is_empty() && !no_data {
        return None;
    }
    let file = cfg
        .coverage_file
        .as_deref()
        .unwrap_or("the coverage configuration");
    let what = if never.is_empty() {
        "nothing the tests import".to_string()
    } else {
        let mut names = never;
        names.dedup();
        format!("{}, which the tests never import", names.join(", "))
    };
    Some(format!(
        "coverage.py measured nothing: `source` in {file} names {what}; set `source` to the project's importable package (or remove it and testgen measures the project's own directories)"
    ))
}

/// The line of a failed install that says why, instead of pip's closing
/// "This error originates from a subprocess": the last error line that is
/// not pip's own generic wrapper.
pub fn install_error(tail: &[String]) -> Option<String> {
    const GENERIC: &[&str] = &[
        "subprocess-exited-with-error",
        "metadata-generation-failed",
        "This error originates from a subprocess",
        "See above for output",
        "[end of output]",
    ];
    tail.iter()
        .map(|l| l.trim().trim_start_matches(['│', '║', '╰', '─', '>', ' ']))
        .filter(|l| !GENERIC.iter().any(|g| l.contains(g)))
        .rfind(|l| {
            let head = l.split(':').next().unwrap_or("");
            l.contains(':')
                && (head.eq_ignore_ascii_case("error")
                    || (head.ends_with("Error") && !head.contains(' '))
                    || head.ends_with("Exception"))
        })
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::test_support::TempTree;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(String::from).collect()
    }

    fn config(files: &[(&str, &str)]) -> (TempTree, ProjectConfig) {
        let t = TempTree::new(files);
        let c = ProjectConfig::read(t.path());
        (t, c)
    }

    const PY: &str = "/p/.venv/bin/python";

    #[test]
    fn a_missing_tests_dir_named_by_testpaths_is_created_once() {
        let (t, c) = config(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\ntestpaths = [\"tests\"]\nfilterwarnings = [\"error\"]\n",
        )]);
        assert!(create_missing_tests_dir(t.path(), &c).unwrap());
        assert!(t.path().join("tests").is_dir());
        assert!(!create_missing_tests_dir(t.path(), &c).unwrap());
        let (t, c) = config(&[("pytest.ini", "[pytest]\ntestpaths = unit\n")]);
        assert!(!create_missing_tests_dir(t.path(), &c).unwrap());
        assert!(!t.path().join("tests").exists());
    }

    #[test]
    fn a_config_warning_made_an_error_names_filterwarnings_the_file_and_the_fix() {
        let (_t, c) = config(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\ntestpaths = [\"unit\"]\nfilterwarnings = [\"error\"]\n",
        )]);
        let tail = lines("Traceback (most recent call last):\n  File \"x\", line 1\npytest.PytestConfigWarning: No files were found in testpaths; consider removing or adjusting your testpaths configuration. Searching recursively from the current directory instead.");
        let msg = explain(&tail, &c, Path::new(PY)).unwrap();
        assert!(
            msg.contains("`filterwarnings = error` in pyproject.toml"),
            "{msg}"
        );
        assert!(msg.contains("`testpaths` (unit)"), "{msg}");
        assert!(msg.contains("create it or correct testpaths"), "{msg}");
        let tail =
            lines("INTERNALERROR> pytest.PytestConfigWarning: Unknown config option: bogus_opt");
        let msg = explain(&tail, &c, Path::new(PY)).unwrap();
        assert!(
            msg.contains("remove `bogus_opt` from pyproject.toml"),
            "{msg}"
        );
    }

    #[test]
    fn an_addopts_option_of_a_missing_plugin_names_the_plugin_to_install() {
        let (_t, c) = config(&[(
            "pyproject.toml",
            "[tool.pytest.ini_options]\naddopts = \"--timeout=5\"\n",
        )]);
        let tail = lines("ERROR: usage: python -m pytest [options] [file_or_dir] [file_or_dir] [...]\npython -m pytest: error: unrecognized arguments: --timeout=5\n  inifile: /p/pyproject.toml\n  rootdir: /p");
        let msg = explain(&tail, &c, Path::new(PY)).unwrap();
        assert_eq!(msg, "`addopts` in pyproject.toml ([tool.pytest.ini_options]) passes --timeout=5, which no installed pytest plugin understands: install pytest-timeout into /p/.venv/bin/python, or remove it from addopts");
        let (_t, c) = config(&[("pytest.ini", "[pytest]\naddopts = -p nosuchplugin\n")]);
        let tail =
            lines("ERROR: Error importing plugin \"nosuchplugin\": No module named 'nosuchplugin'");
        let msg = explain(&tail, &c, Path::new(PY)).unwrap();
        assert!(msg.contains("\"nosuchplugin\" is not installed in /p/.venv/bin/python: `addopts` in pytest.ini loads it"), "{msg}");
    }

    #[test]
    fn a_conftest_that_does_not_import_names_the_file_and_the_module() {
        let (_t, c) = config(&[]);
        let tail = lines("ImportError while loading conftest '/p/tests/conftest.py'.\ntests/conftest.py:1: in <module>\n    import nosuchmod\nE   ModuleNotFoundError: No module named 'nosuchmod'");
        let msg = explain(&tail, &c, Path::new(PY)).unwrap();
        assert_eq!(msg, "/p/tests/conftest.py does not import (ModuleNotFoundError: No module named 'nosuchmod'), and pytest cannot start without it: install nosuchmod into /p/.venv/bin/python (`--setup` installs the project's requirements) or fix the import");
    }

    #[test]
    fn a_malformed_config_quotes_pytest_and_a_plain_failure_is_no_setup_problem() {
        let (_t, c) = config(&[("pytest.ini", "[pytest]\nfoo\n")]);
        let tail = lines("ERROR: /p/pytest.ini:2: unexpected line: 'foo'");
        let msg = explain(&tail, &c, Path::new(PY)).unwrap();
        assert!(msg.starts_with("pytest cannot read its configuration in pytest.ini: /p/pytest.ini:2: unexpected line: 'foo'"), "{msg}");
        let tail = lines("FAILED tests/test_a.py::test_a - assert 1 == 2\n1 failed in 0.01s");
        assert_eq!(explain(&tail, &c, Path::new(PY)), None);
    }

    #[test]
    fn a_coverage_source_that_names_nothing_importable_is_named_with_its_file() {
        let (_t, c) = config(&[(
            "pyproject.toml",
            "[tool.coverage.run]\nsource = [\"nosuch\"]\n",
        )]);
        let tail = lines("tests/test_a.py ./v/coverage/inorout.py:577: CoverageWarning: Module nosuch was never imported. (module-not-imported); see https://coverage.readthedocs.io\n/v/coverage/control.py:981: CoverageWarning: No data was collected. (no-data-collected)\nWARNING: Failed to generate report: No data to report.");
        assert_eq!(
            coverage_source(&tail, &c).unwrap(),
            "coverage.py measured nothing: `source` in pyproject.toml ([tool.coverage.run]) names nosuch, which the tests never import; set `source` to the project's importable package (or remove it and testgen measures the project's own directories)"
        );
        let (_t, plain) = config(&[]);
        assert_eq!(coverage_source(&tail, &plain), None);
    }

    #[test]
    fn a_failed_install_shows_the_tools_own_error_line() {
        let tail = lines("  error: subprocess-exited-with-error\n  \n  × Getting requirements to build editable did not run successfully.\n  │ exit code: 1\n  ╰─> [7 lines of output]\n      running egg_info\n      error: package directory 'pkg/tests' does not exist\n      [end of output]\n  \n  note: This error originates from a subprocess, and is likely not a problem with pip.\nerror: subprocess-exited-with-error\n\n× Getting requirements to build editable did not run successfully.\n│ exit code: 1\n╰─> See above for output.\n\nnote: This error originates from a subprocess, and is likely not a problem with pip.");
        assert_eq!(
            install_error(&tail).as_deref(),
            Some("error: package directory 'pkg/tests' does not exist")
        );
        let tail = lines("ERROR: Could not find a version that satisfies the requirement nosuchpkg (from versions: none)\nERROR: No matching distribution found for nosuchpkg");
        assert_eq!(
            install_error(&tail).as_deref(),
            Some("ERROR: No matching distribution found for nosuchpkg")
        );
    }
}
