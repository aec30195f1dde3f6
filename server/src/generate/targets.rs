//! Which functions to generate tests for: the gap analysis's functions with
//! missing lines, largest gap first, each with what an engine needs to reach
//! it (importable module, kind, route framework). Functions an engine cannot
//! address get a reason instead of silently vanishing.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::coverage::gaps::GapReport;
use crate::index::model::{
    DjangoComponent, DjangoKind, Framework, FunctionInfo, RelPath, RouteInfo,
};
use crate::index::Index;
use crate::workspace::{self, Project};

/// How the harness reaches a target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    Function,
    Method,
    Route,
}

#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub path: RelPath,
    #[serde(skip)]
    pub abs: PathBuf,
    /// Dotted import name of the target's module.
    pub module: String,
    pub qualname: String,
    pub kind: TargetKind,
    /// `def` line (or first decorator) to last line.
    pub line: u32,
    pub end_line: u32,
    /// Statement lines the existing suite does not reach.
    pub missing_lines: Vec<u32>,
    /// For routes: the web framework.
    #[serde(skip)]
    pub framework: Option<Framework>,
}

impl Target {
    /// `path::Qualname`, as `--target` takes it and reports show it.
    pub fn id(&self) -> String {
        format!("{}::{}", self.path, self.qualname)
    }
}

/// A function that was asked for (or had a gap) but cannot be a target.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct NotTargeted {
    pub target: String,
    pub reason: String,
}

/// What `--target` and the editor ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    /// Every function with a gap.
    AllGaps,
    /// Every function with a gap in these files.
    Files(Vec<RelPath>),
    /// These functions (`path::Qualname`), whatever their coverage.
    Functions(Vec<(RelPath, String)>),
    /// Those of these functions that have a gap (`testgen run --diff`: the
    /// functions a change touched).
    Changed(Vec<(RelPath, String)>),
}

impl Filter {
    /// Parses `path.py::Qualname` (path relative to the project root).
    pub fn parse_target(s: &str) -> Result<(RelPath, String), String> {
        let (path, qualname) = s
            .split_once("::")
            .filter(|(p, q)| !p.is_empty() && !q.is_empty())
            .ok_or_else(|| format!("--target {s:?}: expected path.py::Qualname"))?;
        let rel = RelPath::new(path.trim_start_matches("./"));
        Ok((rel, qualname.to_string()))
    }

    /// A file named on the command line (relative to the project root).
    pub fn parse_file(s: &str) -> RelPath {
        RelPath::new(s.trim_start_matches("./"))
    }
}

