//! Renderings of a [`RunReport`](super::RunReport), each for one reader:
//! `summary` (the job summary / PR comment), `html` (report.html, one
//! self-contained page), `sarif` (code scanning), `annotations` (GitHub
//! workflow commands), `terminal` (the command line).

pub mod annotations;
pub mod html;
pub mod sarif;
pub mod summary;
pub mod terminal;

use super::report::{GeneratedFile, GeneratedTest, RemainingGap};
use crate::generate::baseline::Baseline;
use crate::generate::output::{Manifest, DIR};
use crate::generate::NotTargeted;
use crate::workspace::Project;

/// The tests under tests/generated/, from its manifest.
pub fn generated_tests(project: &Project) -> Vec<GeneratedFile> {
    let dir = project.python_root.join(DIR);
    let manifest = Manifest::load(&dir.join("_manifest.json"));
    let mut files: Vec<GeneratedFile> = Vec::new();
    for e in manifest.tests {
        // Relative to the project root, as the manifest has it.
        let path = e.file;
        // Only tests whose file is still there (the user may delete some).
        if !project.root.join(&path).is_file() {
            continue;
        }
        let test = GeneratedTest {
            name: e.test,
            target: e.target,
            engine: e.engine,
        };
        match files.iter_mut().find(|f| f.path == path) {
            Some(f) => f.tests.push(test),
            None => files.push(GeneratedFile {
                path,
                tests: vec![test],
            }),
        }
    }
    files
}

/// The functions still missing statements, most missing first, with the
/// reason a round gave for skipping them.
pub fn remaining_gaps(after: &Baseline, skipped: &[Vec<NotTargeted>]) -> Vec<RemainingGap> {
    let reasons = super::report::merge_skipped(skipped);
    let mut gaps: Vec<RemainingGap> = after
        .gaps
        .functions
        .iter()
        .filter(|f| !f.missing_lines.is_empty())
        .filter(|f| {
            !crate::workspace::is_test_file(&f.path)
                && !crate::generate::targets::is_generated(&f.path)
        })
        .map(|f| {
            let target = format!("{}::{}", f.path, f.qualname);
            RemainingGap {
                reason: reasons
                    .iter()
                    .find(|s| s.target == target)
                    .map(|s| s.reason.clone()),
                target,
                file: f.path.to_string(),
                line: f.line,
                missing_lines: f.missing_lines.clone(),
                coverage: f.coverage_percentage,
            }
        })
        .collect();
    gaps.sort_by(|a, b| {
        b.missing_lines
            .len()
            .cmp(&a.missing_lines.len())
            .then_with(|| a.target.cmp(&b.target))
    });
    gaps
}

/// Escapes text for HTML and Markdown table cells alike.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
