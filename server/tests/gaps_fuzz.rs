//! The Cobertura reader never panics: random bytes, and truncations and
//! mutations of a real-shaped report. TESTGEN_FUZZ_SECS seconds (default 10).

use std::path::Path;
use std::time::{Duration, Instant};

use testgen::coverage::cobertura::parse;

#[path = "common/rng.rs"]
mod rng;
use rng::Rng;

const SEED: &str = r#"<?xml version="1.0" ?>
<coverage version="7.6.1" line-rate="0.5"><sources><source>/p</source><source>src</source></sources>
<packages><package name="a"><classes><class name="m.py" filename="a/m.py"><methods/><lines>
<line number="1" hits="1"/><line number="2" hits="0" branch="true" condition-coverage="50% (1/2)" missing-branches="3"/>
<line number="4294967295" hits="18446744073709551616"/></lines></class>
<class name="n.py" filename="../n.py"><lines><line number="0" hits="x"/></lines></class></classes></package></packages></coverage>"#;

const TOKENS: &[&str] = &[
    "<",
    ">",
    "/>",
    "</",
    "\"",
    "=",
    "&amp;",
    "&#0;",
    "<![CDATA[",
    "]]>",
    "<!--",
    "-->",
    "<?",
    "?>",
    "\n",
    "\u{fffd}",
];

#[test]
fn reader_survives_random_and_mutated_xml() {
    let secs: u64 = std::env::var("TESTGEN_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let root = Path::new("/p");
    let mut runs = 0u64;
    while Instant::now() < deadline {
        let input: Vec<u8> = match runs % 4 {
            0 => (0..rng.below(400)).map(|_| rng.next() as u8).collect(),
            1 => SEED.as_bytes()[..rng.below(SEED.len())].to_vec(),
            _ => {
                let mut v = SEED.as_bytes().to_vec();
                for _ in 0..=rng.below(6) {
                    let pos = rng.below(v.len());
                    match rng.below(3) {
                        0 => v[pos] = rng.next() as u8,
                        1 => {
                            let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                            v.splice(pos..pos, t.iter().copied());
                        }
                        _ => {
                            let end = (pos + rng.below(20)).min(v.len());
                            v.drain(pos..end);
                        }
                    }
                }
                v
            }
        };
        if let Err(e) = parse(&input, root) {
            // The error must be presentable, with a position inside the input.
            let msg = e.at(Path::new("f.xml"), &input).to_string();
            assert!(msg.starts_with("f.xml"), "{msg}");
        }
        runs += 1;
    }
    assert!(runs > 100, "only {runs} inputs");
}
