//! The gap model: coverage.py's per-line data mapped onto the functions of
//! the index, in the reference pipeline's `coverage_gaps.json` shape plus
//! per-function figures.
//!
//! A function owns the lines from its first body statement to its last line,
//! minus the lines of functions nested in it: the innermost function wins.
//! That is exactly coverage.py's function regions (coverage/regions.py), so the
//! per-function numbers here equal `coverage json`'s `functions` summaries.
//! Lines of a class body outside any method stay with the enclosing function
//! (or the module), as in coverage.py.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use super::cobertura::{CoverageReport, FileCoverage};
use crate::index::model::{FileIndex, FunctionInfo, RelPath};

/// Statement and branch counts of one region (a function, a file, a project).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub statements: u32,
    pub covered: u32,
    pub branches: u32,
    pub covered_branches: u32,
}

impl Counts {
    fn add_line(&mut self, l: &super::cobertura::LineHit) {
        self.statements += 1;
        self.covered += u32::from(l.is_covered());
        if let Some(b) = l.branches {
            self.branches += b.total;
            self.covered_branches += b.covered;
        }
    }

    fn add(&mut self, o: Counts) {
        self.statements += o.statements;
        self.covered += o.covered;
        self.branches += o.branches;
        self.covered_branches += o.covered_branches;
    }

    pub fn missing(&self) -> u32 {
        self.statements - self.covered
    }

    /// coverage.py's "percent covered": statements and branches together,
    /// 100 when there is nothing to cover.
    pub fn percent(&self) -> f64 {
        let total = self.statements + self.branches;
        if total == 0 {
            return 100.0;
        }
        100.0 * f64::from(self.covered + self.covered_branches) / f64::from(total)
    }

    /// Statements only (the reference's line-based figure).
    pub fn line_percent(&self) -> f64 {
        if self.statements == 0 {
            return 100.0;
        }
        100.0 * f64::from(self.covered) / f64::from(self.statements)
    }
}

/// Coverage of one function or method.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionCoverage<'a> {
    pub function: &'a FunctionInfo,
    pub counts: Counts,
    pub missing_lines: Vec<u32>,
}

impl FunctionCoverage<'_> {
    pub fn is_uncovered(&self) -> bool {
        self.counts.statements > 0 && self.counts.covered == 0
    }
}

/// Maps every statement line of `file` to the innermost function of `index`
/// that owns it. Functions without statements in the report still appear
/// (with zero counts) so callers see every function.
pub fn function_coverage<'a>(
    file: &FileCoverage,
    index: &'a FileIndex,
) -> Vec<FunctionCoverage<'a>> {
    let owners = line_owners(index);
    let mut out: Vec<FunctionCoverage> = index
        .functions
        .iter()
        .map(|function| FunctionCoverage {
            function,
            counts: Counts::default(),
            missing_lines: Vec::new(),
        })
        .collect();
    for l in &file.lines {
        let Some(&Some(owner)) = owners.get(l.line as usize) else {
            continue;
        };
        let fc = &mut out[owner];
        fc.counts.add_line(l);
        if !l.is_covered() {
            fc.missing_lines.push(l.line);
        }
    }
    out
}

/// `owners[line]` = index of the innermost function owning that line.
/// Filling outer functions first and inner ones after makes the innermost win.
fn line_owners(index: &FileIndex) -> Vec<Option<usize>> {
    let last = index
        .functions
        .iter()
        .map(|f| f.end_line)
        .max()
        .unwrap_or(0);
    let mut owners = vec![None; last as usize + 1];
    let mut order: Vec<usize> = (0..index.functions.len()).collect();
    order.sort_by_key(|&i| (index.functions[i].depth, index.functions[i].body_line));
    for i in order {
        let f = &index.functions[i];
        for slot in &mut owners[f.body_line as usize..=f.end_line as usize] {
            *slot = Some(i);
        }
    }
    owners
}

