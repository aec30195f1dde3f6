//! Coverage data: coverage.py's Cobertura XML (`cobertura`) and the gap model
//! built on it and the index (`gaps`).

pub mod cobertura;
pub mod gaps;

pub use cobertura::{CoverageError, CoverageReport, FileCoverage};

use std::path::{Path, PathBuf};

/// Where a project's coverage report is by default: `root/coverage.xml`
/// (a hand-run `pytest --cov-report=xml`) and `root/.testgen/coverage.xml`
/// (`testgen test`), in that order.
pub fn default_reports(root: &Path) -> [PathBuf; 2] {
    [
        root.join("coverage.xml"),
        root.join(crate::workspace::artifacts::DIR)
            .join("coverage.xml"),
    ]
}

/// The fresher of the default reports that exist.
pub fn fresh_report(root: &Path) -> Option<PathBuf> {
    let modified = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    default_reports(root)
        .into_iter()
        .filter(|p| p.is_file())
        .max_by_key(modified)
}
