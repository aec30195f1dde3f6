//! The readers of what other programs write never panic, abort or grow
//! without bound, whatever the bytes: the Cobertura reader (coverage.py),
//! JUnit XML (pytest), the harness's answers (the explore protocol's
//! decoder) and the index (Python source). Inputs are random bytes,
//! truncations of real-shaped documents and mutations of them (bytes
//! flipped, the format's own tokens inserted, ranges dropped or repeated),
//! from a fixed seed so a failure reproduces. The JSON-RPC transport has
//! the same test beside it (src/lsp/transport_fuzz.rs: it is private).
//!
//! CI runs a few thousand cases of each. The benchmark run (docs/performance.md):
//! `TESTGEN_FUZZ_CASES=1000000 cargo test --release --test parsers_fuzz -- --ignored --nocapture`.

use std::path::Path;
use std::time::Instant;

use testgen::generate::explore::protocol::{ExploreAnswer, FindAppAnswer, Ready};

/// Cases of each reader in CI.
const CI_CASES: u64 = 3000;
/// The peak memory the benchmark run may reach (MiB): bounded inputs must
/// keep it flat, whatever their number.
const MAX_RSS_MB: u64 = 512;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

/// One input: random bytes, a truncated seed, or a mutated seed.
fn input(rng: &mut Rng, seeds: &[&str], tokens: &[&str], case: u64) -> Vec<u8> {
    let seed = seeds[rng.below(seeds.len())].as_bytes();
    match case % 5 {
        0 => (0..rng.below(600)).map(|_| rng.next() as u8).collect(),
        1 => seed[..rng.below(seed.len() + 1)].to_vec(),
        _ => {
            let mut v = seed.to_vec();
            for _ in 0..=rng.below(8) {
                let pos = rng.below(v.len() + 1);
                match rng.below(5) {
                    0 if pos < v.len() => v[pos] = rng.next() as u8,
                    1 | 2 => {
                        let t = tokens[rng.below(tokens.len())].as_bytes();
                        v.splice(pos..pos, t.iter().copied());
                    }
                    3 => {
                        let end = (pos + rng.below(40)).min(v.len());
                        v.drain(pos..end);
                    }
                    _ => {
                        // A range repeated: deep nesting, long lists.
                        let end = (pos + rng.below(60)).min(v.len());
                        let piece = v[pos..end].to_vec();
                        for _ in 0..rng.below(20) {
                            v.splice(pos..pos, piece.iter().copied());
                        }
                    }
                }
            }
            v
        }
    }
}

/// The process's peak resident memory so far, MiB.
fn peak_rss_mb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Feeds `cases` inputs to `check`; prints the rate and peak memory.
fn fuzz(
    name: &str,
    seed: u64,
    cases: u64,
    seeds: &[&str],
    tokens: &[&str],
    mut check: impl FnMut(&[u8]),
) {
    let mut rng = Rng(seed);
    let start = Instant::now();
    // TESTGEN_FUZZ_SAVE=DIR keeps each input in DIR/NAME before it is
    // read: after an abort (run under `ulimit -v`) it holds the culprit.
    let save = std::env::var_os("TESTGEN_FUZZ_SAVE").map(|d| Path::new(&d).join(name));
    for case in 0..cases {
        let bytes = input(&mut rng, seeds, tokens, case);
        if let Some(path) = &save {
            std::fs::write(path, &bytes).unwrap();
        }
        check(&bytes);
    }
    let secs = start.elapsed().as_secs_f64();
    let rss = peak_rss_mb();
    println!(
        "{name}: {cases} inputs in {secs:.1} s ({:.0}/s), peak RSS {rss} MiB",
        cases as f64 / secs.max(1e-9)
    );
    assert!(rss < MAX_RSS_MB, "{name}: peak RSS {rss} MiB");
}

const XML_TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "\"",
    "=",
    "&amp;",
    "&#0;",
    "&#x110000;",
    "&bogus;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?",
    "?>",
    "<!DOCTYPE x [<!ENTITY a \"aaaaaaaa\">]>",
    "\n",
    "\u{fffd}",
    "\u{0}",
    "99999999999999999999",
    "-1",
];

const COBERTURA: &str = r#"<?xml version="1.0" ?>
<coverage version="7.6.1" line-rate="0.5" branch-rate="0.5"><sources><source>/p</source><source>src</source></sources>
<packages><package name="a"><classes><class name="m.py" filename="a/m.py"><methods/><lines>
<line number="1" hits="1"/><line number="2" hits="0" branch="true" condition-coverage="50% (1/2)" missing-branches="3"/>
<line number="4294967295" hits="18446744073709551616"/></lines></class>
<class name="n.py" filename="../n.py"><lines><line number="0" hits="x"/></lines></class></classes></package></packages></coverage>"#;

fn cobertura(cases: u64) {
    let root = Path::new("/p");
    fuzz(
        "cobertura",
        0xD1B5_4A32_D192_ED03,
        cases,
        &[COBERTURA],
        XML_TOKENS,
        |bytes| {
            if let Err(e) = testgen::coverage::cobertura::parse(bytes, root) {
                // Presentable, with a position inside the input.
                let msg = e.at(Path::new("f.xml"), bytes).to_string();
                assert!(msg.starts_with("f.xml"), "{msg}");
            }
        },
    );
}

