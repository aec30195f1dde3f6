//! One workspace folder as the server holds it: the project, its live index
//! (updated from buffers on every edit), and the measured data (coverage,
//! per-test contexts, test results) turned into per-file facts. Data is
//! replaced as a whole (`Arc` swap), so readers never see half a reload.
//!
//! Coverage is the last full measurement with the last partial run laid
//! over it (`overlay`): a run on save executes only some tests, so what it
//! measured is added to what the full run knew, file by file, instead of
//! waiting for the next full run to show a newly covered function.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use rayon::prelude::*;

use crate::coverage::cobertura::{self, CoverageReport, FileCoverage};
use crate::index::model::RelPath;
use crate::index::{index_source, Index};
use crate::runner::{self, TestContexts, TestResult};
use crate::workspace::{self, artifacts, Project};

use super::facts::{self, CoverageFacts, ResultFacts};
use super::import_facts::{self, ImportError};

pub struct WorkspaceState {
    pub project: Project,
    pub index: Index,
    data: RwLock<Arc<Data>>,
}

/// The modification times of what a reload read: unchanged files are not
/// read again.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
struct Stamps {
    full: Option<(PathBuf, SystemTime)>,
    partial: Option<SystemTime>,
    contexts: Option<SystemTime>,
    results: Option<SystemTime>,
    /// The fixer's report (suspected bugs).
    bugs: Option<SystemTime>,
}

/// Import errors of one file, anchored to its text when they were measured.
#[derive(Debug, Clone)]
pub struct ImportFacts {
    pub anchor: Arc<str>,
    pub errors: Vec<ImportError>,
}

/// Suspected bugs in one file, anchored to its text when they were found.
#[derive(Debug, Clone)]
pub struct BugFacts {
    pub anchor: Arc<str>,
    pub bugs: Vec<crate::generate::SuspectedBug>,
}

/// Totals of the measured data, for the status bar and reports.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Statements and branches of every measured file, percent.
    pub percent: Option<f64>,
    /// Statements only, non-test files.
    pub line_percent: Option<f64>,
    pub statements: u32,
    pub covered: u32,
}

#[derive(Default)]
pub struct Data {
    stamps: Stamps,
    pub coverage: HashMap<RelPath, Arc<CoverageFacts>>,
    pub results: HashMap<RelPath, Arc<ResultFacts>>,
    pub imports: HashMap<RelPath, Arc<ImportFacts>>,
    pub bugs: HashMap<RelPath, Arc<BugFacts>>,
    pub contexts: Option<Arc<TestContexts>>,
    pub summary: Summary,
}

impl Data {
    /// Every file with something to show.
    pub fn files(&self) -> impl Iterator<Item = &RelPath> {
        let mut all: Vec<&RelPath> = self
            .coverage
            .keys()
            .chain(self.results.keys())
            .chain(self.imports.keys())
            .chain(self.bugs.keys())
            .collect();
        all.sort();
        all.dedup();
        all.into_iter()
    }
}

/// What a reload found that the user should know about.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub changed: bool,
    pub problems: Vec<String>,
}

impl WorkspaceState {
    /// Discovers and indexes the folder (blocking: call off the message
    /// loop); `progress` (files done, files in all) is kept up to date.
    pub fn open(
        root: &Path,
        progress: Option<(&AtomicUsize, &AtomicUsize)>,
    ) -> Result<WorkspaceState, workspace::WorkspaceError> {
        let project = workspace::discover(root)?;
        if let Some((_, total)) = progress {
            total.store(project.files.len(), Ordering::Relaxed);
        }
        let index = Index::build_counting(&project, progress.map(|(done, _)| done));
        Ok(WorkspaceState {
            project,
            index,
            data: RwLock::new(Arc::new(Data::default())),
        })
    }

    pub fn root(&self) -> &Path {
        &self.project.root
    }

    pub fn data(&self) -> Arc<Data> {
        self.data.read().map(|d| d.clone()).unwrap_or_default()
    }

    pub fn rel(&self, path: &Path) -> Option<RelPath> {
        RelPath::from_abs(&self.project.root, path)
    }

