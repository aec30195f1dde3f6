//! Coverage data: coverage.py's Cobertura XML (`cobertura`) and the gap model
//! built on it and the index (`gaps`).

pub mod cobertura;
pub mod gaps;

pub use cobertura::{CoverageError, CoverageReport, FileCoverage};
