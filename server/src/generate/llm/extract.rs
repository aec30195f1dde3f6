//! From a model's answer to tests: the code (fenced or not), parsed with
//! the ruff parser, at least one `def test_`, then cleaned on the syntax
//! tree (never with regexes): fake application objects, HTML-content
//! assertions, fixtures the conftest already has, markers of another
//! framework go; FastAPI's validation status 400 becomes 422; imports of
//! modules that do not exist point at the project module defining the
//! names. Each test comes out standing alone, with the imports it needs.

use std::collections::{BTreeMap, BTreeSet};

use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{Expr, Stmt, StmtFunctionDef};
use ruff_text_size::{Ranged, TextRange};

use crate::generate::engine::TestSource;
use crate::index::model::Framework;

/// What the cleaning needs to know about the project.
#[derive(Debug, Clone, Default)]
pub struct Project {
    pub framework: Option<Framework>,
    /// Fixtures the project's conftest files define (never redefined).
    pub conftest_fixtures: BTreeSet<String>,
    /// Dotted module name → the top-level names it defines.
    pub modules: BTreeMap<String, BTreeSet<String>>,
    /// The code under test answers 400 itself (`HTTPException(400)`):
    /// then a test expecting 400 is right, and is not rewritten to 422.
    pub answers_400: bool,
}

/// The tests of one answer, and what was removed from it (for the log and
/// the repair message).
#[derive(Debug, Default)]
pub struct Extracted {
    pub tests: Vec<TestSource>,
    pub removed: Vec<String>,
}

/// Python code of an answer: the fenced blocks (```python or bare ```),
/// joined; the whole text when it has none.
pub fn code_of(answer: &str) -> String {
    enum Fence {
        Outside,
        Python(Vec<String>),
        Other,
    }
    let mut blocks = Vec::new();
    let mut state = Fence::Outside;
    for line in answer.lines() {
        let Some(rest) = line.trim_start().strip_prefix("```") else {
            if let Fence::Python(b) = &mut state {
                b.push(line.to_string());
            }
            continue;
        };
        state = match std::mem::replace(&mut state, Fence::Outside) {
            Fence::Python(b) => {
                blocks.push(b.join("\n"));
                Fence::Outside
            }
            Fence::Other => Fence::Outside,
            Fence::Outside => {
                let lang = rest.trim().to_ascii_lowercase();
                if lang.is_empty() || lang.starts_with("py") {
                    Fence::Python(Vec::new())
                } else {
                    Fence::Other
                }
            }
        };
    }
    if let Fence::Python(b) = state {
        blocks.push(b.join("\n")); // an unclosed fence runs to the end
    }
    blocks.retain(|b| !b.trim().is_empty());
    if blocks.is_empty() {
        answer.to_string()
    } else {
        blocks.join("\n\n")
    }
}

