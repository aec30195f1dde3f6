//! `testgen fix` end to end: the real binary on copies of the `fixer`
//! fixture (deliberately broken tests), real pytest, no model configured.

mod common;

use std::path::Path;

use serde_json::Value;

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
