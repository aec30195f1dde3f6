//! The GitHub Action run as GitHub's runner runs a composite action
//! (tests/scripts/runneremu; common/runner_emu.rs says what is emulated and
//! the one concession to CI time): testgen installed from the action's own
//! checkout into a clean HOME with no testgen on the PATH, outputs set, the
//! step summary written, the generated tests pushed to a branch of a local
//! bare remote, the summary posted as a sticky comment on a local stub of
//! GitHub's REST API, the exit status the gates'.

mod common;

use common::llm_stub::{Recorded, Reply, Stub};
use common::runner_emu::{git, on_path, repository, Runner};
use serde_json::{json, Value};

const MARKER: &str = "<!-- testgen:summary -->";

fn describe(r: &Value, out: &std::process::Output) -> String {
    format!("{r:#}\n{}", common::output_text(out))
}

/// GitHub's issue-comments endpoints: the listing shows `existing`, a
/// create answers 201, an edit 200.
fn rest_stub(existing: Value) -> Stub {
    Stub::start(move |req: &Recorded, _| {
        let body = match req.method.as_str() {
            "GET" => existing.clone(),
            _ => json!({"id": 99, "body": req.body["body"]}),
        };
        Reply {
            status: if req.method == "POST" { 201 } else { 200 },
            headers: Vec::new(),
            body: body.to_string(),
            delay: std::time::Duration::ZERO,
        }
    })
}

fn pull_request_github(stub: &Stub) -> Value {
    json!({
        "event_name": "pull_request",
        "api_url": stub.url(""),
        "repository": "owner/project",
        "ref": "refs/pull/5/merge",
        "ref_name": "5/merge",
        "head_ref": "feature",
        "event": {"pull_request": {"number": 5}},
        "token": "ghs_emulated_token",
    })
}

