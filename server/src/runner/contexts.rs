//! Per-test coverage: which tests executed which lines, from coverage.py's
//! dynamic contexts (`--cov-context=test`, read back through
//! `coverage json --show-contexts`). Answers "which tests cover this
//! function" and "which tests must re-run when these lines change". Kept in
//! `.testgen/contexts.json` between runs; a partial run replaces the entries
//! of the tests it re-ran and keeps the others.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::RangeInclusive;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::index::model::RelPath;

/// coverage.py's own totals, as `coverage report` prints them.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CoverageTotals {
    /// Statements and branches together, as `coverage report`'s TOTAL.
    pub percent: f64,
    pub statements: u64,
    pub missing: u64,
    pub branches: u64,
    pub missing_branches: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestContexts {
    version: u32,
    /// Node ids; the line maps refer to them by position.
    tests: Vec<String>,
    /// Root-relative file -> line -> indices into `tests`.
    files: BTreeMap<RelPath, BTreeMap<u32, Vec<u32>>>,
}

const VERSION: u32 = 1;

impl TestContexts {
    /// Reads `coverage json --show-contexts` output. Its file names are
    /// relative to the directory coverage ran in (`cwd`) or absolute.
    pub fn from_coverage_json(
        json: &serde_json::Value,
        root: &Path,
        cwd: &Path,
    ) -> (TestContexts, Option<CoverageTotals>) {
        let mut b = Builder::default();
        if let Some(files) = json["files"].as_object() {
            for (name, data) in files {
                let abs = cwd.join(name);
                let Some(rel) = RelPath::from_abs(root, &abs) else {
                    continue;
                };
                let Some(contexts) = data["contexts"].as_object() else {
                    continue;
                };
                for (line, ctxs) in contexts {
                    let Ok(line) = line.parse::<u32>() else {
                        continue;
                    };
                    for ctx in ctxs.as_array().into_iter().flatten() {
                        if let Some(test) = ctx.as_str().and_then(test_of_context) {
                            b.add(&rel, line, test);
                        }
                    }
                }
            }
        }
        let t = &json["totals"];
        let totals = t["percent_covered"].as_f64().map(|percent| CoverageTotals {
            percent,
            statements: t["num_statements"].as_u64().unwrap_or(0),
            missing: t["missing_lines"].as_u64().unwrap_or(0),
            branches: t["num_branches"].as_u64().unwrap_or(0),
            missing_branches: t["missing_branches"].as_u64().unwrap_or(0),
        });
        (b.finish(), totals)
    }

    pub fn is_empty(&self) -> bool {
        self.tests.is_empty()
    }

    pub fn tests(&self) -> &[String] {
        &self.tests
    }

    /// The tests that executed any of `lines` of `file` (all its lines when None).
    pub fn tests_touching(
        &self,
        file: &RelPath,
        lines: Option<RangeInclusive<u32>>,
    ) -> BTreeSet<String> {
        let Some(map) = self.files.get(file) else {
            return BTreeSet::new();
        };
        let range = lines.unwrap_or(0..=u32::MAX);
        map.range(range)
            .flat_map(|(_, ids)| ids.iter())
            .map(|&i| self.tests[i as usize].clone())
            .collect()
    }

    /// Replaces what is known about the tests of `newer` (a partial run) and
    /// keeps every other test's lines. `rerun` lists the tests that ran, so a
    /// test that no longer touches a file loses its old entries too.
    pub fn merge(&mut self, newer: TestContexts, rerun: &BTreeSet<String>) {
        let mut b = Builder::default();
        for (file, lines) in &self.files {
            for (&line, ids) in lines {
                for &i in ids {
                    let test = &self.tests[i as usize];
                    if !rerun.contains(test) {
                        b.add(file, line, test);
                    }
                }
            }
        }
        for (file, lines) in &newer.files {
            for (&line, ids) in lines {
                for &i in ids {
                    b.add(file, line, &newer.tests[i as usize]);
                }
            }
        }
        *self = b.finish();
    }

    /// Whether any test's recorded lines are in `file`.
    pub fn knows_file(&self, file: &RelPath) -> bool {
        self.files.get(file).is_some_and(|m| !m.is_empty())
    }

    /// Each test's executed lines, per file.
    pub fn lines_by_test(&self) -> BTreeMap<&str, BTreeMap<&RelPath, BTreeSet<u32>>> {
        let mut out: BTreeMap<&str, BTreeMap<&RelPath, BTreeSet<u32>>> = BTreeMap::new();
        for (file, lines) in &self.files {
            for (&line, ids) in lines {
                for &i in ids {
                    out.entry(self.tests[i as usize].as_str())
                        .or_default()
                        .entry(file)
                        .or_default()
                        .insert(line);
                }
            }
        }
        out
    }