/// The answer's tests, cleaned; an error says why there are none (the
/// repair round sends it back).
pub fn extract(answer: &str, p: &Project) -> Result<Extracted, String> {
    let code = code_of(answer);
    let parsed = ruff_python_parser::parse_module(&code)
        .map_err(|e| format!("the code does not parse: {}", e.error))?;
    let module = parsed.syntax();
    let text = |r: TextRange| code[r.start().to_usize()..r.end().to_usize()].to_string();
    let mut imports = Vec::new();
    let mut removed = Vec::new();
    let mut tests = Vec::new();
    let mut helpers = Vec::new();
    for stmt in &module.body {
        match stmt {
            Stmt::Import(_) | Stmt::ImportFrom(_) => match fix_import(stmt, &text(stmt.range()), p)
            {
                Some(line) => imports.push(line),
                None => removed.push(format!("import {}", text(stmt.range()))),
            },
            Stmt::Assign(_) | Stmt::AnnAssign(_) if is_fake_app(stmt) => {
                removed.push(format!("a fake application object: {}", text(stmt.range())))
            }
            Stmt::FunctionDef(f)
                if is_fixture(f) && p.conftest_fixtures.contains(f.name.as_str()) =>
            {
                removed.push(format!("fixture {} (the conftest has it)", f.name))
            }
            Stmt::FunctionDef(f) if f.name.starts_with("test_") => match clean_test(f, &code, p) {
                Ok((source, mut why)) => {
                    removed.append(&mut why);
                    tests.push((f.name.to_string(), source));
                }
                Err(why) => removed.push(why),
            },
            Stmt::ClassDef(c) if c.name.starts_with("Test") => removed.push(format!(
                "test class {} (write top-level test functions)",
                c.name
            )),
            other => match helper(other, &code) {
                Some(h) => helpers.push(h),
                None => removed.push(format!(
                    "module-level code outside a test: {}",
                    first_line(&text(other.range()))
                )),
            },
        }
    }
    let tests: Vec<(String, String)> = tests
        .into_iter()
        .map(|(name, source)| {
            let source = with_helpers(&source, &helpers);
            (name, source)
        })
        .collect();
    for h in &helpers {
        if !tests.iter().any(|(_, s)| s.contains(h.source.trim_end())) {
            removed.push(format!("{} (no test uses it)", h.names.join(", ")));
        }
    }
    if tests.is_empty() {
        return Err(if removed.is_empty() {
            "the answer has no `def test_` function".into()
        } else {
            format!(
                "the answer has no usable `def test_` function ({})",
                removed.join("; ")
            )
        });
    }
    imports.sort();
    imports.dedup();
    let imports = with_pytest(imports, &tests);
    Ok(Extracted {
        tests: tests
            .into_iter()
            .map(|(name, source)| TestSource {
                fixtures: fixtures_used(&source, &name, p),
                imports: imports_used(&imports, &source),
                name,
                source,
            })
            .collect(),
        removed,
    })
}

/// A top-level helper the model wrote beside its tests: a function (a
/// fixture too), a class, or a constant.
#[derive(Debug)]
struct Helper {
    names: Vec<String>,
    /// Dedented, decorators included.
    source: String,
}

fn helper(stmt: &Stmt, code: &str) -> Option<Helper> {
    let names = match stmt {
        Stmt::FunctionDef(f) => vec![f.name.to_string()],
        Stmt::ClassDef(c) => vec![c.name.to_string()],
        Stmt::Assign(a) => a
            .targets
            .iter()
            .flat_map(|t| match t {
                Expr::Name(n) => vec![n.id.to_string()],
                Expr::Tuple(t) => t
                    .elts
                    .iter()
                    .filter_map(|e| e.as_name_expr().map(|n| n.id.to_string()))
                    .collect(),
                _ => Vec::new(),
            })
            .collect(),
        Stmt::AnnAssign(a) if a.value.is_some() => match &*a.target {
            Expr::Name(n) => vec![n.id.to_string()],
            _ => Vec::new(),
        },
        _ => Vec::new(),
    };
    if names.is_empty() {
        return None;
    }
    let decorators = match stmt {
        Stmt::FunctionDef(f) => f.decorator_list.first().map(|d| d.range().start()),
        Stmt::ClassDef(c) => c.decorator_list.first().map(|d| d.range().start()),
        _ => None,
    };
    let start = decorators.unwrap_or(stmt.range().start()).to_usize();
    let start = code[..start].rfind('\n').map_or(0, |i| i + 1);
    Some(Helper {
        names,
        source: dedent(&code[start..stmt.range().end().to_usize()]),
    })
}

