//! One workspace folder as the server holds it: the project, its live index
//! (updated from buffers on every edit), and the measured data (coverage,
//! per-test contexts, test results) turned into per-file facts. Data is
//! replaced as a whole (`Arc` swap), so readers never see half a reload.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

use rayon::prelude::*;

use crate::coverage::cobertura;
use crate::index::model::RelPath;
use crate::index::{index_source, Index};
use crate::runner::{self, TestContexts, TestResult};
use crate::workspace::{self, artifacts, Project};

use super::facts::{self, CoverageFacts, ResultFacts};

pub struct WorkspaceState {
    pub project: Project,
    pub index: Index,
    data: RwLock<Arc<Data>>,
}

#[derive(Default)]
pub struct Data {
    pub coverage_file: Option<(PathBuf, SystemTime)>,
    pub results_mtime: Option<SystemTime>,
    pub coverage: HashMap<RelPath, Arc<CoverageFacts>>,
    pub results: HashMap<RelPath, Arc<ResultFacts>>,
}

impl Data {
    /// Every file with something to show.
    pub fn files(&self) -> impl Iterator<Item = &RelPath> {
        self.coverage.keys().chain(
            self.results
                .keys()
                .filter(|k| !self.coverage.contains_key(*k)),
        )
    }
}

/// What a reload found that the user should know about.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub changed: bool,
    pub problems: Vec<String>,
}

impl WorkspaceState {
    /// Discovers and indexes the folder (blocking: call off the message loop).
    pub fn open(root: &Path) -> Result<WorkspaceState, workspace::WorkspaceError> {
        let project = workspace::discover(root)?;
        let index = Index::build(&project);
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

    /// Re-reads coverage and results when their files changed since the last
    /// load (blocking). Unchanged parts keep their facts and anchors.
    pub fn reload(&self) -> LoadReport {
        let _span = tracing::info_span!("reload", root = %self.root().display()).entered();
        let old = self.data();
        let mut report = LoadReport::default();
        let dir = self.root().join(artifacts::DIR);
        let contexts = TestContexts::load(&dir.join("contexts.json"));

        let cov_file = crate::coverage::fresh_report(self.root()).and_then(|p| {
            let m = std::fs::metadata(&p).and_then(|m| m.modified()).ok()?;
            Some((p, m))
        });
        let coverage = if cov_file == old.coverage_file {
            old.coverage.clone()
        } else {
            report.changed = true;
            match &cov_file {
                Some((path, mtime)) => self
                    .coverage_facts(path, *mtime, contexts.as_ref())
                    .unwrap_or_else(|e| {
                        report.problems.push(e);
                        HashMap::new()
                    }),
                None => HashMap::new(),
            }
        };

        let results_path = dir.join("test-results.json");
        let results_mtime = mtime(&results_path);
        let results = if results_mtime == old.results_mtime {
            old.results.clone()
        } else {
            report.changed = true;
            let measured = results_mtime.unwrap_or(SystemTime::UNIX_EPOCH);
            self.result_facts(&runner::load_results(&results_path), measured)
        };
        let data = Data {
            coverage_file: cov_file,
            results_mtime,
            coverage,
            results,
        };
        if let Ok(mut d) = self.data.write() {
            *d = Arc::new(data);
        }
        report
    }

    fn coverage_facts(
        &self,
        xml: &Path,
        measured: SystemTime,
        contexts: Option<&TestContexts>,
    ) -> Result<HashMap<RelPath, Arc<CoverageFacts>>, String> {
        let report = cobertura::read(xml, self.root()).map_err(|e| e.to_string())?;
        let facts = report
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
            .collect();
        Ok(facts)
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
                let abs = self.root().join(file.as_str());
                // Edited since the run: the reported lines may have moved.
                if mtime(&abs).is_some_and(|m| m > measured) {
                    return None;
                }
                let text = std::fs::read(&abs).ok()?;
                let anchor: Arc<str> = String::from_utf8_lossy(&text).into();
                Some((file, Arc::new(facts::result_facts(anchor, &rs))))
            })
            .collect()
    }
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}
