//! `testgen fix` end to end: the real binary on copies of the `fixer`
//! fixture (deliberately broken tests), real pytest; without a model, and
//! with the LLM stub (a real OpenAI-compatible HTTP server on 127.0.0.1)
//! answering as a model would.

mod common;

use std::path::Path;
use std::process::Output;

use common::llm_run;
use common::llm_stub::{Recorded, Reply, Stub};
use serde_json::Value;

const KEY: &str = "sk-fix-SECRET-0a1b2c3d4e5f60718293";

const BROKEN: &str = "tests/test_broken.py";

fn fix(project: &Path, extra: &[&str]) -> (Value, i32) {
    let (json, out) = common::testgen_json("fix", project, extra);
    (json, out.status.code().unwrap_or(-1))
}

fn record<'a>(report: &'a Value, nodeid: &str) -> &'a Value {
    report["failures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["nodeid"] == nodeid)
        .unwrap_or_else(|| panic!("no record of {nodeid}: {report:#}"))
}

/// The text of top-level function `name` (decorators to the next
/// top-level statement), blank lines after it excluded.
fn function<'a>(text: &'a str, name: &str) -> &'a str {
    let start = text.find(&format!("\ndef {name}(")).unwrap() + 1;
    let rest = &text[start..];
    let end = rest[1..].find("\ndef ").map_or(rest.len(), |e| e + 2);
    rest[..end].trim_end()
}

/// `text` with the given top-level functions cut out.
fn without(text: &str, names: &[&str]) -> String {
    let mut t = text.to_string();
    for n in names {
        let f = function(text, n).to_string();
        t = t.replacen(&f, &format!("<{n}>"), 1);
    }
    t
}

