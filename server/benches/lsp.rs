//! Language-server latency on a large workspace: Django's source (sdist from
//! PyPI) plus a synthetic coverage.xml and a 2,000-line module, driven over
//! stdio by the same client the end-to-end tests use.
//!
//!     cargo bench --bench lsp            # downloads Django once into target/
//!     DJANGO_SRC=/path/to/django cargo bench --bench lsp
//!
//! Prints: initial index time (initialize → indexing progress end, with
//! coverage loaded), codeLens p50/p99 on the 2,000-line file, and
//! didChange → refreshed diagnostics p50/p99.

#[path = "../tests/common/lsp_client.rs"]
mod lsp_client;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use lsp_client::{file_uri, LspClient};
use serde_json::json;

fn main() {
    let src = django_source();
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("ws");
    copy_dir(&src, &root);
    let big = root.join("django/big_module.py");
    std::fs::write(&big, big_module()).unwrap();
    let files = write_coverage(&root);
    println!(
        "workspace: {} ({} Python files in coverage.xml)",
        root.display(),
        files
    );

    let mut c = LspClient::start_quiet();
    c.config = json!({"runOnSave": false});
    let t = Instant::now();
    c.initialize(&root, json!({}));
    c.wait_for(0, "indexing end", |m| {
        m["method"] == "$/progress" && m["params"]["value"]["kind"] == "end"
    });
    let index_ms = t.elapsed().as_secs_f64() * 1e3;
    println!("lsp_initial_index_ms={index_ms:.0}");

    let uri = file_uri(&big);
    let text = std::fs::read_to_string(&big).unwrap();
    c.notify(
        "textDocument/didOpen",
        json!({"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}),
    );
    c.diagnostics(0, &uri, |d| !d.is_empty());

    let mut lens = Vec::new();
    for _ in 0..300 {
        let t = Instant::now();
        let r = c
            .request(
                "textDocument/codeLens",
                json!({"textDocument": {"uri": uri}}),
            )
            .unwrap();
        lens.push(t.elapsed());
        assert!(r.as_array().unwrap().len() >= 100);
    }
    report("codelens_2000_lines", &mut lens);

    let mut change = Vec::new();
    for v in 2..=201 {
        let from = c.seen.len();
        let t = Instant::now();
        c.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": v},
                   "contentChanges": [{"range": {"start": {"line": 0, "character": 0},
                                                 "end": {"line": 0, "character": 0}},
                                       "text": "# edit\n"}]}),
        );
        c.wait_for(from, "diagnostics after the edit", |m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == v
        });
        change.push(t.elapsed());
    }
    report("didchange_to_diagnostics", &mut change);
    c.shutdown();
}

fn report(name: &str, d: &mut [Duration]) {
    d.sort();
    let p = |q: f64| d[((d.len() as f64 - 1.0) * q).round() as usize].as_secs_f64() * 1e3;
    println!(
        "{name} n={} p50_ms={:.2} p99_ms={:.2}",
        d.len(),
        p(0.5),
        p(0.99)
    );
}

/// 100 functions of 20 lines: with branches, so coverage is partial.
fn big_module() -> String {
    let mut s = String::from("\"\"\"A large module for the LSP benchmark.\"\"\"\n\n");
    let mut n = 0;
    while s.lines().count() < 1990 {
        write!(
            s,
            "def function_{n}(a, b=1):\n    \"\"\"Doc.\"\"\"\n    total = 0\n    for i in range(a):\n        if i % 2:\n            total += i\n        else:\n            total -= b\n    if total > 10:\n        return total\n    elif total < -10:\n        return -total\n    values = [total, a, b]\n    values.sort()\n    result = sum(values)\n    if result:\n        result += 1\n    return result\n\n\n"
        )
        .unwrap();
        n += 1;
    }
    s
}

/// A coverage.py-shaped Cobertura report for every Python file: every
/// non-blank, non-comment line counts as a statement, two of three covered.
fn write_coverage(root: &Path) -> usize {
    let mut xml = format!(
        "<?xml version=\"1.0\" ?>\n<coverage version=\"7.6.10\" line-rate=\"0.6\" branch-rate=\"0\" branches-covered=\"0\" branches-valid=\"0\" complexity=\"0\" lines-covered=\"0\" lines-valid=\"0\" timestamp=\"0\">\n<sources><source>{}</source></sources>\n<packages><package name=\".\" line-rate=\"0.6\" branch-rate=\"0\" complexity=\"0\"><classes>\n",
        root.display()
    );
    let mut n = 0;
    for f in python_files(root) {
        let rel = f.strip_prefix(root).unwrap().display().to_string();
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        writeln!(xml, "<class name=\"{rel}\" filename=\"{rel}\" complexity=\"0\" line-rate=\"0.6\" branch-rate=\"0\"><methods/><lines>").unwrap();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') || t.starts_with(')') || t.starts_with(']') {
                continue;
            }
            let hits = u32::from(i % 3 != 0);
            writeln!(xml, "<line number=\"{}\" hits=\"{hits}\"/>", i + 1).unwrap();
        }
        xml.push_str("</lines></class>\n");
        n += 1;
    }
    xml.push_str("</classes></package></packages></coverage>\n");
    std::fs::write(root.join("coverage.xml"), xml).unwrap();
    n
}

fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "py") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

fn copy_dir(src: &Path, dst: &Path) {
    let ok = Command::new("cp")
        .arg("-r")
        .arg(src)
        .arg(dst)
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Django's source tree: $DJANGO_SRC, else the sdist from PyPI, unpacked
/// once under target/.
fn django_source() -> PathBuf {
    if let Some(p) = std::env::var_os("DJANGO_SRC") {
        return PathBuf::from(p);
    }
    let cache = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/bench-cache");
    let dir = cache.join("Django-5.1.4");
    if !dir.exists() {
        std::fs::create_dir_all(&cache).unwrap();
        let ok = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                "django==5.1.4",
                "-d",
            ])
            .arg(&cache)
            .status()
            .unwrap();
        assert!(ok.success(), "pip download django");
        let ok = Command::new("tar")
            .arg("xzf")
            .arg(cache.join("Django-5.1.4.tar.gz"))
            .arg("-C")
            .arg(&cache)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    dir
}
