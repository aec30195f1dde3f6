//! One configuration for the command line and the server: `[tool.testgen]`
//! is read by both, and a relative `python` resolves against the project,
//! never against the directory testgen was started from.

mod common;
#[path = "common/lsp_client.rs"]
mod lsp_client;

use std::path::PathBuf;
use std::process::Command;

use lsp_client::LspClient;
use serde_json::{json, Value};

/// A copy of plainlib whose pyproject.toml says `python = "tools/py"`: a
/// wrapper around the test interpreter that leaves a mark when it runs.
fn project_with_relative_python() -> (tempfile::TempDir, PathBuf) {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let tools = p.path().join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let mark = tools.join("used");
    let wrapper = tools.join("py");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ntouch '{}'\nexec '{}' \"$@\"\n",
            mark.display(),
            common::python().display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let pyproject = p.path().join("pyproject.toml");
    let mut text = std::fs::read_to_string(&pyproject).unwrap();
    text.push_str("\n[tool.testgen]\npython = \"tools/py\"\n");
    std::fs::write(&pyproject, text).unwrap();
    (p, mark)
}

#[test]
fn the_cli_honours_a_relative_python_from_another_directory() {
    let (p, mark) = project_with_relative_python();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .current_dir(elsewhere.path())
        .env_remove("VIRTUAL_ENV")
        .args(["test", p.path().to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected = p.path().canonicalize().unwrap().join("tools/py");
    assert_eq!(run["python"], expected.to_str().unwrap(), "{run}");
    assert!(mark.exists(), "the configured interpreter never ran");
    assert_eq!(run["outcome"], "passed");

    // A flag wins over the file; an invalid file is one clear error.
    let pyproject = p.path().join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(&pyproject, format!("{text}min_coverage = 300\n")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
        .current_dir(elsewhere.path())
        .args(["test", p.path().to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("pyproject.toml [tool.testgen]: minCoverage must be between 0 and 100"),
        "{stderr}"
    );
}

#[test]
fn the_server_honours_a_relative_python_from_another_directory() {
    let (p, mark) = project_with_relative_python();
    let elsewhere = tempfile::tempdir().unwrap();
    let mut c = LspClient::start_in(elsewhere.path());
    c.initialize(p.path(), json!({}));
    c.wait_for(0, "the end of indexing", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    let answer = c
        .request(
            "workspace/executeCommand",
            json!({"command": "testgen.runTests", "arguments": [{}]}),
        )
        .expect("runTests");
    assert_eq!(answer["outcome"], "passed", "{answer}");
    assert!(mark.exists(), "the configured interpreter never ran");
    assert!(c.shutdown().success());
}

/// Without the setting the same server would not find this interpreter:
/// the mark proves the setting, not discovery, chose it.
#[test]
fn without_the_setting_the_wrapper_is_not_used() {
    let (p, mark) = project_with_relative_python();
    let pyproject = p.path().join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    std::fs::write(&pyproject, text.replace("python = \"tools/py\"", "")).unwrap();
    let py = common::python();
    let out = common::testgen(&[
        "test",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!mark.exists());
}
