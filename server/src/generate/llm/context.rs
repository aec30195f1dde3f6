//! What one request tells the model about its target, within the token
//! budget (`llm.requestTokens`): the target's source with its missing
//! lines marked, its class's signature and constructor, the module's
//! imports, the conftest's fixtures, the route and application, and what
//! explore observed. Never whole files; the model asks for more through
//! the `get_info` tool ([`Symbols::info`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::extract;
use crate::generate::targets::{module_name, Target, TargetKind};
use crate::index::model::{FileIndex, Framework, FunctionInfo, RelPath};
use crate::index::Index;

/// Tokens of a text, estimated (4 characters a token, as OpenAI's
/// tokenizers average on code; an estimate is enough for a budget).
pub fn tokens(text: &str) -> u64 {
    (text.chars().count() as u64).div_ceil(4)
}

/// The project as the prompts see it, built once per run.
pub struct Symbols {
    root: PathBuf,
    files: Vec<(RelPath, std::sync::Arc<FileIndex>)>,
    pub framework: Framework,
    /// Fixtures defined in the project's conftest files.
    pub fixtures: BTreeSet<String>,
    /// Dotted module → names defined at its top level.
    pub modules: BTreeMap<String, BTreeSet<String>>,
}

impl Symbols {
    pub fn new(root: &Path, index: &Index, import_roots: &[PathBuf]) -> Symbols {
        let files = index.snapshot();
        let mut fixtures = BTreeSet::new();
        let mut modules = BTreeMap::new();
        for (path, f) in &files {
            if path.file_name() == "conftest.py" {
                for func in f.functions.iter().filter(|x| x.depth == 0) {
                    if func.decorators.iter().any(|d| d.contains("fixture")) {
                        fixtures.insert(func.name.clone());
                    }
                }
            }
            if crate::workspace::is_test_file(path) {
                continue;
            }
            let Some(m) = module_name(&root.join(path.as_str()), import_roots) else {
                continue;
            };
            let names: BTreeSet<String> = f
                .functions
                .iter()
                .filter(|x| x.depth == 0)
                .map(|x| x.name.clone())
                .chain(
                    f.classes
                        .iter()
                        .filter(|c| !c.qualname.contains('.'))
                        .map(|c| c.name.clone()),
                )
                .collect();
            modules.insert(m, names);
        }
        Symbols {
            root: root.to_path_buf(),
            framework: index.framework(),
            files,
            fixtures,
            modules,
        }
    }

    /// What the answer's cleaning needs for `target`.
    pub fn extract_project(&self, target: &Target) -> extract::Project {
        let own = std::fs::read_to_string(&target.abs).unwrap_or_default();
        let body: String = own
            .lines()
            .skip(target.line.saturating_sub(1) as usize)
            .take((target.end_line + 1).saturating_sub(target.line) as usize)
            .collect::<Vec<_>>()
            .join("\n");
        extract::Project {
            framework: Some(target.framework.unwrap_or(self.framework)),
            conftest_fixtures: self.fixtures.clone(),
            modules: self.modules.clone(),
            answers_400: body.contains("400"),
        }
    }

    fn source(&self, path: &RelPath) -> Option<String> {
        std::fs::read_to_string(self.root.join(path.as_str())).ok()
    }

    /// The `get_info` tool: the definition of a project name (`Class`,
    /// `func`, `Class.method`, `module.func`), at most `max_lines` lines.
    pub fn info(&self, name: &str, max_lines: usize) -> String {
        let name = name.trim();
        let short = name.rsplit('.').next().unwrap_or(name);
        let mut found = Vec::new();
        for (path, f) in &self.files {
            if crate::workspace::is_test_file(path) {
                continue;
            }
            for c in &f.classes {
                if c.qualname == name
                    || c.name == short && !name.contains('.')
                    || name.ends_with(&format!(".{}", c.qualname))
                {
                    found.push((path, c.decorator_line.unwrap_or(c.line), c.end_line));
                }
            }
            for x in &f.functions {
                if x.qualname == name
                    || x.name == short && !name.contains('.')
                    || name.ends_with(&format!(".{}", x.qualname))
                {
                    found.push((path, x.decorator_line.unwrap_or(x.line), x.end_line));
                }
            }
        }
        if found.is_empty() {
            return format!("`{name}` is not defined in the project (it may come from a library).");
        }
        let mut out = String::new();
        for (path, start, end) in found.into_iter().take(3) {
            let Some(text) = self.source(path) else {
                continue;
            };
            let lines: Vec<&str> = text.lines().collect();
            let end = (end as usize)
                .min(lines.len())
                .min(start as usize + max_lines - 1);
            out.push_str(&format!("# {path}, line {start}\n"));
            for l in &lines[(start as usize).saturating_sub(1)..end] {
                out.push_str(l);
                out.push('\n');
            }
        }
        out
    }

