//! What the fixer knows around a failing test, through the index: the
//! definitions the test imports, the project frames of its traceback, the
//! routes it calls (the model's context); and, for a code bug, the
//! function that raised and the call that made it raise.

use std::path::Path;

use crate::generate::{Finder, SuspectedBug};
use crate::index::model::{FileIndex, FunctionInfo, RelPath};

use super::deterministic::Facts;
use super::failure::Failure;
use super::model::{Context, Snippet};

/// Lines of one definition shown at most (the reference's limit).
const MAX_LINES: usize = 200;
const MAX_TRACEBACK: usize = 6000;

pub fn model_context(f: &Failure, test_source: &str, facts: &Facts, root: &Path) -> Context {
    let mut snippets = Vec::new();
    for imp in &facts.file.imports {
        for name in &imp.names {
            if !test_source.contains(name.as_str()) && !is_module_level(imp.line, facts.file) {
                continue;
            }
            if let Some((path, fi)) = module_file(facts, &imp.module) {
                if let Some(def) = fi
                    .functions
                    .iter()
                    .find(|d| d.depth == 0 && &d.name == name)
                {
                    push(
                        &mut snippets,
                        root,
                        &path,
                        def.decorator_line.unwrap_or(def.line),
                        def.end_line,
                        "imported",
                    );
                } else if let Some(c) = fi.classes.iter().find(|c| &c.qualname == name) {
                    push(
                        &mut snippets,
                        root,
                        &path,
                        c.decorator_line.unwrap_or(c.line),
                        c.end_line,
                        "imported",
                    );
                }
            }
        }
    }
    for fr in f.frames.iter().filter(|fr| fr.in_project && !fr.is_test) {
        let path = RelPath::new(&fr.file);
        if let Some(def) = facts
            .index
            .file(&path)
            .and_then(|fi| enclosing(&fi, fr.line).cloned())
        {
            push(
                &mut snippets,
                root,
                &path,
                def.decorator_line.unwrap_or(def.line),
                def.end_line,
                "traceback",
            );
        }
    }
    let mut routes = Vec::new();
    for (path, fi) in facts.index.snapshot() {
        for r in &fi.routes {
            let literal = |q: char| format!("{q}{}", r.route);
            if test_source.contains(&literal('"')) || test_source.contains(&literal('\'')) {
                routes.push(format!(
                    "{} {} -> {} ({}:{})",
                    r.methods.join("|"),
                    r.route,
                    r.function,
                    path,
                    r.line
                ));
                if let Some(def) = fi.functions.iter().find(|d| d.qualname == r.function) {
                    push(
                        &mut snippets,
                        root,
                        &path,
                        def.decorator_line.unwrap_or(def.line),
                        def.end_line,
                        "route",
                    );
                }
            }
        }
    }
    let tb = &f.traceback;
    let traceback = if tb.len() > MAX_TRACEBACK {
        let mut cut = tb.len() - MAX_TRACEBACK;
        while !tb.is_char_boundary(cut) {
            cut += 1;
        }
        format!("...\n{}", &tb[cut..])
    } else {
        tb.clone()
    };
    Context {
        nodeid: f.nodeid.clone(),
        file: f.file.to_string(),
        test_source: test_source.to_string(),
        error: f.error_line(),
        traceback,
        snippets,
        routes,
        framework: facts.framework.as_str().to_string(),
    }
}

fn is_module_level(line: u32, fi: &FileIndex) -> bool {
    !fi.functions
        .iter()
        .any(|f| (f.line..=f.end_line).contains(&line))
}

fn push(
    out: &mut Vec<Snippet>,
    root: &Path,
    path: &RelPath,
    start: u32,
    end: u32,
    why: &'static str,
) {
    let location = format!("{path}:{start}");
    if out.iter().any(|s| s.location == location) {
        return;
    }
    let Ok(text) = std::fs::read_to_string(root.join(path.as_str())) else {
        return;
    };
    let source: Vec<&str> = text
        .lines()
        .skip(start as usize - 1)
        .take(((end - start + 1) as usize).min(MAX_LINES))
        .collect();
    out.push(Snippet {
        location,
        why,
        source: source.join("\n"),
    });
}