/// `test` after the helpers it uses, directly or through another helper,
/// in the answer's order: the test stands alone with them.
fn with_helpers(test: &str, helpers: &[Helper]) -> String {
    let mut used = vec![false; helpers.len()];
    let mut frontier = vec![test.to_string()];
    while let Some(text) = frontier.pop() {
        let words = words(&text);
        for (i, h) in helpers.iter().enumerate() {
            if !used[i] && h.names.iter().any(|n| words.contains(n.as_str())) {
                used[i] = true;
                frontier.push(h.source.clone());
            }
        }
    }
    let mut out: Vec<&str> = helpers
        .iter()
        .zip(&used)
        .filter(|(_, u)| **u)
        .map(|(h, _)| h.source.trim_end())
        .collect();
    out.push(test.trim_end());
    let mut joined = out.join("\n\n\n");
    joined.push('\n');
    joined
}

fn words(text: &str) -> BTreeSet<&str> {
    text.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect()
}

fn first_line(s: &str) -> String {
    s.lines()
        .next()
        .unwrap_or_default()
        .chars()
        .take(80)
        .collect()
}

fn with_pytest(mut imports: Vec<String>, tests: &[(String, String)]) -> Vec<String> {
    let uses = tests.iter().any(|(_, s)| s.contains("pytest."));
    if uses && !imports.iter().any(|i| i == "import pytest") {
        imports.push("import pytest".into());
    }
    imports
}

/// The import lines `source` refers to (a name it mentions); imports are
/// kept whole, so an unused name on a kept line is harmless.
fn imports_used(imports: &[String], source: &str) -> Vec<String> {
    let words = words(source);
    imports
        .iter()
        .filter(|line| bound_names(line).iter().any(|n| words.contains(n.as_str())))
        .cloned()
        .collect()
}

/// Names an import line binds (`import a.b` binds `a`; `as` aliases).
fn bound_names(line: &str) -> Vec<String> {
    let names = match line.split_once(" import ") {
        Some((_, n)) if line.starts_with("from ") => n,
        _ => line.trim_start_matches("import "),
    };
    names
        .trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .filter_map(|n| {
            let n = n.trim();
            let bound = n.rsplit(" as ").next()?.trim();
            let bound = if line.starts_with("from ") {
                bound
            } else {
                bound.split('.').next()?
            };
            (!bound.is_empty()).then(|| bound.to_string())
        })
        .collect()
}

fn fixtures_used(source: &str, name: &str, p: &Project) -> Vec<String> {
    let Ok(parsed) = ruff_python_parser::parse_module(source) else {
        return Vec::new();
    };
    let test = parsed.syntax().body.iter().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.as_str() == name => Some(f),
        _ => None,
    });
    let Some(f) = test else {
        return Vec::new();
    };
    f.parameters
        .iter_non_variadic_params()
        .map(|a| a.parameter.name.to_string())
        .filter(|n| p.conftest_fixtures.contains(n) || n == "client")
        .collect()
}

/// A `from X import names` whose module is not the project's nor
/// importable as written is pointed at the project module that defines
/// all the names; `None`: a project-relative import that cannot be fixed.
fn fix_import(stmt: &Stmt, line: &str, p: &Project) -> Option<String> {
    let Stmt::ImportFrom(i) = stmt else {
        return Some(line.to_string());
    };
    if i.level > 0 {
        return None; // relative imports mean nothing in tests/generated/
    }
    let module = i.module.as_ref()?.to_string();
    if p.modules.contains_key(&module) || p.modules.is_empty() {
        return Some(line.to_string());
    }
    let top = module.split('.').next().unwrap_or_default();
    let project_tops: BTreeSet<&str> = p
        .modules
        .keys()
        .map(|m| m.split('.').next().unwrap_or_default())
        .collect();
    let names: Vec<&str> = i.names.iter().map(|a| a.name.as_str()).collect();
    let last = module.rsplit('.').next().unwrap_or_default();
    // Only what looks like the project's: a known top-level package, or a
    // module named like one of the project's (`from inventory import`).
    let looks_ours =
        project_tops.contains(top) || p.modules.keys().any(|m| m.rsplit('.').next() == Some(last));
    if !looks_ours {
        return Some(line.to_string()); // a third-party or stdlib module
    }
    let defines = |m: &&String| names.iter().all(|n| p.modules[*m].contains(*n));
    let real = p
        .modules
        .keys()
        .filter(defines)
        .min_by_key(|m| (m.rsplit('.').next() != Some(last), m.len()))?;
    let rest = line.split_once(" import ")?.1;
    Some(format!("from {real} import {rest}"))
}

