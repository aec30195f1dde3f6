//! The JSON-RPC transport never panics and ends on any byte stream a
//! client could send: random bytes, and real-shaped frames with mutated
//! headers and bodies (lengths too long, too short, huge, negative;
//! bodies that are not JSON, not objects, not JSON-RPC). The sibling of
//! tests/parsers_fuzz.rs, here because the transport is private.
//!
//! CI runs a few thousand streams; the benchmark run (docs/performance.md):
//! `TESTGEN_FUZZ_CASES=1000000 cargo test --release --lib transport_fuzz -- --ignored --nocapture`.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::transport::pump_input;

/// A small limit, so oversized frames are exercised and skipped unread.
const MAX_BODY: usize = 4096;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const BODIES: &[&str] = &[
    r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
    r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///a.py","languageId":"python","version":1,"text":"def f():\n    pass\n"}}}"#,
    r#"{"jsonrpc":"2.0","id":"x","result":null}"#,
    r#"{"jsonrpc":"2.0","id":2,"method":"$/cancelRequest","params":{"id":1}}"#,
    r#"{"jsonrpc":"2.0","id":3,"method":"shutdown"}"#,
    r#"[1,2]"#,
    r#"{"jsonrpc":"1.0","id":{}}"#,
];

const TOKENS: &[&str] = &[
    "Content-Length: ",
    "Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n",
    "\r\n",
    "\n",
    ":",
    "{",
    "}",
    "\"",
    "\\",
    "-1",
    "4097",
    "99999999999999999999",
    "\u{fffd}",
];

/// One client stream: frames of real-shaped bodies, then mutations.
fn stream(rng: &mut Rng, case: u64) -> Vec<u8> {
    if case.is_multiple_of(5) {
        return (0..rng.below(600)).map(|_| rng.next() as u8).collect();
    }
    let mut v = Vec::new();
    for _ in 0..=rng.below(4) {
        let body = BODIES[rng.below(BODIES.len())].as_bytes();
        let len = match rng.below(8) {
            0 => rng.below(body.len() * 2),
            1 => MAX_BODY + rng.below(100),
            _ => body.len(),
        };
        v.extend_from_slice(format!("Content-Length: {len}\r\n\r\n").as_bytes());
        v.extend_from_slice(body);
    }
    for _ in 0..rng.below(6) {
        let pos = rng.below(v.len() + 1);
        match rng.below(3) {
            0 if pos < v.len() => v[pos] = rng.next() as u8,
            1 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(pos..pos, t.iter().copied());
            }
            _ => {
                let end = (pos + rng.below(30)).min(v.len());
                v.drain(pos..end);
            }
        }
    }
    v
}

/// Pumps one stream to its end; the pump must return (no hang).
async fn pump(bytes: &[u8]) {
    let (errors, mut answers) = tokio::sync::mpsc::unbounded_channel();
    let (ended, _) = tokio::sync::oneshot::channel();
    pump_input(
        bytes,
        tokio::io::sink(),
        errors,
        ended,
        MAX_BODY,
        Arc::new(AtomicBool::new(false)),
    )
    .await;
    // Every answer the pump made is a JSON-RPC message.
    while let Ok(a) = answers.try_recv() {
        let v: serde_json::Value = serde_json::from_slice(&a).expect("an answer is JSON");
        assert_eq!(v["jsonrpc"], "2.0");
    }
}

fn run(cases: u64) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut rng = Rng(0xA076_1D64_78BD_642F);
    let start = std::time::Instant::now();
    rt.block_on(async {
        for case in 0..cases {
            let bytes = stream(&mut rng, case);
            tokio::time::timeout(std::time::Duration::from_secs(5), pump(&bytes))
                .await
                .unwrap_or_else(|_| panic!("the pump hung on {bytes:?}"));
        }
    });
    let secs = start.elapsed().as_secs_f64();
    let rss = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    println!(
        "transport: {cases} streams in {secs:.1} s ({:.0}/s), peak RSS {rss}",
        cases as f64 / secs.max(1e-9)
    );
}

#[test]
fn the_transport_survives_arbitrary_streams() {
    run(3000);
}

#[test]
#[ignore = "benchmark: see docs/performance.md"]
fn a_million_streams() {
    let cases = std::env::var("TESTGEN_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    run(cases);
}