    /// What `get_info` would have answered, for a server that takes no
    /// tools: the definitions of the project's top-level names that the
    /// target's source mentions (itself left out), within `budget` tokens.
    pub fn definitions_for(&self, target: &Target, budget: u64, max_lines: usize) -> String {
        let own = std::fs::read_to_string(&target.abs).unwrap_or_default();
        let body: String = own
            .lines()
            .skip(target.line.saturating_sub(1) as usize)
            .take((target.end_line + 1).saturating_sub(target.line) as usize)
            .collect::<Vec<_>>()
            .join("\n");
        let defined: BTreeSet<&str> = self
            .modules
            .values()
            .flatten()
            .map(String::as_str)
            .collect();
        let own_name = target.qualname.rsplit('.').next().unwrap_or_default();
        let mut seen = BTreeSet::new();
        let mut out = String::new();
        for word in body.split(|c: char| !(c.is_alphanumeric() || c == '_')) {
            if word == own_name || !defined.contains(word) || !seen.insert(word) {
                continue;
            }
            let def = self.info(word, max_lines);
            if tokens(&out) + tokens(&def) > budget {
                break;
            }
            out.push_str(&def);
            out.push('\n');
        }
        out
    }

    fn file(&self, path: &RelPath) -> Option<&FileIndex> {
        self.files
            .iter()
            .find(|(p, _)| p == path)
            .map(|(_, f)| &**f)
    }
}

/// The variables of `user.j2` and the system templates.
#[derive(Debug, Clone, Serialize)]
pub struct Context {
    pub qualname: String,
    /// The last component (the scaffold's example name).
    pub name: String,
    pub path: String,
    pub module: String,
    pub framework: &'static str,
    pub kind: &'static str,
    pub missing: Vec<u32>,
    /// No line of the body ran: the marks would be on every line, so the
    /// prompt says so once instead.
    pub unrun: bool,
    pub source: String,
    pub class_info: String,
    pub imports: String,
    pub fixtures: Vec<String>,
    pub route: String,
    pub app_module: String,
    pub app_name: String,
    pub findings: Vec<String>,
    pub truncated: bool,
}

