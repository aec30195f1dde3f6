//! Test generation: measure what the suite misses, choose targets, let an
//! engine propose tests, keep only those that add coverage and pass 3 runs
//! in a row, and hand back whole-file edits under `tests/generated/`. The
//! CLI writes the edits to disk; the language server sends them to the
//! editor (`workspace/applyEdit`). Engines: `explore` (offline, default);
//! `llm` arrives with its own issue.

pub mod explore;
pub mod output;
pub mod targets;
mod validate;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::coverage::{cobertura, gaps};
use crate::index::model::RelPath;
use crate::index::Index;
use crate::runner::{self, python, RunRequest, RunnerError, Selection};
use crate::workspace::{artifacts, Project};
use output::{FileEdit, Manifest, ManifestEntry, TestModule};
pub use targets::{Filter, NotTargeted, Target};
pub use validate::Dropped;

/// Why a proposed test that reaches nothing new is not written.
pub const NO_NEW_COVERAGE: &str = "adds no coverage the suite lacks";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    Explore,
}

impl Engine {
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Explore => "explore",
        }
    }
}

/// Where the "before" coverage comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Baseline {
    /// Run the suite now.
    Measure,
    /// The newest coverage.xml on disk when there is one (the editor has
    /// just measured), else run the suite.
    Existing,
}

