//! Cobertura parsing: testgen's streaming reader (`coverage::cobertura::read`)
//! against Python's xml.etree.ElementTree doing the same extraction
//! (bench/py_cobertura.py), on a coverage.py-shaped report over all of
//! Django's files (~13 MB, branch data included), measured in one run,
//! interleaved round by round so both see the same machine load.
//!
//!     cargo bench --bench cobertura       # Django fetched once into target/bench-cache/
//!     DJANGO_SRC=/path/to/django PYTHON=python3 cargo bench --bench cobertura
//!
//! Prints testgen's and each Python variant's median, and the ratio to the
//! faster Python variant; target: >= 10x. Figures: docs/performance.md.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use testgen::coverage::cobertura;

const ROUNDS: usize = 5;
const RUST_PER_ROUND: usize = 10;
const PYTHON_PER_ROUND: usize = 2;

fn main() {
    if !common::run_by_cargo_bench() {
        return;
    }
    let src = common::django_source();
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("coverage.xml");
    let files = common::write_coverage(&src, &xml);
    let size = std::fs::metadata(&xml).unwrap().len();
    println!(
        "coverage.xml: {:.1} MB, {files} files (synthetic, coverage.py's shape, over {})",
        size as f64 / 1e6,
        src.display()
    );
    assert!(size >= 5_000_000, "the report must be multi-MB");

    // Same answer on both sides before timing anything.
    let report = cobertura::read(&xml, &src).expect("parse");
    let lines: usize = report.files.iter().map(|f| f.lines.len()).sum();
    let covered: usize = report.files.iter().map(|f| f.covered_lines().count()).sum();
    let branch_lines: usize = report
        .files
        .iter()
        .flat_map(|f| &f.lines)
        .filter(|l| l.branches.is_some())
        .count();
    println!(
        "testgen: {} files, {lines} statement lines, {covered} covered, {branch_lines} with branches",
        report.files.len()
    );

    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
    let script = common::repo_root().join("bench/py_cobertura.py");
    let mut rust = Vec::new();
    let mut parse = Vec::new();
    let mut iterparse = Vec::new();
    for _ in 0..2 {
        std::hint::black_box(cobertura::read(&xml, &src).unwrap());
    }
    for round in 0..ROUNDS {
        for _ in 0..RUST_PER_ROUND {
            let t = Instant::now();
            let r = cobertura::read(&xml, &src).unwrap();
            rust.push(t.elapsed());
            std::hint::black_box(r);
        }
        let out = Command::new(&python)
            .arg(&script)
            .arg(&xml)
            .arg(&src)
            .arg(PYTHON_PER_ROUND.to_string())
            .output()
            .expect("running bench/py_cobertura.py");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if round == 0 {
            let same = v["files"] == report.files.len()
                && v["lines"] == lines
                && v["covered"] == covered
                && v["branch_lines"] == branch_lines;
            assert!(same, "Python extracted something else: {v}");
            println!("python: same files, lines, covered lines and branch lines");
        }
        let ms = |key: &str| -> Vec<Duration> {
            v[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| Duration::from_secs_f64(x.as_f64().unwrap() / 1e3))
                .collect()
        };
        parse.extend(ms("parse_ms"));
        iterparse.extend(ms("iterparse_ms"));
    }
    common::report("cobertura_testgen", &mut rust);
    common::report("cobertura_python_etree_parse", &mut parse);
    common::report("cobertura_python_etree_iterparse", &mut iterparse);
    let rust_ms = common::quantile_ms(&rust, 0.5);
    let python_ms = common::quantile_ms(&parse, 0.5).min(common::quantile_ms(&iterparse, 0.5));
    println!(
        "cobertura_ratio={:.1} (median of the faster Python variant / median of testgen; target >= 10)",
        python_ms / rust_ms
    );
}