/// The project file of dotted `module` (`a/b.py` or `a/b/__init__.py`).
fn module_file(facts: &Facts, module: &str) -> Option<(RelPath, std::sync::Arc<FileIndex>)> {
    let base = module.replace('.', "/");
    let prefix = if facts.python_prefix.is_empty() {
        String::new()
    } else {
        format!("{}/", facts.python_prefix)
    };
    [
        format!("{prefix}{base}.py"),
        format!("{prefix}{base}/__init__.py"),
    ]
    .into_iter()
    .map(RelPath::new)
    .find_map(|p| facts.index.file(&p).map(|fi| (p, fi)))
}

/// The innermost function whose lines hold `line`.
fn enclosing(fi: &FileIndex, line: u32) -> Option<&FunctionInfo> {
    fi.functions
        .iter()
        .filter(|f| (f.decorator_line.unwrap_or(f.line)..=f.end_line).contains(&line))
        .max_by_key(|f| f.depth)
}

/// The code bug `f` shows: the function that raised (the traceback's last
/// project frame) and the test's call of it, with the test's argument
/// values where pytest printed them.
pub fn suspected_bug(f: &Failure, reason: &str, facts: &Facts) -> Option<SuspectedBug> {
    let frame = f.last_project_frame()?;
    let path = RelPath::new(&frame.file);
    let def = facts
        .index
        .file(&path)
        .and_then(|fi| enclosing(&fi, frame.line).cloned());
    let target = match &def {
        Some(d) => format!("{path}::{}", d.qualname),
        None => path.to_string(),
    };
    let statement = f
        .test_frame()
        .and_then(|t| t.source.clone())
        .unwrap_or_default();
    let call = def
        .as_ref()
        .and_then(|d| call_of(&statement, &d.name))
        .unwrap_or(statement);
    Some(SuspectedBug {
        target,
        file: frame.file.clone(),
        line: frame.line,
        input: with_values(&call, &locals(&f.traceback)),
        error: f.error_line(),
        reason: reason.to_string(),
        test: Some(f.nodeid.clone()),
        found_by: Finder::Fixer,
    })
}

/// `name(...)` in `statement`, parentheses matched.
fn call_of(statement: &str, name: &str) -> Option<String> {
    let mut from = 0;
    while let Some(at) = statement[from..]
        .find(&format!("{name}("))
        .map(|a| a + from)
    {
        let before = statement[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            from = at + 1;
            continue;
        }
        let mut depth = 0;
        for (i, c) in statement[at..].char_indices() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some(statement[at..at + i + 1].to_string());
                    }
                }
                _ => {}
            }
        }
        return None;
    }
    None
}

/// The test's arguments pytest printed at the top of its entry
/// (`sample_items = [...]`).
fn locals(tb: &str) -> Vec<(String, String)> {
    tb.lines()
        .take_while(|l| {
            !l.trim_start().starts_with("def ") && !l.trim_start().starts_with("async def ")
        })
        .filter_map(|l| {
            let (k, v) = l.split_once(" = ")?;
            (k.chars().all(|c| c.is_alphanumeric() || c == '_') && !k.is_empty())
                .then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// `f(a, b)` with the bare-name arguments that have printed values replaced.
fn with_values(call: &str, values: &[(String, String)]) -> String {
    let Some(open) = call.find('(') else {
        return call.to_string();
    };
    let inner = &call[open + 1..call.len().saturating_sub(1)];
    if values.is_empty() || inner.contains(['(', '[', '{', '"', '\'']) {
        return call.to_string();
    }
    let args: Vec<String> = inner
        .split(',')
        .map(|a| {
            let a = a.trim();
            let (kw, name) = match a.split_once('=') {
                Some((k, v)) => (format!("{}=", k.trim()), v.trim()),
                None => (String::new(), a),
            };
            match values.iter().find(|(k, _)| k == name) {
                Some((_, v)) => format!("{kw}{v}"),
                None => a.to_string(),
            }
        })
        .collect();
    format!("{}({})", &call[..open], args.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_with_its_values() {
        let s = "assert last_price(sample_items) == 12.0";
        let call = call_of(s, "last_price").unwrap();
        assert_eq!(call, "last_price(sample_items)");
        let tb = "sample_items = [('pen', 1.5)]\n\n    def test_x(sample_items):\n>       assert x\nitems = [1]";
        assert_eq!(
            with_values(&call, &locals(tb)),
            "last_price([('pen', 1.5)])"
        );
        assert_eq!(
            call_of(
                "assert not_last_price(1) and last_price(f(2))",
                "last_price"
            )
            .unwrap(),
            "last_price(f(2))"
        );
    }
}