#[derive(Debug, Clone)]
pub struct Request {
    pub python: Option<PathBuf>,
    pub engine: Engine,
    pub filter: Filter,
    pub settings: explore::Settings,
    pub baseline: Baseline,
    /// Limit of each pytest run of the project's suite.
    pub suite_timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Runner(#[from] RunnerError),
    #[error("the project's own suite could not be measured ({0}); fix that first, e.g. with `testgen test`")]
    NoBaseline(String),
    #[error("{0}")]
    Coverage(String),
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Coverage of the project's own code: test files (the user's and the
/// generated ones) are measured by `--cov=<python root>` but left out here,
/// so that writing tests cannot raise the figure by covering themselves.
#[derive(Debug, Clone, Serialize)]
pub struct Coverage {
    /// Line coverage of the non-test files, percent.
    pub line_percent: f64,
    /// Statements and missing statements of the non-test files.
    pub statements: u32,
    pub missing: u32,
    /// `coverage report`'s TOTAL over everything measured (lines and
    /// branches, test files included), for comparison with coverage.py.
    pub report_percent: f64,
}

impl Coverage {
    fn of(report: &cobertura::CoverageReport, g: &gaps::GapReport) -> Coverage {
        let (mut statements, mut missing) = (0u32, 0u32);
        for f in &report.files {
            if crate::workspace::is_test_file(&f.path) || targets::is_generated(&f.path) {
                continue;
            }
            statements += f.lines.len() as u32;
            missing += f.missing_lines().count() as u32;
        }
        let line_percent = if statements == 0 {
            100.0
        } else {
            let p = 100.0 * f64::from(statements - missing) / f64::from(statements);
            (p * 100.0).round() / 100.0
        };
        Coverage {
            line_percent,
            statements,
            missing,
            report_percent: g.overall_coverage,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenFile {
    /// Relative to the project root.
    pub path: String,
    pub tests: Vec<WrittenTest>,
}

#[derive(Debug, Clone, Serialize)]
pub struct WrittenTest {
    pub name: String,
    pub target: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub engine: Engine,
    pub seed: u64,
    pub python: PathBuf,
    pub duration_s: f64,
    pub coverage_before: Coverage,
    /// Measured after writing (CLI); None when not measured.
    pub coverage_after: Option<Coverage>,
    pub targets: Vec<String>,
    pub files: Vec<WrittenFile>,
    pub tests_written: usize,
    /// Targets that got no tests, and why.
    pub skipped: Vec<NotTargeted>,
    /// Tests the engine proposed that were not written, and why.
    pub dropped: Vec<Dropped>,
}

/// Validated edits, not yet applied.
#[derive(Debug, Clone)]
pub struct Plan {
    pub edits: Vec<FileEdit>,
    pub report: Report,
}

/// Measures, explores, validates; returns the edits without writing them.
/// `index` must describe the files on disk: coverage was measured on them.
pub async fn plan(
    project: &Project,
    index: &Index,
    req: &Request,
    cancel: &CancellationToken,
) -> Result<Plan, GenerateError> {
    use tracing::Instrument;
    let span = tracing::info_span!("generate", root = %project.root.display());
    plan_in_span(project, index, req, cancel)
        .instrument(span)
        .await
}

async fn plan_in_span(
    project: &Project,
    index: &Index,
    req: &Request,
    cancel: &CancellationToken,
) -> Result<Plan, GenerateError> {
    let started = Instant::now();
    let interp = python::discover(req.python.as_deref(), &project.root, &project.python_root)?;
    python::check(&interp.path).await?;
    let (coverage_before, before) = baseline(project, index, req, cancel).await?;

    let roots = targets::import_roots(project);
    let (chosen, mut skipped) = targets::choose(project, index, &before, &req.filter, &roots);
    tracing::info!(targets = chosen.len(), "exploring");
    let env = explore::Env {
        python: interp.path.clone(),
        root: project.root.clone(),
        sys_path: roots,
        cache_dir: explore::cache_dir(&project.root),
    };
    let target_ids: Vec<String> = chosen.iter().map(Target::id).collect();
    let exploration = explore::explore(&env, index, chosen, &req.settings, cancel).await;

    let gen_dir = project.python_root.join(output::DIR);
    let mut dropped = Vec::new();
    let mut candidates: BTreeMap<String, TestModule> = BTreeMap::new();
    let mut sources: BTreeMap<String, RelPath> = BTreeMap::new();
    let mut origin: BTreeMap<(String, String), String> = BTreeMap::new();
    for m in &exploration.modules {
        let file = output::test_file_name(&m.module);
        let existing = std::fs::read_to_string(gen_dir.join(&file)).ok();
        if existing.as_deref().is_some_and(|t| !output::is_ours(t)) {
            for r in &m.results {
                skipped.push(NotTargeted {
                    target: r.target.id(),
                    reason: format!(
                        "{}/{file} exists and is not testgen's: left as it is",
                        output::DIR
                    ),
                });
            }
            continue;
        }
        let mut module = TestModule::default();
        for r in &m.results {
            sources.insert(file.clone(), r.target.path.clone());
            match &r.explored {
                explore::Explored::Skipped(reason) => skipped.push(NotTargeted {
                    target: r.target.id(),
                    reason: reason.clone(),
                }),
                explore::Explored::Tests(tests) => {
                    let (keep, useless) = adding_coverage(&r.target, tests);
                    for t in useless {
                        dropped.push(Dropped {
                            file: file.clone(),
                            test: t.name.clone(),
                            reason: NO_NEW_COVERAGE.into(),
                        });
                    }
                    for t in keep {
                        let name = module.add(t);
                        origin.insert((file.clone(), name), r.target.id());
                    }
                }
            }
        }
        if !module.tests.is_empty() {
            candidates.insert(file, module);
        }
    }

    let needs_client = candidates
        .values()
        .flat_map(|m| &m.tests)
        .any(|(_, src)| src.contains("(client"));
    let needs_conftest = needs_client || (exploration.django && !candidates.is_empty());
    let conftest = exploration.conftest.as_deref().filter(|_| needs_conftest);
    let header_of = |file: &str| {
        let src = sources.get(file).map(|p| p.to_string()).unwrap_or_default();
        output::header(req.engine.as_str(), &src)
    };
    let validated = validate::validate(
        project,
        &interp.path,
        candidates,
        conftest,
        header_of,
        cancel,
    )
    .await?;
    dropped.extend(validated.dropped);

    let stamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let mut edits = Vec::new();
    let mut files = Vec::new();
    let mut manifest_entries = Vec::new();
    let mut tests_written = 0;
    for (file, fresh) in &validated.files {
        let path = gen_dir.join(file);
        let old_text = std::fs::read_to_string(&path).ok();
        let mut merged = old_text
            .as_deref()
            .map(TestModule::parse)
            .unwrap_or_default();
        let rel = rel_to_root(project, &path);
        let mut written = Vec::new();
        for (name, source) in &fresh.tests {
            let t = explore::ExploredTest {
                name: name.clone(),
                source: source.clone(),
                // The fresh file's imports are added once, below.
                imports: Vec::new(),
                fixtures: Vec::new(),
                new_lines: Vec::new(),
            };
            let used = merged.add(&t);
            let target = origin
                .get(&(file.clone(), name.clone()))
                .cloned()
                .unwrap_or_default();
            manifest_entries.push(ManifestEntry {
                file: rel.clone(),
                test: used.clone(),
                target: target.clone(),
                engine: req.engine.as_str().into(),
                seed: req.settings.seed,
                generated_at: stamp.clone(),
            });
            written.push(WrittenTest { name: used, target });
        }
        // Older tests keep their imports; the fresh ones add theirs.
        merged.imports.extend(fresh.imports.iter().cloned());
        tests_written += written.len();
        edits.push(FileEdit {
            path,
            new_text: merged.render(&header_of(file)),
            old_text,
        });
        files.push(WrittenFile {
            path: rel,
            tests: written,
        });
    }
    if !edits.is_empty() {
        support_files(&gen_dir, conftest, &mut edits, &mut skipped);
        let manifest_path = gen_dir.join("_manifest.json");
        let old = std::fs::read_to_string(&manifest_path).ok();
        let mut manifest = Manifest::load(&manifest_path);
        manifest.merge(manifest_entries);
        let mut text = serde_json::to_string_pretty(&manifest).expect("manifest serializes");
        text.push('\n');
        edits.push(FileEdit {
            path: manifest_path,
            old_text: old,
            new_text: text,
        });
    }
    Ok(Plan {
        edits,
        report: Report {
            engine: req.engine,
            seed: req.settings.seed,
            python: interp.path,
            duration_s: started.elapsed().as_secs_f64(),
            coverage_before,
            coverage_after: None,
            targets: target_ids,
            files,
            tests_written,
            skipped,
            dropped,
        },
    })
}

/// Writes the plan's files (each atomically) to disk.
pub fn apply(edits: &[FileEdit]) -> Result<(), GenerateError> {
    for e in edits {
        let err = |source| GenerateError::Write {
            path: e.path.clone(),
            source,
        };
        if let Some(dir) = e.path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        artifacts::write_atomic(&e.path, e.new_text.as_bytes()).map_err(err)?;
    }
    Ok(())
}

/// The whole job for the command line: plan, write, measure again.
pub async fn run(
    project: &Project,
    req: &Request,
    cancel: &CancellationToken,
) -> Result<Report, GenerateError> {
    let started = Instant::now();
    // One index for both measurements: the files written in between are
    // tests, which the coverage figures leave out anyway.
    let index = Index::build(project);
    let plan = plan(project, &index, req, cancel).await?;
    apply(&plan.edits)?;
    let mut report = plan.report;
    if !plan.edits.is_empty() {
        let measure = Request {
            python: Some(report.python.clone()),
            baseline: Baseline::Measure,
            ..req.clone()
        };
        report.coverage_after = baseline(project, &index, &measure, cancel)
            .await
            .ok()
            .map(|(c, _)| c);
    } else {
        report.coverage_after = Some(report.coverage_before.clone());
    }
    report.duration_s = started.elapsed().as_secs_f64();
    Ok(report)
}

/// The suite's gaps: measured now, or read from the newest report.
async fn baseline(
    project: &Project,
    index: &Index,
    req: &Request,
    cancel: &CancellationToken,
) -> Result<(Coverage, gaps::GapReport), GenerateError> {
    let xml = match (req.baseline, crate::coverage::fresh_report(&project.root)) {
        (Baseline::Existing, Some(xml)) => xml,
        _ => {
            let run_req = RunRequest {
                python: req.python.clone(),
                selection: Selection::All,
                timeout: req.suite_timeout,
                extra_args: Vec::new(),
            };
            let run = runner::run_tests(project, &run_req, cancel).await?;
            if run.coverage.is_none() {
                let why = run
                    .output_tail
                    .iter()
                    .rev()
                    .find(|l| !l.trim().is_empty())
                    .cloned()
                    .unwrap_or_else(|| format!("{:?}", run.outcome));
                return Err(GenerateError::NoBaseline(why));
            }
            run.artifacts.coverage_xml
        }
    };
    let report =
        cobertura::read(&xml, &project.root).map_err(|e| GenerateError::Coverage(e.to_string()))?;
    let gaps = gaps::analyze(&report, |p| index.file(p), 90.0);
    Ok((Coverage::of(&report, &gaps), gaps))
}

/// Keeps the tests that reach a line the suite misses, greedily: a test
/// whose new lines earlier tests already reach adds nothing.
fn adding_coverage<'a>(
    target: &Target,
    tests: &'a [explore::ExploredTest],
) -> (
    Vec<&'a explore::ExploredTest>,
    Vec<&'a explore::ExploredTest>,
) {
    let mut missing: BTreeSet<u32> = target.missing_lines.iter().copied().collect();
    let (mut keep, mut useless) = (Vec::new(), Vec::new());
    for t in tests {
        let adds = t.new_lines.iter().any(|l| missing.contains(l));
        if adds {
            for l in &t.new_lines {
                missing.remove(l);
            }
            keep.push(t);
        } else {
            useless.push(t);
        }
    }
    (keep, useless)
}

/// `__init__.py` and the route tests' `conftest.py`, where testgen may write them.
fn support_files(
    gen_dir: &Path,
    conftest: Option<&str>,
    edits: &mut Vec<FileEdit>,
    skipped: &mut Vec<NotTargeted>,
) {
    let init = gen_dir.join("__init__.py");
    if !init.exists() {
        edits.push(FileEdit {
            path: init,
            old_text: None,
            new_text: output::init_text(),
        });
    }
    if let Some(body) = conftest {
        let path = gen_dir.join("conftest.py");
        let old = std::fs::read_to_string(&path).ok();
        if old.as_deref().is_none_or(output::is_ours) {
            edits.push(FileEdit {
                path,
                old_text: old,
                new_text: output::conftest_text(body),
            });
        } else {
            skipped.push(NotTargeted {
                target: format!("{}/conftest.py", output::DIR),
                reason: "exists and is not testgen's: route tests need its `client` fixture".into(),
            });
        }
    }
}

fn rel_to_root(project: &Project, path: &Path) -> String {
    RelPath::from_abs(&project.root, path)
        .map(|p| p.to_string())
        .unwrap_or_else(|| path.display().to_string())
}