/// Builds the context of `target` within `budget` tokens: the target's own
/// source first (cut in the middle, around the missing lines, if even it
/// is too large), then the class, imports and findings as room allows.
pub fn build(sym: &Symbols, target: &Target, findings: &[String], budget: u64) -> Context {
    let text = std::fs::read_to_string(&target.abs).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let file = sym.file(&target.path);
    let missing: BTreeSet<u32> = target.missing_lines.iter().copied().collect();
    let func = file.and_then(|f| f.functions.iter().find(|x| x.qualname == target.qualname));
    let start = func.and_then(|x| x.decorator_line).unwrap_or(target.line);
    let unrun = func.is_some_and(|f| never_ran(f, &lines, &missing));
    let mut source_lines: Vec<String> = (start..=target.end_line)
        .filter_map(|n| {
            let l = lines.get(n as usize - 1)?;
            Some(if missing.contains(&n) && !unrun {
                format!("{l}  # MISSING")
            } else {
                l.to_string()
            })
        })
        .collect();
    let mut truncated = false;
    let mut used = 350; // the system prompt and the template's own words
                        // The target alone may not exceed two thirds of the budget.
    while tokens(&source_lines.join("\n")) > budget * 2 / 3 && source_lines.len() > 20 {
        let mid = source_lines.len() / 2;
        source_lines.remove(mid);
        source_lines[mid - 1] = "    ...  # (lines left out)".into();
        truncated = true;
    }
    let source = source_lines.join("\n");
    used += tokens(&source);
    let mut fit = |s: String| -> String {
        let t = tokens(&s);
        if used + t <= budget {
            used += t;
            s
        } else {
            truncated = true;
            String::new()
        }
    };
    let class_info = fit(class_info(file, target, &lines));
    let imports = fit(file
        .map(|f| {
            f.imports
                .iter()
                .filter_map(|i| lines.get(i.line as usize - 1).map(|l| l.to_string()))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default());
    let fixtures: Vec<String> = sym.fixtures.iter().cloned().collect();
    let mut kept_findings = Vec::new();
    for f in findings {
        let f = fit(f.clone());
        if !f.is_empty() {
            kept_findings.push(f);
        }
    }
    let (route, app_module, app_name) = route_of(file, target);
    let framework = match target.framework.unwrap_or(sym.framework) {
        Framework::Django => "django",
        Framework::Fastapi => "fastapi",
        Framework::Flask => "flask",
        Framework::Python => "python",
    };
    Context {
        name: target
            .qualname
            .rsplit('.')
            .next()
            .unwrap_or(&target.qualname)
            .to_string(),
        qualname: target.qualname.clone(),
        path: target.path.to_string(),
        module: target.module.clone(),
        framework,
        kind: if target.kind == TargetKind::Route {
            "integration"
        } else {
            "unit"
        },
        missing: target.missing_lines.clone(),
        unrun,
        source,
        class_info,
        imports,
        fixtures,
        route,
        app_module: if app_module.is_empty() {
            target.module.clone()
        } else {
            app_module
        },
        app_name: if app_name.is_empty() {
            "app".into()
        } else {
            app_name
        },
        findings: kept_findings,
        truncated,
    }
}

/// Every line of `f`'s body that can run is missing. Conservative: a line
/// this cannot tell is a statement (a continuation, a string) keeps the
/// per-line marks.
fn never_ran(f: &FunctionInfo, lines: &[&str], missing: &BTreeSet<u32>) -> bool {
    let line = |n: u32| {
        lines
            .get((n as usize).wrapping_sub(1))
            .copied()
            .unwrap_or_default()
            .trim()
    };
    let mut body = f.body_line;
    if f.docstring.is_some() {
        // Skip the docstring: coverage.py does not count it.
        let first = line(body).trim_start_matches(['r', 'u', 'R', 'U']);
        let Some(quote) = ["\"\"\"", "'''"].into_iter().find(|q| first.starts_with(q)) else {
            return false;
        };
        if !first[3..].contains(quote) {
            body += 1;
            while body <= f.end_line && !line(body).contains(quote) {
                body += 1;
            }
        }
        body += 1;
    }
    let mut any = false;
    for n in body..=f.end_line {
        let l = line(n);
        if l.is_empty() || l.starts_with('#') || matches!(l, "else:" | "try:" | "finally:") {
            continue;
        }
        if !missing.contains(&n) {
            return false;
        }
        any = true;
    }
    any
}

/// A method's class: its header, class-level lines and constructor.
fn class_info(file: Option<&FileIndex>, target: &Target, lines: &[&str]) -> String {
    if target.kind != TargetKind::Method {
        return String::new();
    }
    let Some((class, _)) = target.qualname.rsplit_once('.') else {
        return String::new();
    };
    let Some(f) = file else { return String::new() };
    let Some(c) = f.classes.iter().find(|c| c.qualname == class) else {
        return String::new();
    };
    let methods: Vec<_> = f
        .functions
        .iter()
        .filter(|x| x.class.as_deref() == Some(class) && x.qualname.starts_with(class))
        .collect();
    let get = |n: u32| lines.get(n as usize - 1).copied().unwrap_or_default();
    let mut out = Vec::new();
    let first_method = methods
        .iter()
        .map(|m| m.decorator_line.unwrap_or(m.line))
        .min()
        .unwrap_or(c.end_line + 1);
    // Header and class body up to the first method: attributes, docstring.
    for n in c.decorator_line.unwrap_or(c.line)..first_method.min(c.end_line + 1) {
        out.push(get(n).to_string());
    }
    if let Some(init) = methods.iter().find(|m| m.name == "__init__") {
        for n in init.decorator_line.unwrap_or(init.line)..=init.end_line.min(init.line + 30) {
            out.push(get(n).to_string());
        }
    }
    for m in methods
        .iter()
        .filter(|m| m.name != "__init__" && !m.qualname.ends_with(&target.qualname))
    {
        out.push(get(m.line).to_string()); // signatures only
    }
    out.join("\n")
}

/// (route, app module, app object) of a route target.
fn route_of(file: Option<&FileIndex>, target: &Target) -> (String, String, String) {
    let Some(r) = file
        .filter(|_| target.kind == TargetKind::Route)
        .and_then(|f| f.routes.iter().find(|r| r.function == target.qualname))
    else {
        return Default::default();
    };
    let methods = if r.methods.is_empty() {
        "GET".to_string()
    } else {
        r.methods.join(", ")
    };
    (
        format!("{methods} {}", r.route),
        target.module.clone(),
        r.owner.clone().unwrap_or_else(|| "app".into()),
    )
}
