//! Issue 12's benchmark of the LLM engine against the local stub (the only
//! fake: an OpenAI-compatible server on 127.0.0.1 answering after a fixed
//! delay). Three figures:
//!
//! 1. wall time of the engine on 40 targets (4 modules of 10 functions)
//!    with the stub answering after 1 s, at llm.maxConcurrency 8 vs 1
//!    (target: >= 6x faster);
//! 2. prompt tokens sent per target vs sending the target's whole file with
//!    the same system prompt (what the reference does; target: <= 1/3);
//! 3. calls and tokens of the hybrid (`--engine auto`: explore first) vs
//!    the LLM alone on the plainlib and flaskapp fixtures, the real binary
//!    and real pytest, the stub answering instantly.
//!
//!     cargo bench --bench llm
//!
//! Figures: docs/performance.md.

mod common;

#[path = "../tests/common/llm_stub.rs"]
#[allow(dead_code)]
mod llm_stub;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use llm_stub::{Reply, Stub};
use testgen::config::{LlmConfig, Provider};
use testgen::generate::engine::{Engine, Job, Limits};
use testgen::generate::llm::client::Client;
use testgen::generate::llm::context::tokens;
use testgen::generate::llm::settings::Settings;
use testgen::generate::llm::LlmEngine;
use testgen::generate::targets::{Target, TargetKind};
use testgen::index::Index;

const MODULES: usize = 4;
const PER_MODULE: usize = 10;

fn main() {
    if !common::run_by_cargo_bench() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let files = synthetic_project(dir.path());
    let answer = "```python\ndef test_x():\n    assert True\n```";
    let stub = Stub::start(move |_, _| Reply::text(answer).after(Duration::from_secs(1)));
    let mut walls = Vec::new();
    for concurrency in [8u32, 1] {
        let before = stub.count();
        let t = run_engine(dir.path(), &stub, concurrency);
        println!(
            "40 targets, stub delay 1 s, concurrency {concurrency}: {:.2} s, {} requests",
            t.as_secs_f64(),
            stub.count() - before
        );
        walls.push(t);
    }
    println!(
        "speed-up of concurrency 8 over 1: {:.1}x (target >= 6x)",
        walls[1].as_secs_f64() / walls[0].as_secs_f64()
    );
    token_figures(&stub, &files);
    hybrid_figures();
}

/// `pkg/mod{m}.py`, each with 10 functions of some branches, and the
/// files' texts.
fn synthetic_project(root: &Path) -> Vec<(String, String)> {
    std::fs::create_dir_all(root.join("pkg")).unwrap();
    std::fs::write(root.join("pkg/__init__.py"), "").unwrap();
    std::fs::write(root.join("pyproject.toml"), "[project]\nname = \"pkg\"\n").unwrap();
    let mut out = Vec::new();
    for m in 0..MODULES {
        let mut text = String::from(
            "\"\"\"A synthetic module.\"\"\"\n\nimport math\nfrom typing import Optional\n\n",
        );
        for f in 0..PER_MODULE {
            text.push_str(&format!(
                "\ndef func_{m}_{f}(x: int, y: Optional[int] = None) -> float:\n    \"\"\"Combines x and y ({f}).\"\"\"\n    if x < 0:\n        raise ValueError(\"x must not be negative\")\n    total = 0.0\n    for i in range(x):\n        if i % {k} == 0:\n            total += math.sqrt(i)\n        elif y is not None and i > y:\n            total -= y\n        else:\n            total += 1\n    if total > 100:\n        return round(total / {k}, 2)\n    return total\n\n",
                k = f + 2
            ));
        }
        let path = format!("pkg/mod{m}.py");
        std::fs::write(root.join(&path), &text).unwrap();
        out.push((path, text));
    }
    out
}

fn settings(root: &Path, stub: &Stub, concurrency: u32) -> Settings {
    let c = LlmConfig {
        provider: Some(Provider::OpenaiCompatible),
        model: Some("bench-model".into()),
        base_url: Some(stub.url("/v1")),
        max_concurrency: concurrency,
        cache: false,
        ..LlmConfig::default()
    };
    Settings::resolve(&c, root, |_| None).unwrap()
}

fn targets(root: &Path, index: &Index) -> Vec<Target> {
    let mut out = Vec::new();
    for (path, file) in index.snapshot() {
        if !path.as_str().starts_with("pkg/mod") {
            continue;
        }
        let module = path.as_str().trim_end_matches(".py").replace('/', ".");
        for f in &file.functions {
            out.push(Target {
                path: path.clone(),
                abs: root.join(path.as_str()),
                module: module.clone(),
                qualname: f.qualname.clone(),
                kind: TargetKind::Function,
                line: f.line,
                end_line: f.end_line,
                missing_lines: (f.body_line..=f.end_line).collect(),
                framework: None,
            });
        }
    }
    out
}