    /// Re-reads coverage, contexts and results when their files changed
    /// since the last load (blocking). Unchanged parts keep their facts.
    pub fn reload(&self) -> LoadReport {
        let _span = tracing::info_span!("reload", root = %self.root().display()).entered();
        let old = self.data();
        let mut report = LoadReport::default();
        let dir = self.root().join(artifacts::DIR);
        let stamps = Stamps {
            full: crate::coverage::fresh_report(self.root())
                .and_then(|p| Some((p.clone(), mtime(&p)?))),
            partial: mtime(&dir.join("coverage.partial.xml")),
            contexts: mtime(&dir.join("contexts.json")),
            results: mtime(&dir.join("test-results.json")),
            bugs: mtime(&crate::fix::Report::path(self.root())),
        };
        if stamps == old.stamps {
            return report;
        }
        report.changed = true;
        let coverage_changed = (&stamps.full, stamps.partial, stamps.contexts)
            != (&old.stamps.full, old.stamps.partial, old.stamps.contexts);
        let contexts = if stamps.contexts == old.stamps.contexts {
            old.contexts.clone()
        } else {
            TestContexts::load(&dir.join("contexts.json")).map(Arc::new)
        };
        let (coverage, summary) = if coverage_changed {
            match self.measured(&stamps, &dir) {
                Ok(Some((merged, measured))) => {
                    let summary = summarize(&merged);
                    (
                        self.coverage_facts(&merged, measured, contexts.as_deref()),
                        summary,
                    )
                }
                Ok(None) => (HashMap::new(), Summary::default()),
                Err(Problem::Unfinished) => {
                    // Read while being written: keep what was known, and
                    // read again at the next change (its writer's close).
                    tracing::debug!("a coverage report is still being written");
                    return LoadReport::default();
                }
                Err(Problem::Broken(e)) => {
                    report.problems.push(e);
                    (HashMap::new(), Summary::default())
                }
            }
        } else {
            (old.coverage.clone(), old.summary.clone())
        };
        let (results, imports) = if stamps.results == old.stamps.results {
            (old.results.clone(), old.imports.clone())
        } else {
            let measured = stamps.results.unwrap_or(SystemTime::UNIX_EPOCH);
            let all = runner::load_results(&dir.join("test-results.json"));
            (
                self.result_facts(&all, measured),
                self.import_facts(&all, measured),
            )
        };
        let bugs = if stamps.bugs == old.stamps.bugs {
            old.bugs.clone()
        } else {
            self.bug_facts(stamps.bugs.unwrap_or(SystemTime::UNIX_EPOCH))
        };
        let data = Data {
            stamps,
            coverage,
            results,
            imports,
            bugs,
            contexts,
            summary,
        };
        if let Ok(mut d) = self.data.write() {
            *d = Arc::new(data);
        }
        report
    }

    /// The full report with the newer partial one laid over it, and when it
    /// was measured. None without any report.
    fn measured(
        &self,
        stamps: &Stamps,
        dir: &Path,
    ) -> Result<Option<(CoverageReport, SystemTime)>, Problem> {
        let Some((path, full_time)) = &stamps.full else {
            return Ok(None);
        };
        let full = read(path, self.root())?;
        match stamps.partial.filter(|p| p > full_time) {
            Some(partial_time) => {
                let partial = read(&dir.join("coverage.partial.xml"), self.root())?;
                Ok(Some((
                    overlay(full, partial, self.root(), *full_time),
                    partial_time,
                )))
            }
            None => Ok(Some((full, *full_time))),
        }
    }

    fn coverage_facts(
        &self,
        report: &CoverageReport,
        measured: SystemTime,
        contexts: Option<&TestContexts>,
    ) -> HashMap<RelPath, Arc<CoverageFacts>> {
        report
            .files
            .par_iter()
            .filter_map(|fc| {
                let abs = self.root().join(fc.path.as_str());
                // A file edited after the measurement: its lines no longer
                // match, and the text they matched is gone. Show nothing
                // rather than something on the wrong line.
                if mtime(&abs).is_some_and(|m| m > measured) {
                    tracing::debug!(file = %fc.path, "newer than the coverage report: skipped");
                    return None;
                }
                let bytes = std::fs::read(&abs).ok()?;
                let index = index_source(&fc.path, &bytes);
                let anchor: Arc<str> = String::from_utf8_lossy(&bytes).into();
                let f = facts::coverage_facts(&fc.path, anchor, &index, fc, contexts);
                Some((fc.path.clone(), Arc::new(f)))
            })
            .collect()
    }

    fn result_facts(
        &self,
        results: &[TestResult],
        measured: SystemTime,
    ) -> HashMap<RelPath, Arc<ResultFacts>> {
        let mut by_file: HashMap<RelPath, Vec<&TestResult>> = HashMap::new();
        for r in results {
            if let Some(f) = &r.file {
                by_file.entry(RelPath::new(f)).or_default().push(r);
            }
        }
        by_file
            .into_iter()
            .filter_map(|(file, rs)| {
                let anchor = self.anchor(&file, measured)?;
                Some((file, Arc::new(facts::result_facts(anchor, &rs))))
            })
            .collect()
    }

