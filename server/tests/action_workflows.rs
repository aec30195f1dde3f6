//! The example workflows of docs/ci.md, taken from the file as a user
//! copies them, run through the emulated runner (common/runner_emu.rs):
//! the pull-request workflow in pull-request mode on a two-commit
//! repository, and the matrix of shards plus merge. `uses:
//! testgen/testgen@main` is this checkout's action.yml; the one input laid
//! over theirs is `setup: false` (docs/ci.md says why).

mod common;

use common::llm_stub::{Recorded, Reply, Stub};
use common::runner_emu::{git, repository, Runner};
use serde_json::{json, Value};

/// The docs' YAML blocks that are workflows (they have `jobs:`).
fn docs_workflow(containing: &str) -> String {
    let doc = std::fs::read_to_string(common::repo_root().join("docs/ci.md")).unwrap();
    doc.split("```yaml\n")
        .skip(1)
        .map(|b| b.split("```").next().unwrap().to_string())
        .filter(|b| b.lines().any(|l| l.starts_with("jobs:")))
        .find(|b| b.contains(containing))
        .unwrap_or_else(|| panic!("docs/ci.md has no workflow with {containing:?}"))
}

/// The job records of the Action's use in `job`.
fn action_use<'a>(r: &'a Value, job: &str) -> Vec<&'a Value> {
    r["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|j| j["job"] == job)
        .map(|j| {
            j["uses"]
                .as_array()
                .unwrap()
                .iter()
                .find(|u| u["uses"].as_str().unwrap().starts_with("testgen/testgen@"))
                .unwrap_or_else(|| panic!("job {job} did not use the Action: {j:#}"))
        })
        .collect()
}

#[test]
fn the_docs_pull_request_workflow_gates_the_changed_lines_and_comments() {
    let scratch = tempfile::tempdir().unwrap();
    let (work, remote) = repository(&common::fixture("plainlib"), scratch.path());
    let base = git(&work, &["rev-parse", "HEAD"]);
    // The pull request: one function changed, one added, on `feature`.
    git(&work, &["checkout", "-q", "-b", "feature"]);
    let file = work.join("plainlib/text.py");
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "    if len(text) <= width:\n",
        "    if width == 0:\n        return \"\"\n    if len(text) <= width:\n",
    );
    std::fs::write(
        &file,
        format!("{text}\n\ndef shout(text):\n    return text.upper() + \"!\"\n"),
    )
    .unwrap();
    git(&work, &["commit", "-q", "-am", "the change"]);
    // GitHub's merge commit of the pull request, as actions/checkout gets it.
    git(&work, &["checkout", "-q", "--detach", "main"]);
    git(
        &work,
        &["merge", "-q", "--no-ff", "-m", "Merge feature", "feature"],
    );
    let merge = git(&work, &["rev-parse", "HEAD"]);
    git(
        &work,
        &["push", "-q", "origin", "feature", "HEAD:refs/pull/5/merge"],
    );

    let stub = Stub::start(|req: &Recorded, _| Reply {
        status: if req.method == "POST" { 201 } else { 200 },
        headers: Vec::new(),
        body: if req.method == "GET" {
            "[]".into()
        } else {
            r#"{"id": 1}"#.into()
        },
        delay: std::time::Duration::ZERO,
    });
    let github = json!({
        "event_name": "pull_request",
        "ref": "refs/pull/5/merge",
        "ref_name": "5/merge",
        "sha": merge,
        "head_ref": "feature",
        "base_ref": "main",
        "api_url": stub.url(""),
        "repository": "owner/project",
        "event": {"pull_request": {"number": 5, "base": {"sha": base, "ref": "main"}}},
    });
    let runner = Runner::new();
    let (r, out) = runner.workflow(
        &docs_workflow("pull_request"),
        &remote,
        &github,
        &json!({"setup": "false"}),
    );
    let log = format!("{r:#}\n{}", common::output_text(&out));
    assert!(out.status.success(), "{log}");
    assert_eq!(r["conclusion"], "success", "{log}");

    let used = action_use(&r, "testgen")[0];
    let o = &used["outputs"];
    let changed: f64 = o["changed_coverage"].as_str().unwrap().parse().unwrap();
    assert!(changed >= 90.0, "{log}");
    assert_eq!(o["passed"], "true", "{log}");
    // The pushed tests are for workflow_dispatch only.
    assert_eq!(o["tests_commit"], "", "{log}");

    let job = &r["jobs"][0];
    let summary = job["summary"].as_str().unwrap();
    assert!(
        summary.contains(&format!("### Changed since `{base}`")),
        "{summary}"
    );
    for f in ["plainlib/text.py::truncate", "plainlib/text.py::shout"] {
        assert!(summary.contains(&format!("| `{f}` |")), "{summary}");
    }
    assert!(
        summary.contains("| Changed lines coverage >= 90% | PASS |"),
        "{summary}"
    );
    // The checkout was shallow; the Action fetched the base it diffs against.
    let ws = std::path::PathBuf::from(job["workspace"].as_str().unwrap());
    assert_eq!(git(&ws, &["rev-parse", "--is-shallow-repository"]), "true");
    git(&ws, &["cat-file", "-e", &format!("{base}^{{commit}}")]);

    let calls = stub.recorded();
    let post = calls
        .iter()
        .find(|c| c.method == "POST")
        .unwrap_or_else(|| panic!("no comment: {calls:#?}"));
    assert_eq!(post.path, "/repos/owner/project/issues/5/comments");
    assert!(post.body["body"]
        .as_str()
        .unwrap()
        .contains("Changed since"));
    // No key was configured: the emulated token is the Action's default.
    assert_eq!(
        post.header("authorization"),
        Some("Bearer ghs_emulated_token")
    );
}

#[test]
fn the_docs_matrix_workflow_shards_then_merges() {
    let scratch = tempfile::tempdir().unwrap();
    let (_work, remote) = repository(&common::fixture("plainlib"), scratch.path());
    let runner = Runner::new();
    let (r, out) = runner.workflow(
        &docs_workflow("matrix"),
        &remote,
        &json!({}),
        &json!({"setup": "false"}),
    );
    let log = format!("{r:#}\n{}", common::output_text(&out));
    assert!(out.status.success(), "{log}");
    let jobs = r["jobs"].as_array().unwrap();
    let names: Vec<&str> = jobs.iter().map(|j| j["job"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        ["generate", "generate", "generate", "generate", "merge"]
    );
    assert!(jobs.iter().all(|j| j["conclusion"] == "success"), "{log}");

    // Each shard uploaded its own artifact, hidden files included.
    for (k, used) in action_use(&r, "generate").iter().enumerate() {
        let upload = used["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == "Upload .testgen/")
            .unwrap();
        assert_eq!(upload["outcome"], "success", "{log}");
        assert_eq!(used["with"]["shard"], format!("{}/4", k + 1));
    }
    let merged = action_use(&r, "merge")[0];
    let o = &merged["outputs"];
    assert_eq!(o["passed"], "true", "{log}");
    let after: f64 = o["coverage_after"].as_str().unwrap().parse().unwrap();
    assert!(after >= 90.0, "{log}");
    let summary = jobs[4]["summary"].as_str().unwrap();
    assert!(
        summary.contains("merged the results of 4 shards"),
        "{summary}"
    );
    let ws = std::path::PathBuf::from(jobs[4]["workspace"].as_str().unwrap());
    let files = std::fs::read_dir(ws.join("tests/generated"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("test_")
        })
        .count();
    assert!(files >= 2, "{log}");
}