/// The whole picture: what `testgen gaps` prints and writes.
#[derive(Debug, Clone, Serialize)]
pub struct GapReport {
    /// coverage.py's total (statements and, with branch data, branches), as `coverage report` shows it.
    pub overall_coverage: f64,
    /// Statements only.
    pub line_coverage: f64,
    pub total_statements: u32,
    pub missing_statements: u32,
    pub total_branches: u32,
    pub missing_branches: u32,
    pub min_coverage: f64,
    /// Files with at least one missing statement, most missing first.
    #[serde(serialize_with = "ordered_map")]
    pub files_with_gaps: Vec<(RelPath, FileGaps)>,
    pub functions: Vec<FunctionRow>,
    /// Functions (not methods) with at least one missing statement.
    pub uncovered_functions: Vec<UncoveredFunction>,
    /// Classes with at least one method with a missing statement.
    pub uncovered_classes: Vec<UncoveredClass>,
    /// Files in the report that the index does not know (deleted, or outside the project).
    pub unindexed_files: Vec<RelPath>,
    pub needs_ai_generation: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileGaps {
    pub covered_lines: Vec<u32>,
    pub missing_lines: Vec<u32>,
    pub coverage_percentage: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FunctionRow {
    pub path: RelPath,
    pub qualname: String,
    /// coverage.py's name for the function's region (`coverage json`'s
    /// `functions` key): the qualname, or `qualname@line` for a def that
    /// shares its qualname with an earlier one (`@typing.overload` stubs,
    /// redefinitions), as coverage.py disambiguates them.
    pub region: String,
    pub line: u32,
    pub end_line: u32,
    pub statements: u32,
    pub covered: u32,
    pub missing_lines: Vec<u32>,
    pub branches: u32,
    pub covered_branches: u32,
    pub coverage_percentage: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct UncoveredFunction {
    pub file: RelPath,
    pub name: String,
    pub qualname: String,
    pub line_start: u32,
    pub line_end: u32,
    pub uncovered_lines: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UncoveredClass {
    pub file: RelPath,
    pub name: String,
    pub uncovered_methods: Vec<UncoveredMethod>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UncoveredMethod {
    pub name: String,
    pub uncovered_lines: Vec<u32>,
}

fn ordered_map<S: Serializer>(v: &[(RelPath, FileGaps)], s: S) -> Result<S::Ok, S::Error> {
    let mut m = s.serialize_map(Some(v.len()))?;
    for (k, val) in v {
        m.serialize_entry(k, val)?;
    }
    m.end()
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// coverage.py's TOTAL of `coverage report` (statements and branches of
/// every measured file), rounded as it prints it.
pub fn total_percent(report: &CoverageReport) -> f64 {
    let mut total = Counts::default();
    for l in report.files.iter().flat_map(|f| &f.lines) {
        total.add_line(l);
    }
    round2(total.percent())
}

/// Builds the gap report; `index_of` gives the index of a file, when known.
pub fn analyze<'a, F>(report: &CoverageReport, index_of: F, min_coverage: f64) -> GapReport
where
    F: Fn(&RelPath) -> Option<std::sync::Arc<FileIndex>> + 'a,
{
    let _span = tracing::info_span!("gap_analysis", files = report.files.len()).entered();
    let mut total = Counts::default();
    let mut files_with_gaps = Vec::new();
    let mut functions = Vec::new();
    let mut uncovered_functions = Vec::new();
    let mut uncovered_classes: Vec<UncoveredClass> = Vec::new();
    let mut unindexed_files = Vec::new();

    for file in &report.files {
        let mut counts = Counts::default();
        file.lines.iter().for_each(|l| counts.add_line(l));
        total.add(counts);
        if counts.missing() > 0 {
            files_with_gaps.push((
                file.path.clone(),
                FileGaps {
                    covered_lines: file.covered_lines().collect(),
                    missing_lines: file.missing_lines().collect(),
                    coverage_percentage: round2(counts.line_percent()),
                },
            ));
        }
        let Some(fi) = index_of(&file.path) else {
            unindexed_files.push(file.path.clone());
            continue;
        };
        let first = functions.len();
        for fc in function_coverage(file, &fi) {
            collect_function(
                &fc,
                &mut functions,
                &mut uncovered_functions,
                &mut uncovered_classes,
            );
        }
        name_regions(&mut functions[first..]);
    }
    files_with_gaps.sort_by(|a, b| {
        b.1.missing_lines
            .len()
            .cmp(&a.1.missing_lines.len())
            .then_with(|| a.0.cmp(&b.0))
    });
    let overall = round2(total.percent());
    GapReport {
        overall_coverage: overall,
        line_coverage: round2(total.line_percent()),
        total_statements: total.statements,
        missing_statements: total.missing(),
        total_branches: total.branches,
        missing_branches: total.branches - total.covered_branches,
        min_coverage,
        files_with_gaps,
        functions,
        uncovered_functions,
        uncovered_classes,
        unindexed_files,
        needs_ai_generation: overall < min_coverage,
    }
}

/// coverage.py's region names for one file's functions (its jsonreport;
/// `<locals>` left out of nested functions' names):
/// in order of their first line, the first same-named region with
/// statements keeps the name; a region whose name is taken, or that has no
/// statements while a same-named one has, is `name@line`.
fn name_regions(rows: &mut [FunctionRow]) {
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by_key(|&i| rows[i].line);
    // coverage.py names nested functions without Python's `<locals>`.
    let base = |r: &FunctionRow| r.qualname.replace(".<locals>", "");
    let with_statements: std::collections::HashSet<String> =
        rows.iter().filter(|r| r.statements > 0).map(base).collect();
    let mut taken = std::collections::HashSet::new();
    for i in order {
        let r = &mut rows[i];
        let mut name = base(r);
        if taken.contains(&name) || (with_statements.contains(&name) && r.statements == 0) {
            name = format!("{name}@{}", r.line);
        }
        taken.insert(name.clone());
        r.region = name;
    }
}

fn collect_function(
    fc: &FunctionCoverage,
    functions: &mut Vec<FunctionRow>,
    uncovered_functions: &mut Vec<UncoveredFunction>,
    uncovered_classes: &mut Vec<UncoveredClass>,
) {
    let f = fc.function;
    functions.push(FunctionRow {
        path: f.path.clone(),
        qualname: f.qualname.clone(),
        region: String::new(), // named once the file's rows are known
        line: f.line,
        end_line: f.end_line,
        statements: fc.counts.statements,
        covered: fc.counts.covered,
        missing_lines: fc.missing_lines.clone(),
        branches: fc.counts.branches,
        covered_branches: fc.counts.covered_branches,
        coverage_percentage: round2(fc.counts.percent()),
    });
    if fc.missing_lines.is_empty() {
        return;
    }
    match &f.class {
        None => uncovered_functions.push(UncoveredFunction {
            file: f.path.clone(),
            name: f.name.clone(),
            qualname: f.qualname.clone(),
            line_start: f.line,
            line_end: f.end_line,
            uncovered_lines: fc.missing_lines.clone(),
        }),
        Some(class) => {
            let method = UncoveredMethod {
                name: f.name.clone(),
                uncovered_lines: fc.missing_lines.clone(),
            };
            match uncovered_classes
                .iter_mut()
                .find(|c| c.file == f.path && &c.name == class)
            {
                Some(c) => c.uncovered_methods.push(method),
                None => uncovered_classes.push(UncoveredClass {
                    file: f.path.clone(),
                    name: class.clone(),
                    uncovered_methods: vec![method],
                }),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::coverage::cobertura::{Branches, LineHit};
    use crate::index::index_source;

    const SRC: &str = "\
def outer(x):          # 1
    y = x + 1          # 2
    def inner():       # 3
        return y       # 4
    class K:           # 5
        z = 1          # 6
        def m(self):   # 7
            return 2   # 8
    return inner       # 9
";

    fn hit(line: u32, hits: u32) -> LineHit {
        LineHit {
            line,
            hits,
            branches: None,
        }
    }

    #[test]
    fn innermost_function_owns_its_lines_class_body_stays_outside() {
        let fi = index_source(&RelPath::new("m.py"), SRC.as_bytes());
        let file = FileCoverage {
            path: RelPath::new("m.py"),
            lines: vec![
                hit(1, 1),
                hit(2, 1),
                hit(3, 1),
                hit(4, 0),
                hit(5, 1),
                hit(6, 1),
                hit(7, 1),
                hit(8, 0),
                hit(9, 1),
            ],
        };
        let fcs = function_coverage(&file, &fi);
        let by_name = |q: &str| fcs.iter().find(|f| f.function.qualname == q).unwrap();
        // outer owns 2, 3, 5, 6, 7, 9: the def line (1) is the module's,
        // line 4 is inner's, line 8 is K.m's; class body line 6 stays outer's.
        assert_eq!(by_name("outer").counts.statements, 6);
        assert_eq!(by_name("outer").counts.covered, 6);
        assert_eq!(by_name("outer.<locals>.inner").missing_lines, [4]);
        assert!(by_name("outer.<locals>.inner").is_uncovered());
        assert_eq!(by_name("outer.<locals>.K.m").missing_lines, [8]);
    }

    #[test]
    fn report_shape_and_percentages() {
        let fi = std::sync::Arc::new(index_source(&RelPath::new("m.py"), SRC.as_bytes()));
        let mut b = hit(2, 1);
        b.branches = Some(Branches {
            covered: 1,
            total: 2,
        });
        let report = CoverageReport {
            files: vec![FileCoverage {
                path: RelPath::new("m.py"),
                lines: vec![hit(1, 1), b, hit(4, 0), hit(8, 0)],
            }],
            outside_root: vec![],
            has_branches: true,
        };
        let g = analyze(&report, |_| Some(fi.clone()), 90.0);
        assert_eq!(g.total_statements, 4);
        assert_eq!(g.missing_statements, 2);
        // (2 covered statements + 1 covered branch) / (4 statements + 2 branches)
        assert_eq!(g.overall_coverage, 50.0);
        assert_eq!(g.line_coverage, 50.0);
        assert!(g.needs_ai_generation);
        assert_eq!(g.uncovered_functions.len(), 1);
        assert_eq!(g.uncovered_functions[0].qualname, "outer.<locals>.inner");
        assert_eq!(g.uncovered_classes[0].name, "outer.<locals>.K");
        let json = serde_json::to_value(&g).unwrap();
        assert_eq!(
            json["files_with_gaps"]["m.py"]["missing_lines"],
            serde_json::json!([4, 8])
        );
    }
}