/// `app = Flask(__name__)`, `app = FastAPI()`, `bp = Blueprint(...)` in a
/// test file: an application that is not the project's.
fn is_fake_app(stmt: &Stmt) -> bool {
    let value = match stmt {
        Stmt::Assign(a) => Some(&*a.value),
        Stmt::AnnAssign(a) => a.value.as_deref(),
        _ => None,
    };
    let Some(Expr::Call(call)) = value else {
        return false;
    };
    let name = match &*call.func {
        Expr::Name(n) => n.id.to_string(),
        Expr::Attribute(a) => a.attr.to_string(),
        _ => return false,
    };
    matches!(
        name.as_str(),
        "Flask" | "FastAPI" | "Blueprint" | "APIRouter" | "Starlette"
    )
}

fn is_fixture(f: &StmtFunctionDef) -> bool {
    f.decorator_list.iter().any(|d| {
        let e = match &d.expression {
            Expr::Call(c) => &*c.func,
            e => e,
        };
        matches!(e, Expr::Attribute(a) if a.attr.as_str() == "fixture")
            || matches!(e, Expr::Name(n) if n.id.as_str() == "fixture")
    })
}

/// One test's source with the edits of the cleaning applied; an error when
/// nothing would be left to assert.
fn clean_test(
    f: &StmtFunctionDef,
    code: &str,
    p: &Project,
) -> Result<(String, Vec<String>), String> {
    let mut edits: Vec<(TextRange, String)> = Vec::new();
    let mut why = Vec::new();
    for d in &f.decorator_list {
        let t = &code[d.range().start().to_usize()..d.range().end().to_usize()];
        if let Some(reason) = wrong_marker(t, f.is_async, p.framework) {
            // The whole decorator line, `@` to the newline.
            let start = code[..d.range().start().to_usize()]
                .rfind('\n')
                .map_or(0, |i| i + 1);
            let end = code[d.range().end().to_usize()..]
                .find('\n')
                .map_or(code.len(), |i| d.range().end().to_usize() + i + 1);
            edits.push((
                TextRange::new((start as u32).into(), (end as u32).into()),
                String::new(),
            ));
            why.push(format!("{}: {reason}", f.name));
        }
    }
    let mut v = BodyVisitor {
        code,
        fastapi: p.framework == Some(Framework::Fastapi) && !p.answers_400,
        edits: Vec::new(),
        asserts: 0,
        html: 0,
    };
    for s in &f.body {
        v.visit_stmt(s);
    }
    if v.html > 0 {
        why.push(format!(
            "{}: {} assertion(s) on HTML content",
            f.name, v.html
        ));
    }
    if v.asserts == 0 && v.html > 0 {
        return Err(format!("{}: it only asserted on HTML content", f.name));
    }
    edits.append(&mut v.edits);
    // The range of the def, decorators included.
    let start = f
        .decorator_list
        .first()
        .map_or(f.range().start(), |d| d.range().start());
    let start = code[..start.to_usize()].rfind('\n').map_or(0, |i| i + 1);
    let end = f.range().end().to_usize();
    let mut source = code[start..end].to_string();
    edits.sort_by_key(|(r, _)| std::cmp::Reverse(r.start()));
    for (r, new) in edits {
        let (a, b) = (r.start().to_usize() - start, r.end().to_usize() - start);
        source.replace_range(a..b.min(source.len()), &new);
    }
    let source = dedent(&source);
    ruff_python_parser::parse_module(&source)
        .map_err(|e| format!("{}: does not parse after cleaning: {}", f.name, e.error))?;
    Ok((source, why))
}