/// Chooses and orders targets. `import_roots` are the directories on
/// `sys.path` for the project's modules (deepest match names the module).
pub fn choose(
    project: &Project,
    index: &Index,
    gaps: &GapReport,
    filter: &Filter,
    import_roots: &[PathBuf],
) -> (Vec<Target>, Vec<NotTargeted>) {
    let mut targets = Vec::new();
    let mut skipped = Vec::new();
    let wanted = |path: &RelPath, qualname: &str| match filter {
        Filter::AllGaps => true,
        Filter::Files(files) => files.contains(path),
        Filter::Functions(fs) | Filter::Changed(fs) => {
            fs.iter().any(|(p, q)| p == path && q == qualname)
        }
    };
    let django_views = django_views(index);
    let mut found_functions = Vec::new();
    for row in &gaps.functions {
        if !wanted(&row.path, &row.qualname) {
            continue;
        }
        found_functions.push((row.path.clone(), row.qualname.clone()));
        let explicit = matches!(filter, Filter::Functions(_));
        // No statements (an `@overload` stub): nothing a test could cover.
        if row.statements == 0 || (row.missing_lines.is_empty() && !explicit) {
            continue;
        }
        let id = format!("{}::{}", row.path, row.qualname);
        let Some(file) = index.file(&row.path) else {
            continue;
        };
        // By line too: `@overload` stubs share the implementation's qualname.
        let Some(info) = file
            .functions
            .iter()
            .find(|f| f.qualname == row.qualname && f.line == row.line)
        else {
            continue;
        };
        let classified = if is_django_view(info, &file.django, &django_views) {
            django_route(project, info, import_roots)
        } else {
            classify(project, info, &file.routes, import_roots)
        };
        match classified {
            Ok((module, kind, framework)) => targets.push(Target {
                path: row.path.clone(),
                abs: project.root.join(row.path.as_str()),
                module,
                qualname: row.qualname.clone(),
                kind,
                line: info.decorator_line.unwrap_or(info.line),
                end_line: info.end_line,
                missing_lines: row.missing_lines.clone(),
                framework,
            }),
            Err(reason) => skipped.push(NotTargeted { target: id, reason }),
        }
    }
    if let Filter::Functions(fs) = filter {
        for (p, q) in fs {
            if !found_functions.iter().any(|(fp, fq)| fp == p && fq == q) {
                skipped.push(NotTargeted {
                    target: format!("{p}::{q}"),
                    reason: "no such function with measured statements (check the path, relative to the project root, and the qualname)".into(),
                });
            }
        }
    }
    // Largest gap first; ties in source order, so the plan is deterministic.
    targets.sort_by(|a, b| {
        b.missing_lines
            .len()
            .cmp(&a.missing_lines.len())
            .then_with(|| a.path.cmp(&b.path))
            .then_with(|| a.line.cmp(&b.line))
    });
    (targets, skipped)
}