const JUNIT: &str = r#"<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="4" time="0.05">
<testcase classname="tests.test_a" name="test_ok" file="tests/test_a.py" line="3" time="0.001"/>
<testcase classname="tests.test_a" name="test_fail[1-x]" file="tests/test_a.py" line="7" time="0.002"><failure message="assert 1 == 2">def test_fail():
&gt;       assert 1 == 2
E       assert 1 == 2</failure><system-out>out</system-out></testcase>
<testcase classname="tests.test_a.TestC" name="test_err" time="0"><error message="fixture 'x' not found">E  fixture</error></testcase>
<testcase classname="tests.test_a" name="test_skip" time="0"><skipped type="pytest.skip" message="no">tests/test_a.py:9: no</skipped></testcase>
</testsuite></testsuites>"#;

fn junit(cases: u64) {
    fuzz(
        "junit",
        0x9E37_79B9_7F4A_7C15,
        cases,
        &[JUNIT],
        XML_TOKENS,
        |bytes| {
            if let Ok(tests) = testgen::runner::junit::parse(bytes) {
                for t in &tests {
                    // Whatever the file said, a result is presentable.
                    let _ = (t.reason(), &t.nodeid);
                }
            }
        },
    );
}

const ANSWERS: &[&str] = &[
    r#"{"ready": true, "python": "3.11.7", "harness": 9}"#,
    r#"{"id": 3, "status": "ok", "tests": [{"name": "test_f_returns_2", "source": "def test_f_returns_2():\n    assert f(1) == 2\n", "lines": [1, 2, 3], "imports": ["from m import f"]}], "coverage": {"covered": [1, 2], "total": 4}}"#,
    r#"{"id": "7", "status": "skipped", "reason": "cannot import m: at import time it tried to open a socket"}"#,
    r#"{"id": null, "status": "error", "reason": "Traceback: KeyError", "bugs": [{"target": "m.f", "exception": "ZeroDivisionError"}]}"#,
    r#"{"id": 4, "status": "ok", "app": {"module": "app", "name": "app", "framework": "flask"}}"#,
];

const JSON_TOKENS: &[&str] = &[
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "\"",
    "\\",
    "\\u0000",
    "\\ud800",
    "null",
    "true",
    "1e999",
    "-0",
    "18446744073709551616",
    "\"id\":",
    "\"status\":",
    "\n",
    "\u{fffd}",
];

fn answers(cases: u64) {
    fuzz(
        "harness protocol",
        0x2545_F491_4F6C_DD1D,
        cases,
        ANSWERS,
        JSON_TOKENS,
        |bytes| {
            // The harness's reader takes one line as UTF-8 text.
            let line = String::from_utf8_lossy(bytes);
            let _ = serde_json::from_str::<Ready>(&line);
            let _ = serde_json::from_str::<ExploreAnswer>(&line);
            let _ = serde_json::from_str::<FindAppAnswer>(&line);
        },
    );
}

const PYTHON: &[&str] = &[
    "def f(a, b=1, *c, d, **e):\n    '''doc'''\n    return a\n",
    "class C(B, metaclass=M):\n    @property\n    def p(self):\n        return 1\n",
    "@app.route('/x/<int:id>', methods=['GET'])\ndef view(id):\n    return str(id)\n",
    "from django.urls import path\nurlpatterns = [path('a/', views.a), path('b/<int:pk>/', include('x.urls'))]\n",
    "async def g():\n    async with x as y:\n        await y\n    match z:\n        case [1, *r]:\n            pass\n",
    "x = f'{a!r:>{w}}' + b'\\xff' + r'\\d'\n",
];

const PY_TOKENS: &[&str] = &[
    "(", ")", "[", "]", "{", "}", ":", "@", "'", "\"", "\"\"\"", "\\", "\n", "\t", " ", "#", "=",
    "*", "def ", "class ", "lambda ", "async ", "await ", "f'{", "}'", "\r", "\u{fffd}",
];

fn index(cases: u64) {
    let path = testgen::index::model::RelPath::new("fuzz.py");
    fuzz(
        "index",
        0x94D0_49BB_1331_11EB,
        cases,
        PYTHON,
        PY_TOKENS,
        |bytes| {
            let fi = testgen::index::index_source(&path, bytes);
            for f in &fi.functions {
                assert!(f.line >= 1 && f.end_line >= f.line, "bad range");
            }
        },
    );
}

#[test]
fn cobertura_reader_survives_arbitrary_input() {
    cobertura(CI_CASES);
}

#[test]
fn junit_reader_survives_arbitrary_input() {
    junit(CI_CASES);
}

#[test]
fn harness_answers_decoder_survives_arbitrary_input() {
    answers(CI_CASES);
}

#[test]
fn index_survives_arbitrary_input() {
    // The parser is the costliest reader: fewer cases in CI.
    index(CI_CASES / 3);
}

/// The benchmark run's find: Django URL lists that mention each other
/// expanded exponentially within the include depth (`a = [a, a, ...]`), a
/// few lines that took 21 GB. 2^17 routes without a budget; bounded with it.
#[test]
fn django_url_lists_that_mention_each_other_stay_bounded() {
    let src = "from django.urls import path\nurlpatterns = [a, a]\na = [b, b, path('x/', v)]\nb = [a, a, path('y/', v)]\n";
    let path = testgen::index::model::RelPath::new("urls.py");
    let fi = testgen::index::index_source(&path, src.as_bytes());
    assert!(!fi.routes.is_empty());
    assert!(fi.routes.len() <= 100_000, "{} routes", fi.routes.len());
}

/// The benchmark run: TESTGEN_FUZZ_CASES of each (default a million).
#[test]
#[ignore = "benchmark: minutes; see docs/performance.md"]
fn a_million_inputs_each() {
    let cases = std::env::var("TESTGEN_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    cobertura(cases);
    junit(cases);
    answers(cases);
    index(cases);
}