/// A decorator that belongs to another framework or kind of test.
fn wrong_marker(text: &str, is_async: bool, fw: Option<Framework>) -> Option<&'static str> {
    let t = text.trim_start_matches('@');
    if t.starts_with("pytest.mark.django_db") && fw != Some(Framework::Django) {
        return Some("django_db outside Django");
    }
    if (t.starts_with("pytest.mark.asyncio") || t.starts_with("pytest.mark.anyio")) && !is_async {
        return Some("an async marker on a plain function");
    }
    if t.starts_with("pytest.mark.asyncio") {
        return Some("asyncio marker (pytest-asyncio may not be installed)");
    }
    None
}

fn dedent(s: &str) -> String {
    let indent = s
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out: String = s
        .lines()
        .map(|l| l.get(indent..).unwrap_or(l.trim_start()))
        .collect::<Vec<_>>()
        .join("\n");
    out.push('\n');
    out
}

struct BodyVisitor<'c> {
    code: &'c str,
    fastapi: bool,
    edits: Vec<(TextRange, String)>,
    asserts: usize,
    html: usize,
}

impl<'a> Visitor<'a> for BodyVisitor<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Assert(a) = stmt {
            if mentions_html(&a.test) {
                self.html += 1;
                self.edits.push((stmt.range(), "pass".into()));
                return;
            }
            self.asserts += 1;
            if self.fastapi {
                self.status_422(&a.test);
            }
        }
        if let Stmt::FunctionDef(_) | Stmt::ClassDef(_) = stmt {
            self.asserts += 1; // nested helpers: left alone
            return;
        }
        visitor::walk_stmt(self, stmt);
    }
}

impl BodyVisitor<'_> {
    /// `x.status_code == 400` → `== 422`: FastAPI answers invalid input
    /// with 422.
    fn status_422(&mut self, test: &Expr) {
        let Expr::Compare(c) = test else { return };
        let is_status =
            |e: &Expr| matches!(e, Expr::Attribute(a) if a.attr.as_str() == "status_code");
        let sides = std::iter::once(&*c.left).chain(c.comparators.iter());
        if !sides.clone().any(is_status) {
            return;
        }
        for e in sides {
            if let Expr::NumberLiteral(n) = e {
                let r = n.range();
                if &self.code[r.start().to_usize()..r.end().to_usize()] == "400" {
                    self.edits.push((r, "422".into()));
                }
            }
        }
    }
}

/// An assertion on markup: a string literal holding a tag, or a `.text` /
/// `.data` compared with or searched for one.
fn mentions_html(e: &Expr) -> bool {
    struct Finder(bool);
    impl<'a> Visitor<'a> for Finder {
        fn visit_expr(&mut self, e: &'a Expr) {
            match e {
                Expr::StringLiteral(s) => {
                    let v = s.value.to_str();
                    self.0 |= looks_like_markup(v);
                }
                Expr::BytesLiteral(b) => {
                    let bytes: Vec<u8> = b.value.bytes().collect();
                    self.0 |= looks_like_markup(&String::from_utf8_lossy(&bytes));
                }
                _ => visitor::walk_expr(self, e),
            }
        }
    }
    let mut f = Finder(false);
    f.visit_expr(e);
    f.0
}