    pub fn load(path: &Path) -> Option<TestContexts> {
        let bytes = std::fs::read(path).ok()?;
        let c: TestContexts = serde_json::from_slice(&bytes).ok()?;
        (c.version == VERSION).then_some(c)
    }

    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let bytes = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        crate::workspace::artifacts::write_atomic(path, &bytes)
    }
}

/// `tests/test_a.py::test_x|run` -> `tests/test_a.py::test_x`; the empty
/// context (code run at import, outside any test) -> None.
fn test_of_context(ctx: &str) -> Option<&str> {
    let test = ctx.rsplit_once('|').map_or(ctx, |(t, phase)| match phase {
        "run" | "setup" | "teardown" => t,
        _ => ctx,
    });
    (!test.is_empty()).then_some(test)
}

#[derive(Default)]
struct Builder {
    ids: BTreeMap<String, u32>,
    tests: Vec<String>,
    files: BTreeMap<RelPath, BTreeMap<u32, BTreeSet<u32>>>,
}

impl Builder {
    fn add(&mut self, file: &RelPath, line: u32, test: &str) {
        let id = match self.ids.get(test) {
            Some(&id) => id,
            None => {
                let id = self.tests.len() as u32;
                self.tests.push(test.to_string());
                self.ids.insert(test.to_string(), id);
                id
            }
        };
        self.files
            .entry(file.clone())
            .or_default()
            .entry(line)
            .or_default()
            .insert(id);
    }

    fn finish(self) -> TestContexts {
        TestContexts {
            version: VERSION,
            tests: self.tests,
            files: self
                .files
                .into_iter()
                .map(|(f, lines)| {
                    let lines = lines
                        .into_iter()
                        .map(|(l, ids)| (l, ids.into_iter().collect()))
                        .collect();
                    (f, lines)
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> TestContexts {
        let j = json!({
            "files": {
                "pkg/a.py": {"contexts": {
                    "1": [""],
                    "3": ["tests/t.py::test_one|run"],
                    "4": ["tests/t.py::test_one|run", "tests/t.py::test_two|run"],
                    "9": ["tests/t.py::test_two|setup"]
                }},
                "/elsewhere/x.py": {"contexts": {"1": ["tests/t.py::test_one|run"]}}
            },
            "totals": {"percent_covered": 75.5, "num_statements": 8, "missing_lines": 2,
                        "num_branches": 0, "missing_branches": 0}
        });
        let (c, totals) = TestContexts::from_coverage_json(&j, Path::new("/p"), Path::new("/p"));
        assert_eq!(totals.unwrap().percent, 75.5);
        c
    }

    #[test]
    fn lines_to_tests() {
        let c = sample();
        let a = RelPath::new("pkg/a.py");
        assert_eq!(
            c.tests_touching(&a, Some(3..=3)),
            BTreeSet::from(["tests/t.py::test_one".to_string()])
        );
        assert_eq!(c.tests_touching(&a, None).len(), 2);
        assert!(c.tests_touching(&a, Some(1..=2)).is_empty());
        assert!(c.tests_touching(&RelPath::new("x.py"), None).is_empty());
    }

    #[test]
    fn merge_replaces_rerun_tests_only() {
        let mut c = sample();
        let a = RelPath::new("pkg/a.py");
        let mut b = Builder::default();
        b.add(&a, 20, "tests/t.py::test_one");
        let rerun = BTreeSet::from(["tests/t.py::test_one".to_string()]);
        c.merge(b.finish(), &rerun);
        assert_eq!(
            c.tests_touching(&a, Some(3..=3)),
            BTreeSet::new(),
            "old lines of a re-run test are dropped"
        );
        assert_eq!(c.tests_touching(&a, Some(20..=20)), rerun);
        assert_eq!(c.tests_touching(&a, Some(9..=9)).len(), 1, "others kept");
    }

    #[test]
    fn lines_per_test() {
        let c = sample();
        let by_test = c.lines_by_test();
        let a = RelPath::new("pkg/a.py");
        assert_eq!(by_test["tests/t.py::test_one"][&a], BTreeSet::from([3, 4]));
        assert_eq!(by_test["tests/t.py::test_two"][&a], BTreeSet::from([4, 9]));
    }

    #[test]
    fn save_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("contexts.json");
        let c = sample();
        c.save(&p).unwrap();
        assert_eq!(TestContexts::load(&p), Some(c));
    }
}