    fn import_facts(
        &self,
        results: &[TestResult],
        measured: SystemTime,
    ) -> HashMap<RelPath, Arc<ImportFacts>> {
        import_facts::from_results(results, self.root(), &self.project.python_root)
            .into_iter()
            .filter_map(|(file, errors)| {
                let anchor = self.anchor(&file, measured)?;
                Some((file, Arc::new(ImportFacts { anchor, errors })))
            })
            .collect()
    }

    /// The suspected bugs of the fixer's last report, by file.
    fn bug_facts(&self, measured: SystemTime) -> HashMap<RelPath, Arc<BugFacts>> {
        let Some(report) = crate::fix::Report::load(self.root()) else {
            return HashMap::new();
        };
        let mut by_file: HashMap<RelPath, Vec<crate::generate::SuspectedBug>> = HashMap::new();
        for b in report.suspected_bugs {
            by_file.entry(RelPath::new(&b.file)).or_default().push(b);
        }
        by_file
            .into_iter()
            .filter_map(|(file, bugs)| {
                let anchor = self.anchor(&file, measured)?;
                Some((file, Arc::new(BugFacts { anchor, bugs })))
            })
            .collect()
    }

    /// The file's text, when it was not edited since `measured`.
    fn anchor(&self, file: &RelPath, measured: SystemTime) -> Option<Arc<str>> {
        let abs = self.root().join(file.as_str());
        if mtime(&abs).is_some_and(|m| m > measured) {
            return None;
        }
        let text = std::fs::read(&abs).ok()?;
        Some(String::from_utf8_lossy(&text).into())
    }
}

enum Problem {
    /// Empty or cut short, and written a moment ago: its writer is not done.
    Unfinished,
    Broken(String),
}

fn read(path: &Path, root: &Path) -> Result<CoverageReport, Problem> {
    cobertura::read(path, root).map_err(|e| {
        let fresh = mtime(path)
            .and_then(|m| m.elapsed().ok())
            .is_some_and(|age| age < Duration::from_secs(5));
        if fresh {
            Problem::Unfinished
        } else {
            Problem::Broken(e.to_string())
        }
    })
}

/// A partial run's report over the full one. pytest-cov reports every file
/// of its source, executed or not, so the partial report has a fresh
/// statement list for every file; a line counts as covered when the partial
/// run covered it, or the full run did and the file is unchanged since.
fn overlay(
    full: CoverageReport,
    partial: CoverageReport,
    root: &Path,
    full_time: SystemTime,
) -> CoverageReport {
    let mut by_path: HashMap<RelPath, FileCoverage> = full
        .files
        .into_iter()
        .map(|f| (f.path.clone(), f))
        .collect();
    for mut p in partial.files {
        if let Some(old) = by_path.get(&p.path) {
            let unchanged = mtime(&root.join(p.path.as_str())).is_some_and(|m| m <= full_time);
            if unchanged {
                let hits: HashMap<u32, &cobertura::LineHit> =
                    old.lines.iter().map(|l| (l.line, l)).collect();
                for l in &mut p.lines {
                    if let Some(o) = hits.get(&l.line) {
                        l.hits = l.hits.max(o.hits);
                        if let (Some(b), Some(ob)) = (l.branches.as_mut(), o.branches.as_ref()) {
                            b.covered = b.covered.max(ob.covered);
                        }
                    }
                }
            }
        }
        by_path.insert(p.path.clone(), p);
    }
    let mut files: Vec<FileCoverage> = by_path.into_values().collect();
    files.sort_by(|a, b| a.path.cmp(&b.path));
    CoverageReport {
        files,
        outside_root: full.outside_root,
        has_branches: full.has_branches || partial.has_branches,
    }
}

fn summarize(report: &CoverageReport) -> Summary {
    let (mut stmts, mut covered, mut branches, mut covered_branches) = (0u32, 0u32, 0u32, 0u32);
    let (mut own, mut own_covered) = (0u32, 0u32);
    for f in &report.files {
        let is_test = workspace::is_test_file(&f.path);
        for l in &f.lines {
            stmts += 1;
            let hit = l.hits > 0;
            covered += u32::from(hit);
            if !is_test {
                own += 1;
                own_covered += u32::from(hit);
            }
            if let Some(b) = &l.branches {
                branches += b.total;
                covered_branches += b.covered;
            }
        }
    }
    let pct =
        |a: u32, b: u32| (b > 0).then(|| (1000.0 * f64::from(a) / f64::from(b)).round() / 10.0);
    Summary {
        percent: pct(covered + covered_branches, stmts + branches),
        line_percent: pct(own_covered, own),
        statements: own,
        covered: own_covered,
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}