#[test]
fn the_action_installs_from_its_checkout_runs_pushes_and_comments() {
    let scratch = tempfile::tempdir().unwrap();
    let (ws, remote) = repository(&common::fixture("plainlib"), scratch.path());
    let head = git(&ws, &["rev-parse", "HEAD"]);
    let runner = Runner::new();
    assert!(
        !on_path("testgen", &runner.path_var()),
        "the emulated runner must start without testgen"
    );
    let stub = rest_stub(json!([{"id": 7, "body": "a reviewer's comment"}]));
    let inputs = json!({
        "engine": "explore",
        "setup": "false",
        "min_coverage": "70",
        "iterations": "1",
        "auto_push_tests": "true",
        "tests_branch": "testgen-tests",
        "comment_on_pr": "true",
        "github_token": "ghs_given_token",
    });
    let github = pull_request_github(&stub);
    let (r, out) = runner.action(&common::repo_root(), &ws, &inputs, &github);
    let log = describe(&r, &out);
    assert!(out.status.success(), "{log}");
    assert_eq!(r["conclusion"], "success", "{log}");

    // Outputs.
    let o = &r["outputs"];
    let before: f64 = o["coverage_before"].as_str().unwrap().parse().unwrap();
    let after: f64 = o["coverage_after"].as_str().unwrap().parse().unwrap();
    assert!(after >= 70.0 && after > before, "{log}");
    let generated: u32 = o["tests_generated"].as_str().unwrap().parse().unwrap();
    assert!(generated > 0, "{log}");
    assert_eq!(o["passed"], "true", "{log}");

    // Installed from the checkout, into the runner's temp directory: the
    // clean HOME got no testgen.
    // cargo reports on stderr.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Installed package `testgen"), "{log}");
    assert!(!runner.home().join(".cargo/bin/testgen").exists());

    // The step summary is testgen's summary.md.
    let summary = r["summary"].as_str().unwrap();
    assert!(summary.contains("| Coverage After |"), "{summary}");

    // actions/cache keyed on the checkout's build identity; upload-artifact
    // given .testgen/.
    let uses = r["uses"].as_array().unwrap();
    let find = |name: &str| {
        uses.iter()
            .find(|u| u["uses"].as_str().unwrap().starts_with(name))
            .unwrap_or_else(|| panic!("{name} did not run: {log}"))
    };
    let key = find("actions/cache@")["with"]["key"].as_str().unwrap();
    let id = key.strip_prefix("testgen-Linux-X64-").unwrap_or_default();
    assert!(
        id.len() == 40 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{key}"
    );
    let upload = &find("actions/upload-artifact@")["with"];
    assert!(upload["path"].as_str().unwrap().ends_with(".testgen/"));

    // The push: one commit on top of the checkout's, holding the generated
    // tests (no bytecode), on the remote's testgen-tests; the workspace's
    // own HEAD and branch untouched.
    let pushed = git(&remote, &["rev-parse", "refs/heads/testgen-tests"]);
    assert_eq!(o["tests_commit"], pushed.as_str(), "{log}");
    assert_eq!(git(&remote, &["rev-parse", &format!("{pushed}^")]), head);
    let files = git(&remote, &["ls-tree", "-r", "--name-only", &pushed]);
    assert!(files.contains("tests/generated/test_"), "{files}");
    assert!(!files.contains("__pycache__"), "{files}");
    assert_eq!(git(&ws, &["rev-parse", "HEAD"]), head);
    assert_eq!(git(&ws, &["branch", "--show-current"]), "main");

    // The comment: listed, none of testgen's found, created with the
    // summary, with the given token.
    let calls = stub.recorded();
    let methods: Vec<_> = calls.iter().map(|c| c.method.as_str()).collect();
    assert_eq!(methods, ["GET", "POST"], "{calls:#?}");
    assert!(calls[0]
        .path
        .starts_with("/repos/owner/project/issues/5/comments?"));
    let post = &calls[1];
    assert_eq!(post.path, "/repos/owner/project/issues/5/comments");
    assert_eq!(post.header("authorization"), Some("Bearer ghs_given_token"));
    let body = post.body["body"].as_str().unwrap();
    assert!(body.starts_with(MARKER) && body.contains("| Coverage After |"));

    // Run again: the comment is the same one, edited.
    let stub = rest_stub(json!([{"id": 7, "body": "a reviewer's comment"},
                                {"id": 31, "body": format!("{MARKER}\nold")}]));
    let (r, out) = runner.action(
        &common::repo_root(),
        &ws,
        &inputs,
        &pull_request_github(&stub),
    );
    assert!(out.status.success(), "{}", describe(&r, &out));
    let calls = stub.recorded();
    let last = calls.last().unwrap();
    assert_eq!(last.method, "PATCH", "{calls:#?}");
    assert_eq!(last.path, "/repos/owner/project/issues/comments/31");
    assert_eq!(calls.len(), 2, "{calls:#?}");
}

/// A failed gate fails the Action with the run's exit status, after the
/// outputs, the summary and the artifact.
#[test]
fn a_failed_gate_fails_the_action_after_reporting() {
    let scratch = tempfile::tempdir().unwrap();
    let (ws, _remote) = repository(&common::fixture("plainlib"), scratch.path());
    let runner = Runner::new();
    let inputs = json!({
        "engine": "explore",
        "setup": "false",
        // Above 100: a gate that cannot pass.
        "min_coverage": "101",
        "iterations": "1",
    });
    let (r, out) = runner.action(&common::repo_root(), &ws, &inputs, &json!({}));
    let log = describe(&r, &out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert_eq!(r["conclusion"], "failure", "{log}");
    assert_eq!(r["outputs"]["passed"], "false", "{log}");
    let steps = r["steps"].as_array().unwrap();
    let outcome = |name: &str| {
        steps
            .iter()
            .find(|s| s["name"] == name)
            .map(|s| s["outcome"].as_str().unwrap().to_string())
    };
    assert_eq!(outcome("Gate").as_deref(), Some("failure"), "{log}");
    assert_eq!(outcome("Upload .testgen/").as_deref(), Some("success"));
    assert!(r["summary"].as_str().unwrap().contains("| FAIL |"), "{log}");
}