#[test]
fn test_mistakes_are_fixed_deterministically_and_the_code_bug_is_reported() {
    let p = common::copy_to_temp(&common::fixture("fixer"));
    let broken = p.path().join(BROKEN);
    let before = std::fs::read_to_string(&broken).unwrap();
    let text_before = std::fs::read_to_string(p.path().join("tests/test_text.py")).unwrap();

    let (report, code) = fix(p.path(), &[]);
    assert_eq!(
        code, 1,
        "a code bug and a test left for the LLM: {report:#}"
    );
    assert!(report["model"].is_null(), "no model configured, none used");
    assert!(
        report["notes"][0]
            .as_str()
            .unwrap()
            .contains("only the deterministic fixes"),
        "{report:#}"
    );
    let saved: Value = serde_json::from_slice(
        &std::fs::read(p.path().join(".testgen/auto_fixer_report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(saved["summary"], report["summary"]);

    // The three test mistakes with a certain fix: fixed by rules, no model.
    for (test, rule) in [
        ("tests/test_text.py", "rule:import"),
        (
            "tests/test_broken.py::test_slugify_joins_words",
            "rule:import",
        ),
        (
            "tests/test_broken.py::test_total_of_sample",
            "rule:missing_fixture",
        ),
        (
            "tests/test_broken.py::test_invalid_item_is_rejected",
            "rule:validation_status",
        ),
    ] {
        let r = record(&report, test);
        assert_eq!(r["outcome"], "fixed", "{r:#}");
        assert_eq!(r["classification"], "test_mistake", "{r:#}");
        let attempts = r["attempts"].as_array().unwrap();
        assert_eq!(attempts.len(), 1, "{r:#}");
        assert_eq!(attempts[0]["by"], rule, "{r:#}");
        assert_eq!(attempts[0]["result"], "passed", "{r:#}");
        assert!(r["diff"].as_str().unwrap().contains("@@"), "{r:#}");
    }
    // The wrong expected value needs the model, which is not configured.
    let add_tax = record(&report, "tests/test_broken.py::test_add_tax");
    assert_eq!(add_tax["outcome"], "needs_model", "{add_tax:#}");
    assert!(add_tax["attempts"].as_array().unwrap().is_empty());
    // The real bug: reported with its input, never "fixed".
    let last = record(&report, "tests/test_broken.py::test_last_price");
    assert_eq!(last["outcome"], "code_bug", "{last:#}");
    assert!(last["attempts"].as_array().unwrap().is_empty());
    let bugs = report["suspected_bugs"].as_array().unwrap();
    assert_eq!(bugs.len(), 1, "{bugs:#?}");
    assert_eq!(bugs[0]["target"], "shop/pricing.py::last_price");
    assert_eq!(bugs[0]["file"], "shop/pricing.py");
    assert_eq!(bugs[0]["line"], 17);
    assert_eq!(
        bugs[0]["input"],
        "last_price([('pen', 1.5), ('book', 12.0)])"
    );
    assert_eq!(bugs[0]["error"], "IndexError: list index out of range");
    assert_eq!(bugs[0]["found_by"], "fixer");
    assert_eq!(bugs[0]["test"], "tests/test_broken.py::test_last_price");

    // Only the fixed functions changed, each as the rule says.
    let after = std::fs::read_to_string(&broken).unwrap();
    let fixed = [
        "test_slugify_joins_words",
        "test_total_of_sample",
        "test_invalid_item_is_rejected",
    ];
    assert_eq!(
        without(&after, &fixed),
        without(&before, &fixed),
        "text outside the fixed tests changed"
    );
    assert_eq!(
        function(&after, "test_last_price"),
        function(&before, "test_last_price")
    );
    assert_eq!(
        function(&after, "test_add_tax"),
        function(&before, "test_add_tax")
    );
    assert_eq!(
        function(&after, "test_slugify_joins_words"),
        function(&before, "test_slugify_joins_words").replace(
            "from shop.pricing import slugify",
            "from shop.text import slugify"
        )
    );
    assert_eq!(
        function(&after, "test_total_of_sample"),
        function(&before, "test_total_of_sample").replace("sample_item)", "sample_items)")
    );
    assert_eq!(
        function(&after, "test_invalid_item_is_rejected"),
        function(&before, "test_invalid_item_is_rejected").replace("== 400", "== 422")
    );
    let text_after = std::fs::read_to_string(p.path().join("tests/test_text.py")).unwrap();
    assert_eq!(
        text_after,
        text_before.replace(
            "from shop.pricing import slugify",
            "from shop.text import slugify"
        )
    );
    // No temporary copy left behind.
    let left: Vec<_> = std::fs::read_dir(p.path().join("tests"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("testgen_fix"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // pytest agrees: only the two left alone still fail.
    let out = common::pytest(p.path(), &["-rf"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("2 failed, 5 passed"), "{stdout}");

    // Again: nothing more to fix, the test files stay as they are.
    let (again, code) = fix(p.path(), &[]);
    assert_eq!(code, 1, "{again:#}");
    assert_eq!(again["summary"]["fixed"], 0, "{again:#}");
    assert_eq!(std::fs::read_to_string(&broken).unwrap(), after);
}

#[test]
fn a_fix_whose_rerun_fails_leaves_the_file_byte_identical() {
    let p = common::copy_to_temp(&common::fixture("fixer"));
    let broken = p.path().join(BROKEN);
    // The fixture rename is certain, but the test still fails after it.
    // CRLF endings and no final newline: restored byte for byte all the same.
    let mut text = std::fs::read_to_string(&broken)
        .unwrap()
        .replace('\n', "\r\n");
    text.push_str(
        "\r\n\r\ndef test_total_wrong(sample_item):\r\n    assert total(sample_item) == 99",
    );
    std::fs::write(&broken, &text).unwrap();
    let (report, code) = fix(
        p.path(),
        &["--test", "tests/test_broken.py::test_total_wrong"],
    );
    assert_eq!(code, 1, "{report:#}");
    let r = record(&report, "tests/test_broken.py::test_total_wrong");
    assert_eq!(r["outcome"], "unfixed", "{r:#}");
    let attempts = r["attempts"].as_array().unwrap();
    assert_eq!(attempts[0]["by"], "rule:missing_fixture", "{r:#}");
    assert!(
        attempts[0]["result"]
            .as_str()
            .unwrap()
            .contains("failed in run 1 of 3"),
        "{r:#}"
    );
    assert!(r["diff"].is_null());
    assert_eq!(std::fs::read(&broken).unwrap(), text.as_bytes());
}

#[test]
fn exit_codes() {
    let p = common::copy_to_temp(&common::fixture("fixer"));
    // Every selected test was a mistake and got fixed: 0.
    let (report, code) = fix(
        p.path(),
        &[
            "--test",
            "tests/test_broken.py::test_slugify_joins_words",
            "tests/test_broken.py::test_invalid_item_is_rejected",
        ],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["fixed"], 2, "{report:#}");
    // Nothing failing: 0.
    let (report, code) = fix(
        p.path(),
        &["--test", "tests/test_broken.py::test_total_of_nothing"],
    );
    assert_eq!(code, 0, "{report:#}");
    assert_eq!(report["summary"]["failures"], 0);
    // A code bug: 1.
    let (_, code) = fix(
        p.path(),
        &["--test", "tests/test_broken.py::test_last_price"],
    );
    assert_eq!(code, 1);

    // Bad input: 2, one line that says what is wrong.
    let py = common::python();
    let missing = p.path().join("nope");
    for args in [
        vec!["fix", missing.to_str().unwrap()],
        vec![
            "fix",
            p.path().to_str().unwrap(),
            "--python",
            py.to_str().unwrap(),
            "--test",
            "tests/test_nope.py::test_x",
        ],
        vec!["fix", p.path().to_str().unwrap(), "--max-iterations", "0"],
    ] {
        let out = common::testgen(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            !err.contains("panicked") && !err.contains("FixError"),
            "{err}"
        );
    }
    let out = common::testgen(&[
        "fix",
        p.path().to_str().unwrap(),
        "--python",
        py.to_str().unwrap(),
        "--test",
        "tests/test_nope.py::test_x",
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pytest could not run the tests for tests/test_nope.py::test_x"),
        "{err}"
    );
}

/// `testgen fix PROJECT --json -vv EXTRA` with the stub as the configured
/// OpenAI provider.
fn fix_llm(project: &Path, stub: &Stub, extra: &[&str]) -> (Value, Output) {
    llm_run::testgen_llm("fix", project, stub, KEY, extra)
}

fn is_classify(r: &Recorded) -> bool {
    r.body["messages"][0]["content"]
        .as_str()
        .is_some_and(|s| s.contains("Decide whether the failure"))
}

fn is_repair(r: &Recorded) -> bool {
    r.body["messages"][0]["content"]
        .as_str()
        .is_some_and(|s| s.contains("Repair the test"))
}

/// The test a request is about (its first user message names it).
fn about(r: &Recorded) -> String {
    r.body["messages"][1]["content"]
        .as_str()
        .unwrap_or_default()
        .lines()
        .next()
        .unwrap_or_default()
        .to_string()
}

fn key_nowhere(root: &Path, outs: &[&Output], stub: &Stub) {
    llm_run::assert_key_nowhere(KEY, root, outs, Some(stub));
}

#[test]
fn with_the_llm_the_wrong_expected_value_is_fixed_and_only_it_asks_the_model() {
    let p = common::copy_to_temp(&common::fixture("fixer"));
    let broken = p.path().join(BROKEN);
    let before = std::fs::read_to_string(&broken).unwrap();
    let stub = Stub::start(|r, _| {
        let about_add_tax = about(r).contains("tests/test_broken.py::test_add_tax");
        if is_classify(r) && about_add_tax {
            // Prose and a fence around the object, as models answer.
            Reply::text("```json\n{\"classification\": \"test_mistake\", \"reason\": \"add_tax(10) with the default 20% rate is 12.0 as its docstring says; the test expects 11.0\"}\n```")
        } else if is_repair(r) && about_add_tax {
            Reply::text("The expected value was wrong:\n```python\ndef test_add_tax():\n    # 10 with 20% tax is 12.0.\n    assert add_tax(10) == 12.0\n```\n")
        } else {
            Reply::error(400, "this request was not expected", "unexpected")
        }
    });
    let (report, out) = fix_llm(p.path(), &stub, &[]);
    assert_eq!(out.status.code(), Some(1), "a code bug remains: {report:#}");
    assert_eq!(report["model"], "openai/gpt-4o-mini", "{report:#}");
    assert!(report["notes"].as_array().unwrap().is_empty(), "{report:#}");

    // The three certain fixes and the code bug made no call: the only two
    // requests are the classification and the repair of test_add_tax.
    let reqs = stub.recorded();
    assert_eq!(
        reqs.len(),
        2,
        "{:#?}",
        reqs.iter().map(about).collect::<Vec<_>>()
    );
    assert!(is_classify(&reqs[0]) && is_repair(&reqs[1]));
    for r in &reqs {
        assert!(
            about(r).contains("tests/test_broken.py::test_add_tax"),
            "{}",
            about(r)
        );
        assert_eq!(r.path, "/v1/chat/completions");
    }
    // The model saw the test, its error and the definition it imports.
    let shown = reqs[0].text();
    assert!(shown.contains("assert add_tax(10) == 11.0"), "{shown}");
    assert!(shown.contains("12.0 == 11.0"), "{shown}");
    assert!(shown.contains("def add_tax(amount, rate=0.2):"), "{shown}");
    assert_eq!(report["llm"]["calls"], 2, "{report:#}");
    assert_eq!(report["llm"]["prompt_tokens"], 200, "{report:#}");

    for (test, rule) in [
        ("tests/test_text.py", "rule:import"),
        (
            "tests/test_broken.py::test_slugify_joins_words",
            "rule:import",
        ),
        (
            "tests/test_broken.py::test_total_of_sample",
            "rule:missing_fixture",
        ),
        (
            "tests/test_broken.py::test_invalid_item_is_rejected",
            "rule:validation_status",
        ),
    ] {
        let r = record(&report, test);
        assert_eq!(r["outcome"], "fixed", "{r:#}");
        assert_eq!(r["attempts"].as_array().unwrap().len(), 1, "{r:#}");
        assert_eq!(r["attempts"][0]["by"], rule, "{r:#}");
    }
    let add_tax = record(&report, "tests/test_broken.py::test_add_tax");
    assert_eq!(add_tax["outcome"], "fixed", "{add_tax:#}");
    assert_eq!(add_tax["classification"], "test_mistake");
    assert_eq!(add_tax["classified_by"], "llm");
    assert!(
        add_tax["reason"].as_str().unwrap().contains("docstring"),
        "{add_tax:#}"
    );
    assert_eq!(add_tax["attempts"][0]["by"], "llm", "{add_tax:#}");
    assert_eq!(add_tax["attempts"][0]["result"], "passed", "{add_tax:#}");
    let last = record(&report, "tests/test_broken.py::test_last_price");
    assert_eq!(last["outcome"], "code_bug", "{last:#}");
    assert_eq!(last["classified_by"], "error_in_code", "{last:#}");
    assert_eq!(report["suspected_bugs"].as_array().unwrap().len(), 1);

    // Only the fixed functions changed; the code bug's test is as it was.
    let after = std::fs::read_to_string(&broken).unwrap();
    let fixed = [
        "test_slugify_joins_words",
        "test_total_of_sample",
        "test_invalid_item_is_rejected",
        "test_add_tax",
    ];
    assert_eq!(without(&after, &fixed), without(&before, &fixed));
    assert_eq!(
        function(&after, "test_last_price"),
        function(&before, "test_last_price")
    );
    assert_eq!(
        function(&after, "test_add_tax"),
        "def test_add_tax():\n    # 10 with 20% tax is 12.0.\n    assert add_tax(10) == 12.0"
    );
    let out_pytest = common::pytest(p.path(), &["-rf"]);
    let stdout = String::from_utf8_lossy(&out_pytest.stdout);
    assert!(stdout.contains("1 failed, 6 passed"), "{stdout}");
    // The answers are cached; nothing is left to ask on a second run.
    let cached = std::fs::read_dir(p.path().join(".testgen/llm-cache"))
        .unwrap()
        .count();
    assert_eq!(cached, 2);
    let (again, out2) = fix_llm(p.path(), &stub, &[]);
    assert_eq!(again["summary"]["fixed"], 0, "{again:#}");
    assert_eq!(stub.count(), 2, "the code bug is never sent to the model");
    key_nowhere(p.path(), &[&out, &out2], &stub);
}

#[test]
fn llm_repairs_that_fail_leave_the_file_byte_identical_and_each_attempt_hears_why() {
    let p = common::copy_to_temp(&common::fixture("fixer"));
    let broken = p.path().join(BROKEN);
    let original = std::fs::read(&broken).unwrap();
    // Every repair expects another wrong value: 13.0, 14.0, 15.0.
    let stub = Stub::start(|r, n| {
        if is_classify(r) {
            Reply::text("{\"classification\": \"test_mistake\", \"reason\": \"the expected value is wrong\"}")
        } else {
            Reply::text(&format!(
                "```python\ndef test_add_tax():\n    assert add_tax(10) == {}.0\n```",
                12 + n
            ))
        }
    });
    let (report, out) = fix_llm(
        p.path(),
        &stub,
        &["--test", "tests/test_broken.py::test_add_tax"],
    );
    assert_eq!(out.status.code(), Some(1), "{report:#}");
    let r = record(&report, "tests/test_broken.py::test_add_tax");
    assert_eq!(r["outcome"], "unfixed", "{r:#}");
    assert!(r["diff"].is_null());
    let attempts = r["attempts"].as_array().unwrap();
    assert_eq!(attempts.len(), 3, "{r:#}");
    for (i, a) in attempts.iter().enumerate() {
        assert_eq!(a["by"], "llm", "{r:#}");
        let want = format!("12.0 == {}.0", 13 + i);
        assert!(
            a["result"]
                .as_str()
                .unwrap()
                .contains("failed in run 1 of 3")
                && a["result"].as_str().unwrap().contains(&want),
            "{want}: {r:#}"
        );
    }
    assert_eq!(
        std::fs::read(&broken).unwrap(),
        original,
        "restored byte for byte"
    );

    let reqs = stub.recorded();
    assert_eq!(reqs.len(), 4, "a classification and three repairs");
    // The 2nd attempt continues the conversation with the 1st's answer and
    // why it failed; the 3rd asks for a different approach.
    let second = &reqs[2];
    let msgs = second.body["messages"].as_array().unwrap();
    assert_eq!(msgs[2]["role"], "assistant");
    assert!(msgs[2]["content"].as_str().unwrap().contains("== 13.0"));
    let last = msgs.last().unwrap()["content"].as_str().unwrap();
    assert!(
        last.contains("did not pass") && last.contains("12.0 == 13.0"),
        "{last}"
    );
    assert!(!last.contains("different approach"), "{last}");
    let third = reqs[3].body["messages"].as_array().unwrap();
    let last = third.last().unwrap()["content"].as_str().unwrap();
    assert!(
        last.contains("12.0 == 14.0") && last.contains("different approach"),
        "{last}"
    );
    key_nowhere(p.path(), &[&out], &stub);
}