fn looks_like_markup(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    [
        "<html",
        "<div",
        "<body",
        "<h1",
        "<p>",
        "<span",
        "<form",
        "<!doctype",
        "<title",
        "<li",
        "<ul",
        "<table",
    ]
    .iter()
    .any(|t| lower.contains(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project() -> Project {
        let mut modules = BTreeMap::new();
        modules.insert(
            "plainlib.inventory".to_string(),
            ["Stock", "restock"].map(String::from).into(),
        );
        modules.insert("plainlib".to_string(), BTreeSet::new());
        Project {
            framework: Some(Framework::Fastapi),
            conftest_fixtures: ["client".to_string()].into(),
            modules,
            answers_400: false,
        }
    }

    #[test]
    fn fenced_code_with_prose() {
        let a = "Here you go:\n```python\nimport os\n\ndef test_a():\n    assert os.sep\n```\nAnd some notes.\n```bash\npytest\n```\n";
        let e = extract(a, &project()).unwrap();
        assert_eq!(e.tests.len(), 1);
        assert_eq!(e.tests[0].name, "test_a");
        assert_eq!(e.tests[0].imports, vec!["import os"]);
    }

    #[test]
    fn syntax_errors_and_no_tests_are_errors() {
        assert!(extract("def test_a(:\n  pass", &project())
            .unwrap_err()
            .contains("parse"));
        assert!(extract("x = 1\n", &project())
            .unwrap_err()
            .contains("def test_"));
    }

    #[test]
    fn cleaning_on_the_tree() {
        let a = r#"
import pytest
from fastapi import FastAPI
from inventory import Stock
from .x import y

app = FastAPI()

@pytest.fixture
def client():
    return None

@pytest.mark.django_db
def test_create(client):
    r = client.post("/items", json={})
    assert r.status_code == 400
    assert "<div>" in r.text

def test_only_html(client):
    assert "<html>" in client.get("/").text

def test_stock():
    assert Stock(1)
"#;
        let e = extract(a, &project()).unwrap();
        let names: Vec<_> = e.tests.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["test_create", "test_stock"], "{:?}", e.removed);
        let create = &e.tests[0];
        assert!(create.source.contains("== 422"), "{}", create.source);
        assert!(!create.source.contains("<div>"), "{}", create.source);
        assert!(!create.source.contains("django_db"), "{}", create.source);
        assert_eq!(create.fixtures, ["client"]);
        assert_eq!(e.tests[1].imports, ["from plainlib.inventory import Stock"]);
        assert!(e.removed.iter().any(|r| r.contains("fake application")));
        assert!(e.removed.iter().any(|r| r.contains("fixture client")));
        let own_400 = Project {
            answers_400: true,
            ..project()
        };
        let e = extract(a, &own_400).unwrap();
        assert!(
            e.tests[0].source.contains("== 400"),
            "the route's own 400 stays"
        );
    }

    #[test]
    fn helpers_fixtures_and_constants_go_with_the_tests_using_them() {
        let a = r#"
import pytest
from plainlib.inventory import Stock

BASE = 5
UNUSED = 1


def make_stock(n=BASE):
    return Stock(n)


@pytest.fixture
def stock():
    return make_stock()


def test_uses_fixture(stock):
    assert stock


def test_uses_helper():
    assert make_stock(2)


def test_plain():
    assert True
"#;
        let e = extract(a, &project()).unwrap();
        let by = |n: &str| e.tests.iter().find(|t| t.name == n).unwrap();
        let f = &by("test_uses_fixture").source;
        for part in [
            "BASE = 5",
            "def make_stock",
            "@pytest.fixture\ndef stock",
            "def test_uses_fixture",
        ] {
            assert!(f.contains(part), "{part} missing:\n{f}");
        }
        assert!(
            f.find("BASE = 5") < f.find("def make_stock"),
            "answer order:\n{f}"
        );
        assert!(!f.contains("UNUSED"), "{f}");
        assert_eq!(
            by("test_uses_fixture").imports,
            ["from plainlib.inventory import Stock", "import pytest"]
        );
        let h = &by("test_uses_helper").source;
        assert!(
            h.contains("def make_stock") && !h.contains("def stock"),
            "{h}"
        );
        assert_eq!(
            by("test_plain").source,
            "def test_plain():\n    assert True\n"
        );
        assert!(
            e.removed.iter().any(|r| r.contains("UNUSED")),
            "{:?}",
            e.removed
        );
        assert!(ruff_python_parser::parse_module(f).is_ok());
    }
}
