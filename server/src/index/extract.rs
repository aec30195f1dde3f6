//! One pass over a parsed module that fills a [`FileIndex`]: functions and
//! methods with Python's `__qualname__`, classes, imports, and (through
//! `web.rs`) routes and Django components.

use ruff_python_ast::{
    self as ast, ExceptHandler, Expr, ModModule, Parameters, PySourceType, Stmt,
};
use ruff_python_parser::parse_unchecked_source;
use ruff_text_size::{Ranged, TextRange, TextSize};

use super::lines::Lines;
use super::model::{
    ClassInfo, FileIndex, FunctionInfo, FunctionKind, ImportInfo, MethodRef, Param, ParamKind,
    ParseErrorInfo, RelPath,
};
use super::web;

/// Indexes already-decoded source text. Never fails: the parser recovers from
/// syntax errors and reports them, and whatever it recovers is indexed.
pub fn index_text(path: &RelPath, source: &str) -> FileIndex {
    let parsed = parse_unchecked_source(source, PySourceType::Python);
    let lines = Lines::new(source);
    let parse_errors = parsed
        .errors()
        .iter()
        .map(|e| {
            let (line, column) = lines.line_col(source, e.location.start());
            ParseErrorInfo {
                path: path.clone(),
                line,
                column,
                message: e.error.to_string(),
            }
        })
        .collect();
    let module = parsed.syntax();
    let mut ex = Extractor {
        path,
        source,
        lines: &lines,
        scopes: Vec::new(),
        out: FileIndex {
            parse_errors,
            line_count: lines.count(),
            ..FileIndex::default()
        },
    };
    ex.suite(&module.body);
    ex.web(module);
    ex.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ScopeKind {
    Function,
    Class,
}

struct Scope {
    name: String,
    kind: ScopeKind,
    /// Index of the class in `out.classes`, to record its methods.
    class_index: Option<usize>,
}

struct Extractor<'a> {
    path: &'a RelPath,
    source: &'a str,
    lines: &'a Lines,
    scopes: Vec<Scope>,
    out: FileIndex,
}

