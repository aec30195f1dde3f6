//! From validated tests to whole-file edits: each test file merged into
//! testgen's existing one (tests already there stay, clashing names get a
//! suffix), the support files (`__init__.py`, `conftest.py`) where testgen
//! may write them, and `_manifest.json`.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use super::candidates::TestKey;
use super::engine::TestSource;
use super::output::{self, FileEdit, Manifest, ManifestEntry, TestModule};
use super::targets::NotTargeted;
use super::{WrittenFile, WrittenTest};
use crate::index::model::RelPath;
use crate::workspace::Project;

pub struct Input<'a> {
    pub project: &'a Project,
    pub gen_dir: &'a Path,
    pub engine: &'static str,
    pub seed: u64,
    /// Validated tests per test file.
    pub files: &'a BTreeMap<String, TestModule>,
    pub origin: &'a BTreeMap<TestKey, String>,
    pub header: &'a (dyn Fn(&str) -> String + Sync),
    /// The conftest body, when the tests need it.
    pub conftest: Option<&'a str>,
    /// Import roots relative to the Python root, for the conftest.
    pub import_roots: &'a [String],
    /// The model's calls, tokens and cost (engines that call one).
    pub llm: Option<&'a super::llm::accounting::RunUsage>,
}

#[derive(Debug, Default)]
pub struct Output {
    pub edits: Vec<FileEdit>,
    pub files: Vec<WrittenFile>,
    pub tests_written: usize,
    pub skipped: Vec<NotTargeted>,
}

pub fn build(input: Input<'_>) -> Output {
    let mut out = Output::default();
    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut manifest_entries = Vec::new();
    for (file, fresh) in input.files {
        let path = input.gen_dir.join(file);
        let old_text = std::fs::read_to_string(&path).ok();
        let mut merged = old_text
            .as_deref()
            .map(TestModule::parse)
            .unwrap_or_default();
        let rel = rel_to_root(input.project, &path);
        let mut written = Vec::new();
        for (name, source) in &fresh.tests {
            let t = TestSource {
                name: name.clone(),
                source: source.clone(),
                // The fresh file's imports are added once, below.
                imports: Vec::new(),
                fixtures: Vec::new(),
            };
            let used = merged.add(&t);
            let target = input
                .origin
                .get(&(file.clone(), name.clone()))
                .cloned()
                .unwrap_or_default();
            manifest_entries.push(ManifestEntry {
                file: rel.clone(),
                test: used.clone(),
                target: target.clone(),
                engine: input.engine.into(),
                seed: input.seed,
                generated_at: stamp.clone(),
            });
            written.push(WrittenTest { name: used, target });
        }
        // Older tests keep their imports; the fresh ones add theirs.
        merged.imports.extend(fresh.imports.iter().cloned());
        out.tests_written += written.len();
        out.edits.push(FileEdit {
            path,
            new_text: merged.render(&(input.header)(file)),
            old_text,
        });
        out.files.push(WrittenFile {
            path: rel,
            tests: written,
        });
    }
    if !out.edits.is_empty() {
        support_files(input.gen_dir, input.conftest, input.import_roots, &mut out);
        out.edits
            .push(manifest_edit(input.gen_dir, manifest_entries, input.llm));
    }
    out
}

fn manifest_edit(
    gen_dir: &Path,
    entries: Vec<ManifestEntry>,
    llm: Option<&super::llm::accounting::RunUsage>,
) -> FileEdit {
    let path = gen_dir.join("_manifest.json");
    let old_text = std::fs::read_to_string(&path).ok();
    let mut manifest = Manifest::load(&path);
    manifest.merge(entries);
    if llm.is_some() {
        manifest.llm = llm.cloned();
    }
    let mut new_text = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
    new_text.push('\n');
    FileEdit {
        path,
        old_text,
        new_text,
    }
}

/// `__init__.py` and `conftest.py`, where testgen may write them. The
/// conftest is always written: it puts the project's import roots on
/// `sys.path`, so the generated tests run with a plain `pytest` from the
/// project root even in a project that had no tests.
fn support_files(gen_dir: &Path, conftest: Option<&str>, roots: &[String], out: &mut Output) {
    let init = gen_dir.join("__init__.py");
    if !init.exists() {
        out.edits.push(FileEdit {
            path: init,
            old_text: None,
            new_text: output::init_text(),
        });
    }
    let path = gen_dir.join("conftest.py");
    let old = std::fs::read_to_string(&path).ok();
    if old.as_deref().is_none_or(output::is_ours) {
        out.edits.push(FileEdit {
            path,
            old_text: old,
            new_text: output::conftest_text(conftest.unwrap_or(""), roots),
        });
    } else if conftest.is_some() {
        out.skipped.push(NotTargeted {
            target: format!("{}/conftest.py", output::DIR),
            reason: "exists and is not testgen's: route tests need its `client` fixture".into(),
        });
    }
}

fn rel_to_root(project: &Project, path: &Path) -> String {
    RelPath::from_abs(&project.root, path)
        .map(|p| p.to_string())
        .unwrap_or_else(|| path.display().to_string())
}
