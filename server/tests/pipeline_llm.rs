//! `testgen run` with an LLM configured (the local OpenAI-compatible stub on
//! 127.0.0.1): the fixer step asks the model only about the failure the
//! rules cannot fix, the run goes on to generation and its gates, and the
//! key is in no artifact.

mod common;

use common::llm_run;
use common::llm_stub::{Recorded, Reply, Stub};

const KEY: &str = "sk-run-SECRET-77aa88bb99cc00dd11ee";

fn first_user_line(r: &Recorded) -> String {
    r.body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn system_says(r: &Recorded, what: &str) -> bool {
    r.body["messages"][0]["content"]
        .as_str()
        .is_some_and(|s| s.contains(what))
}

#[test]
fn the_run_fixes_user_tests_with_the_model_then_generates() {
    let p = common::copy_to_temp(&common::fixture("fixer"));
    let stub = Stub::start(|r, _| {
        let add_tax = first_user_line(r).contains("tests/test_broken.py::test_add_tax");
        if add_tax && system_says(r, "Decide whether the failure") {
            Reply::text("{\"classification\": \"test_mistake\", \"reason\": \"the docstring says add_tax(10) is 12.0\"}")
        } else if add_tax && system_says(r, "Repair the test") {
            Reply::text("```python\ndef test_add_tax():\n    assert add_tax(10) == 12.0\n```\n")
        } else {
            // Generation requests: a real server's refusal, which the run
            // must survive and report.
            Reply::error(
                429,
                "Rate limit reached for gpt-4o-mini",
                "rate_limit_exceeded",
            )
        }
    });
    let (report, out) = llm_run::testgen_llm(
        "run",
        p.path(),
        &stub,
        KEY,
        &[
            "--fix-user-tests",
            "--iterations",
            "1",
            "--budget-s",
            "3",
            "--min-coverage",
            "100",
        ],
    );
    let text = format!(
        "{report:#}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let gates_passed = report["passed"].as_bool().unwrap();
    assert_eq!(
        out.status.code(),
        Some(if gates_passed { 0 } else { 1 }),
        "{text}"
    );
    assert_eq!(report["fixer"]["status"], "ran", "{text}");
    assert_eq!(report["fixer"]["written"], true, "{text}");
    assert!(report["fixer"]["fixed"].as_u64().unwrap() >= 4, "{text}");

    let fixer: serde_json::Value = serde_json::from_slice(
        &std::fs::read(p.path().join(".testgen/auto_fixer_report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(fixer["model"], "openai/gpt-4o-mini", "{fixer:#}");
    let add_tax = fixer["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["nodeid"] == "tests/test_broken.py::test_add_tax")
        .unwrap_or_else(|| panic!("{fixer:#}"));
    assert_eq!(add_tax["outcome"], "fixed", "{add_tax:#}");
    assert_eq!(add_tax["classified_by"], "llm", "{add_tax:#}");
    assert_eq!(add_tax["attempts"][0]["by"], "llm", "{add_tax:#}");
    let broken = std::fs::read_to_string(p.path().join("tests/test_broken.py")).unwrap();
    assert!(broken.contains("assert add_tax(10) == 12.0"), "{broken}");

    // The fixer asked about test_add_tax only (classification and repair);
    // the code bug's test never reached the model.
    let fixer_asks: Vec<String> = stub
        .recorded()
        .iter()
        .filter(|r| {
            system_says(r, "Decide whether the failure") || system_says(r, "Repair the test")
        })
        .map(first_user_line)
        .collect();
    assert_eq!(fixer_asks.len(), 2, "{fixer_asks:#?}");
    assert!(fixer_asks.iter().all(|a| a.contains("test_add_tax")));

    // The fixed suite is the baseline; the run went on and measured again.
    assert_eq!(report["rounds"].as_array().unwrap().len(), 1, "{text}");
    assert!(
        report["coverage_after"]["line_percent"].as_f64().unwrap()
            >= report["coverage_before"]["line_percent"].as_f64().unwrap(),
        "{text}"
    );
    let summary = std::fs::read_to_string(p.path().join(".testgen/summary.md")).unwrap();
    assert!(summary.contains("### Suspected bugs"), "{summary}");
    llm_run::assert_key_nowhere(KEY, p.path(), &[&out], Some(&stub));
}