impl Extractor<'_> {
    fn text(&self, range: TextRange) -> String {
        self.source
            .get(range.start().to_usize()..range.end().to_usize())
            .unwrap_or_default()
            .to_string()
    }

    fn line(&self, offset: TextSize) -> u32 {
        self.lines.line(offset)
    }

    /// The qualname prefix for a definition in the current scope, as
    /// CPython builds `__qualname__`: functions add `.<locals>`.
    fn qualname(&self, name: &str) -> String {
        let mut q = String::new();
        for scope in &self.scopes {
            q.push_str(&scope.name);
            q.push('.');
            if scope.kind == ScopeKind::Function {
                q.push_str("<locals>.");
            }
        }
        q.push_str(name);
        q
    }

    fn suite(&mut self, body: &[Stmt]) {
        for stmt in body {
            self.stmt(stmt);
        }
    }

    /// Visits a statement; definitions nested in compound statements
    /// (if/try/with/for/while/match) belong to the enclosing scope.
    fn stmt(&mut self, stmt: &Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => self.function(f),
            Stmt::ClassDef(c) => self.class(c),
            Stmt::Import(i) => self.import(i),
            Stmt::ImportFrom(i) => self.import_from(i),
            Stmt::If(s) => {
                self.suite(&s.body);
                for clause in &s.elif_else_clauses {
                    self.suite(&clause.body);
                }
            }
            Stmt::For(s) => {
                self.suite(&s.body);
                self.suite(&s.orelse);
            }
            Stmt::While(s) => {
                self.suite(&s.body);
                self.suite(&s.orelse);
            }
            Stmt::With(s) => self.suite(&s.body),
            Stmt::Try(s) => {
                self.suite(&s.body);
                for handler in &s.handlers {
                    let ExceptHandler::ExceptHandler(h) = handler;
                    self.suite(&h.body);
                }
                self.suite(&s.orelse);
                self.suite(&s.finalbody);
            }
            Stmt::Match(s) => {
                for case in &s.cases {
                    self.suite(&case.body);
                }
            }
            _ => {}
        }
    }

    /// The line of the `def`/`class` keyword (or `async`), which is what
    /// Python's ast reports as `lineno`; ruff's range starts at the first decorator.
    fn keyword_line(&self, stmt_start: TextSize, name_start: TextSize, keyword: &str) -> u32 {
        let start = stmt_start.to_usize();
        let head = self.source.get(start..name_start.to_usize()).unwrap_or("");
        // The keyword is the last occurrence before the name; `async` may precede `def`.
        let Some(mut pos) = head.rfind(keyword) else {
            return self.line(name_start);
        };
        if keyword == "def" {
            let before = head[..pos].trim_end_matches(|c: char| c.is_whitespace() || c == '\\');
            // A whole word only: `@sync_to_async` on the line above also ends in "async".
            if let Some(rest) = before.strip_suffix("async") {
                if !rest.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.') {
                    pos = rest.len();
                }
            }
        }
        self.line(TextSize::from((start + pos) as u32))
    }

    /// A statement's line as Python's ast reports `lineno`: for a decorated
    /// def or class that is the keyword's line, not the first decorator's.
    /// coverage.py starts a function's region there, so a decorator of the
    /// first body statement belongs to no function.
    fn stmt_line(&self, stmt: &Stmt) -> u32 {
        match stmt {
            Stmt::FunctionDef(f) => self.keyword_line(f.range.start(), f.name.range.start(), "def"),
            Stmt::ClassDef(c) => self.keyword_line(c.range.start(), c.name.range.start(), "class"),
            other => self.line(other.start()),
        }
    }

    fn function(&mut self, f: &ast::StmtFunctionDef) {
        let name = f.name.id.to_string();
        let qualname = self.qualname(&name);
        let decorators: Vec<String> = f
            .decorator_list
            .iter()
            .map(|d| self.text(d.expression.range()))
            .collect();
        let class_scope = self
            .scopes
            .last()
            .filter(|s| s.kind == ScopeKind::Class)
            .map(|_| self.scopes.iter().map(|s| s.name.as_str()));
        let class = class_scope.map(|_| {
            let prefix_len = qualname.len() - name.len() - 1;
            qualname[..prefix_len].to_string()
        });
        let kind = function_kind(class.is_some(), &decorators);
        let info = FunctionInfo {
            path: self.path.clone(),
            qualname,
            name: name.clone(),
            class,
            line: self.keyword_line(f.range.start(), f.name.range.start(), "def"),
            end_line: self.line(f.range.end()),
            decorator_line: f.decorator_list.first().map(|d| self.line(d.range.start())),
            body_line: f
                .body
                .first()
                .map_or_else(|| self.line(f.range.end()), |s| self.stmt_line(s)),
            is_async: f.is_async,
            kind,
            decorators,
            params: self.params(&f.parameters),
            docstring: docstring(&f.body),
            depth: self.scopes.len() as u32,
        };
        if let Some(ci) = self.scopes.last().and_then(|s| s.class_index) {
            self.out.classes[ci].methods.push(MethodRef { name, kind });
        }
        self.out.functions.push(info);
        self.scopes.push(Scope {
            name: f.name.id.to_string(),
            kind: ScopeKind::Function,
            class_index: None,
        });
        self.suite(&f.body);
        self.scopes.pop();
    }

    fn class(&mut self, c: &ast::StmtClassDef) {
        let name = c.name.id.to_string();
        let bases = c.arguments.as_ref().map_or_else(Vec::new, |args| {
            let positional = args.args.iter().map(|e| self.text(e.range()));
            let keywords = args.keywords.iter().map(|k| self.text(k.range()));
            positional.chain(keywords).collect()
        });
        let info = ClassInfo {
            path: self.path.clone(),
            qualname: self.qualname(&name),
            name: name.clone(),
            line: self.keyword_line(c.range.start(), c.name.range.start(), "class"),
            end_line: self.line(c.range.end()),
            decorator_line: c.decorator_list.first().map(|d| self.line(d.range.start())),
            bases,
            methods: Vec::new(),
            docstring: docstring(&c.body),
        };
        self.out.classes.push(info);
        self.scopes.push(Scope {
            name,
            kind: ScopeKind::Class,
            class_index: Some(self.out.classes.len() - 1),
        });
        self.suite(&c.body);
        self.scopes.pop();
    }

    fn params(&self, p: &Parameters) -> Vec<Param> {
        let with_default = |list: &[ast::ParameterWithDefault], kind| {
            list.iter()
                .map(|pd| Param {
                    name: pd.parameter.name.id.to_string(),
                    kind,
                    annotation: pd
                        .parameter
                        .annotation
                        .as_ref()
                        .map(|a| self.text(a.range())),
                    default: pd.default.as_ref().map(|d| self.text(d.range())),
                })
                .collect::<Vec<_>>()
        };
        let star = |param: &ast::Parameter, kind| Param {
            name: param.name.id.to_string(),
            kind,
            annotation: param.annotation.as_ref().map(|a| self.text(a.range())),
            default: None,
        };
        let mut out = with_default(&p.posonlyargs, ParamKind::PositionalOnly);
        out.extend(with_default(&p.args, ParamKind::Regular));
        out.extend(
            p.vararg
                .as_deref()
                .map(|v| star(v, ParamKind::VarPositional)),
        );
        out.extend(with_default(&p.kwonlyargs, ParamKind::KeywordOnly));
        out.extend(p.kwarg.as_deref().map(|k| star(k, ParamKind::VarKeyword)));
        out
    }

    fn import(&mut self, i: &ast::StmtImport) {
        let line = self.line(i.range.start());
        for alias in &i.names {
            self.out.imports.push(ImportInfo {
                path: self.path.clone(),
                module: alias.name.id.to_string(),
                names: Vec::new(),
                level: 0,
                line,
            });
        }
    }

    fn import_from(&mut self, i: &ast::StmtImportFrom) {
        self.out.imports.push(ImportInfo {
            path: self.path.clone(),
            module: i
                .module
                .as_ref()
                .map_or_else(String::new, |m| m.id.to_string()),
            names: i.names.iter().map(|a| a.name.id.to_string()).collect(),
            level: i.level,
            line: self.line(i.range.start()),
        });
    }

    /// Routes and Django components, from what the walk collected.
    fn web(&mut self, module: &ModModule) {
        let mut routes = Vec::new();
        for f in &self.out.functions {
            routes.extend(web::routes_for_function_in(f, &self.out.imports));
        }
        // Only modules that mention urlpatterns can hold Django URL patterns;
        // the check spares building a second line table for every other file.
        if self.source.contains("urlpatterns") {
            routes.extend(web::django_urls(
                module,
                self.source,
                &ruff_source_file::LineIndex::from_source_text(self.source),
                self.path,
            ));
        }
        let django = self
            .out
            .classes
            .iter()
            .filter_map(web::django_component)
            .collect();
        self.out.routes = routes;
        self.out.django = django;
    }
}

fn function_kind(in_class: bool, decorators: &[String]) -> FunctionKind {
    if !in_class {
        return FunctionKind::Function;
    }
    for d in decorators {
        let d = d.trim();
        let last = d.rsplit('.').next().unwrap_or(d);
        match last {
            "staticmethod" => return FunctionKind::Staticmethod,
            "classmethod" => return FunctionKind::Classmethod,
            "property" | "cached_property" | "setter" | "getter" | "deleter" => {
                return FunctionKind::Property
            }
            _ => {}
        }
    }
    FunctionKind::Method
}

/// First non-empty line of the docstring, stripped.
fn docstring(body: &[Stmt]) -> Option<String> {
    let Stmt::Expr(ast::StmtExpr { value, .. }) = body.first()? else {
        return None;
    };
    let Expr::StringLiteral(s) = value.as_ref() else {
        return None;
    };
    s.value
        .to_str()
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}