fn run_engine(root: &Path, stub: &Stub, concurrency: u32) -> Duration {
    let project = testgen::workspace::discover(root).unwrap();
    let index = Index::build(&project);
    let targets = targets(&project.root, &index);
    assert_eq!(targets.len(), MODULES * PER_MODULE);
    let client = Client::new(settings(&project.root, stub, concurrency)).unwrap();
    let engine = LlmEngine::with_client(client, &project.root).unwrap();
    let limits = Limits::from_config(&testgen::config::Config::default());
    let cancel = tokio_util::sync::CancellationToken::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let started = Instant::now();
    let p = rt
        .block_on(engine.propose(Job {
            project: &project,
            index: &index,
            python: PathBuf::from("python3"),
            import_roots: vec![project.root.clone()],
            targets,
            limits: &limits,
            cancel: &cancel,
        }))
        .unwrap();
    let took = started.elapsed();
    assert_eq!(p.tests.len(), MODULES * PER_MODULE);
    took
}

/// Prompt tokens of the requests the engine sent vs each target's whole
/// file with the same system prompt.
fn token_figures(stub: &Stub, files: &[(String, String)]) {
    let reqs = stub.recorded();
    let (mut sent, mut whole, mut context, mut file_only) = (0u64, 0u64, 0u64, 0u64);
    for r in &reqs {
        let system = r.body["messages"][0]["content"]
            .as_str()
            .unwrap_or_default();
        let user = r.body["messages"][1]["content"]
            .as_str()
            .unwrap_or_default();
        sent += tokens(system) + tokens(user);
        let file = files
            .iter()
            .find(|(p, _)| user.contains(p.as_str()))
            .map(|(_, t)| t.as_str())
            .unwrap_or_default();
        whole += tokens(system) + tokens(file);
        context += tokens(user);
        file_only += tokens(file);
    }
    let n = reqs.len().max(1) as f64;
    println!(
        "prompt tokens per target: {:.0} sent vs {:.0} with the whole file: {:.2} of it (target <= 0.33)",
        sent as f64 / n,
        whole as f64 / n,
        sent as f64 / whole as f64
    );
    println!(
        "per-target context alone (the user message vs the whole file, the system prompt being the same in both): {:.0} vs {:.0}: {:.2} of it",
        context as f64 / n,
        file_only as f64 / n,
        context as f64 / file_only as f64
    );
}

/// The binary on a fixture with `--engine`, the stub answering at once
/// with a test that reaches nothing (so no repair round adds calls).
fn hybrid_figures() {
    let python = common::repo_root().join(".venv-test/bin/python");
    for fixture in ["plainlib", "flaskapp"] {
        for engine in ["llm", "auto"] {
            let stub = Stub::start(|_, _| {
                Reply::text("```python\ndef test_nothing():\n    assert True\n```")
            });
            let dir = tempfile::tempdir().unwrap();
            copy_dir(
                &common::repo_root().join("tests/fixtures").join(fixture),
                dir.path(),
            );
            let started = Instant::now();
            let out = Command::new(env!("CARGO_BIN_EXE_testgen"))
                .args([
                    "generate",
                    dir.path().to_str().unwrap(),
                    "--python",
                    python.to_str().unwrap(),
                    "--json",
                    "--engine",
                    engine,
                ])
                .env("TESTGEN_LLM_PROVIDER", "openai-compatible")
                .env("TESTGEN_LLM_MODEL", "bench-model")
                .env("OPENAI_BASE_URL", stub.url("/v1"))
                .output()
                .unwrap();
            let report: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
            let u = &report["llm"];
            println!(
                "{fixture} --engine {engine}: {} targets, {} LLM calls, {} prompt tokens, {} tests written, line coverage {} -> {} ({:.1} s)",
                report["targets"].as_array().map_or(0, |t| t.len()),
                u["calls"],
                u["prompt_tokens"],
                report["tests_written"],
                report["coverage_before"]["line_percent"],
                report["coverage_after"]["line_percent"],
                started.elapsed().as_secs_f64()
            );
        }
    }
}

fn copy_dir(src: &Path, dst: &Path) {
    for e in std::fs::read_dir(src).unwrap().flatten() {
        let name = e.file_name();
        if matches!(
            name.to_str(),
            Some(".venv" | "__pycache__" | ".pytest_cache" | ".testgen")
        ) {
            continue;
        }
        let (s, d) = (e.path(), dst.join(&name));
        if e.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&d).unwrap();
            copy_dir(&s, &d);
        } else {
            std::fs::copy(&s, &d).unwrap();
        }
    }
}