/// The views Django URL patterns name, as (module alias or "", name):
/// `views.search` → ("views", "search"), `views.ItemView.as_view()` →
/// ("views", "ItemView").
fn django_views(index: &Index) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (_, file) in index.snapshot() {
        for r in file
            .routes
            .iter()
            .filter(|r| r.framework == Framework::Django)
        {
            let expr = r.function.split('(').next().unwrap_or("");
            let expr = expr.strip_suffix(".as_view").unwrap_or(expr).trim();
            let (prefix, name) = expr.rsplit_once('.').unwrap_or(("", expr));
            let prefix = prefix.rsplit('.').next().unwrap_or("");
            out.push((prefix.to_string(), name.to_string()));
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Whether a function is a Django view (a method of a view class, or a
/// function a URL pattern names): the harness calls it through Django's
/// test client at a URL reversed from the project's patterns.
fn is_django_view(
    info: &FunctionInfo,
    components: &[DjangoComponent],
    routed: &[(String, String)],
) -> bool {
    if let Some(class) = &info.class {
        let outer = class.split('.').next().unwrap_or(class);
        return components
            .iter()
            .any(|c| c.kind == DjangoKind::View && (c.name == *class || c.name == outer))
            || routed.iter().any(|(_, name)| name == outer);
    }
    let stem = std::path::Path::new(info.path.as_str())
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    routed
        .iter()
        .any(|(prefix, name)| *name == info.qualname && (prefix.is_empty() || *prefix == stem))
}

fn django_route(
    project: &Project,
    info: &FunctionInfo,
    import_roots: &[PathBuf],
) -> Result<(String, TargetKind, Option<Framework>), String> {
    if workspace::is_test_file(&info.path) || is_generated(&info.path) {
        return Err("a test file".into());
    }
    let abs = project.root.join(info.path.as_str());
    let module = module_name(&abs, import_roots)
        .ok_or_else(|| "not importable from the project's Python root".to_string())?;
    Ok((module, TargetKind::Route, Some(Framework::Django)))
}

fn classify(
    project: &Project,
    info: &FunctionInfo,
    routes: &[RouteInfo],
    import_roots: &[PathBuf],
) -> Result<(String, TargetKind, Option<Framework>), String> {
    if workspace::is_test_file(&info.path) || is_generated(&info.path) {
        return Err("a test file".into());
    }
    if info.qualname.contains("<locals>") {
        return Err("a nested function: its tests go through the enclosing function".into());
    }
    let abs = project.root.join(info.path.as_str());
    let module = module_name(&abs, import_roots)
        .ok_or_else(|| "not importable from the project's Python root".to_string())?;
    if let Some(route) = routes.iter().find(|r| r.function == info.qualname) {
        return match route.framework {
            Framework::Flask | Framework::Fastapi => {
                Ok((module, TargetKind::Route, Some(route.framework)))
            }
            other => Err(format!(
                "a {} view: the explore engine calls Flask, FastAPI and Django views only",
                other.as_str()
            )),
        };
    }
    let kind = if info.class.is_some() {
        TargetKind::Method
    } else {
        TargetKind::Function
    };
    Ok((module, kind, None))
}

/// Whether `path` lies in testgen's own output directory.
pub fn is_generated(path: &RelPath) -> bool {
    crate::workspace::skip::is_generated_path(path.as_str())
}

/// The dotted module name of `file` under the deepest of `roots` holding it.
pub fn module_name(file: &Path, roots: &[PathBuf]) -> Option<String> {
    let root = roots
        .iter()
        .filter(|r| file.starts_with(r))
        .max_by_key(|r| r.components().count())?;
    let rel = file.strip_prefix(root).ok()?.with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().map(String::as_str) == Some("__init__") {
        parts.pop();
    }
    let valid = !parts.is_empty()
        && parts.iter().all(|p| {
            let mut chars = p.chars();
            chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
                && chars.all(|c| c.is_alphanumeric() || c == '_')
        });
    valid.then(|| parts.join("."))
}

/// Where the project's modules import from, as pytest sees them: pytest's
/// `pythonpath` entries, the Python root and a `src/` layout beneath it.
pub fn import_roots(project: &Project) -> Vec<PathBuf> {
    let cfg = crate::runner::project_config::ProjectConfig::read(&project.python_root);
    let mut roots: Vec<PathBuf> = cfg
        .pythonpath
        .iter()
        .map(|p| project.python_root.join(p))
        .filter_map(|p| p.canonicalize().ok())
        .collect();
    roots.push(project.python_root.clone());
    let src = project.python_root.join("src");
    if src.is_dir() && !src.join("__init__.py").exists() {
        roots.push(src);
    }
    roots.dedup();
    roots
}

/// `roots` relative to the Python root (`.` for the root itself), for the
/// generated conftest; roots outside it are left out.
pub fn relative_roots(project: &Project, roots: &[PathBuf]) -> Vec<String> {
    roots
        .iter()
        .filter_map(|r| r.strip_prefix(&project.python_root).ok())
        .map(|r| {
            let s = r.to_string_lossy().replace('\\', "/");
            if s.is_empty() {
                ".".to_string()
            } else {
                s
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_names_follow_the_deepest_root() {
        let roots = vec![PathBuf::from("/p"), PathBuf::from("/p/src")];
        assert_eq!(
            module_name(Path::new("/p/src/pkg/mod.py"), &roots).as_deref(),
            Some("pkg.mod")
        );
        assert_eq!(
            module_name(Path::new("/p/app/__init__.py"), &roots).as_deref(),
            Some("app")
        );
        assert_eq!(module_name(Path::new("/p/my-scripts/x.py"), &roots), None);
        assert_eq!(module_name(Path::new("/elsewhere/x.py"), &roots), None);
    }

    #[test]
    fn target_syntax() {
        assert_eq!(
            Filter::parse_target("./pkg/a.py::Cls.meth").unwrap(),
            (RelPath::new("pkg/a.py"), "Cls.meth".to_string())
        );
        assert!(Filter::parse_target("pkg/a.py").is_err());
        assert!(Filter::parse_target("::f").is_err());
    }

    #[test]
    fn generated_dir_is_recognised() {
        assert!(is_generated(&RelPath::new("tests/generated/test_a.py")));
        assert!(is_generated(&RelPath::new("backend/tests/generated/x.py")));
        assert!(!is_generated(&RelPath::new("tests/test_a.py")));
    }
}
