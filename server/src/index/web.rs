//! Web-framework knowledge: Flask/FastAPI routes from decorators, Django URL
//! patterns from urls.py, Django components from class bases.
//!
//! Everything here works on source text the extractor already has: decorators
//! are re-parsed one expression at a time (after a cheap text pre-filter, so
//! plain decorators cost a substring search), urls.py on its module AST.

use std::collections::HashMap;

use ruff_python_ast::{Expr, ExprCall, ModModule, Operator, Stmt};
use ruff_source_file::LineIndex;
use ruff_text_size::Ranged;

use super::model::{
    ClassInfo, DjangoComponent, DjangoKind, Framework, FunctionInfo, ImportInfo, RelPath, RouteInfo,
};

/// Decorator attributes that declare one HTTP method (Flask 2+ and FastAPI).
const METHOD_SHORTCUTS: &[&str] = &["get", "post", "put", "patch", "delete", "head", "options"];

/// Keyword arguments only FastAPI's route decorators accept.
const FASTAPI_ONLY_KWARGS: &[&str] = &[
    "status_code",
    "response_model",
    "tags",
    "dependencies",
    "summary",
    "description",
    "response_description",
    "responses",
    "deprecated",
    "operation_id",
    "response_class",
    "include_in_schema",
    "response_model_exclude_none",
    "response_model_exclude_unset",
    "openapi_extra",
];

/// Keyword arguments only Flask's `route`/shortcut decorators accept.
const FLASK_ONLY_KWARGS: &[&str] = &[
    "endpoint",
    "strict_slashes",
    "defaults",
    "subdomain",
    "provide_automatic_options",
];

/// Routes declared by this function's decorators (`@app.route`, `@bp.get`, `@router.post`, ...).
///
/// Without the file's imports, `@x.get("/p")` is attributed by its keywords
/// and owner name alone; prefer [`routes_for_function_in`].
pub fn routes_for_function(function: &FunctionInfo) -> Vec<RouteInfo> {
    routes_for_function_in(function, &[])
}

/// Like [`routes_for_function`], using the file's imports to tell Flask's
/// `@app.get` from FastAPI's.
pub fn routes_for_function_in(function: &FunctionInfo, imports: &[ImportInfo]) -> Vec<RouteInfo> {
    let hint = ImportHint::from_imports(imports);
    let mut line = function.decorator_line.unwrap_or(function.line);
    let mut routes = Vec::new();
    for decorator in &function.decorators {
        if let Some(route) = route_from_decorator(decorator, hint) {
            routes.push(RouteInfo {
                path: function.path.clone(),
                function: function.qualname.clone(),
                line,
                ..route
            });
        }
        // Decorators sit on consecutive lines; a multi-line one spans its
        // newlines. (Comments between decorators would shift this; rare.)
        line += 1 + decorator.matches('\n').count() as u32;
    }
    routes
}

/// Which web framework the file's imports point at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ImportHint {
    Flask,
    Fastapi,
    /// Neither, or both.
    Unknown,
}

impl ImportHint {
    fn from_imports(imports: &[ImportInfo]) -> ImportHint {
        let flask = imports.iter().any(|i| is_flask_module(&i.module));
        let fastapi = imports.iter().any(|i| is_fastapi_module(&i.module));
        match (flask, fastapi) {
            (true, false) => ImportHint::Flask,
            (false, true) => ImportHint::Fastapi,
            _ => ImportHint::Unknown,
        }
    }
}

/// `flask`, `flask.views`, and extensions such as `flask_sqlalchemy`.
pub(crate) fn is_flask_module(module: &str) -> bool {
    top_package(module) == "flask" || module.starts_with("flask_")
}

/// `fastapi` and the Starlette toolkit it is built on.
pub(crate) fn is_fastapi_module(module: &str) -> bool {
    matches!(top_package(module), "fastapi" | "starlette")
}

pub(crate) fn top_package(module: &str) -> &str {
    module.split('.').next().unwrap_or(module)
}

/// Cheap text test before parsing: a route decorator is a call of one of these attributes.
fn may_be_route(text: &str) -> bool {
    text.contains('(')
        && (text.contains(".route")
            || text.contains(".api_route")
            || METHOD_SHORTCUTS
                .iter()
                .any(|m| text.contains(&format!(".{m}"))))
}

/// The route one decorator declares (path, function and line left to the caller).
fn route_from_decorator(text: &str, hint: ImportHint) -> Option<RouteInfo> {
    if !may_be_route(text) {
        return None;
    }
    // Tolerate a leading '@' although the model stores decorators without it.
    let src = text.trim().trim_start_matches('@').trim_start();
    let parsed = ruff_python_parser::parse_expression(src).ok()?;
    let Expr::Call(call) = parsed.expr() else {
        return None;
    };
    let Expr::Attribute(attr) = call.func.as_ref() else {
        return None;
    };
    let kind = attr.attr.as_str();
    let rule = route_argument(call)?;
    let owner = src[attr.value.range()].to_string();
    let framework = decorator_framework(kind, call, &owner, hint)?;
    let methods = match kind {
        "route" | "api_route" => methods_keyword(call, src).unwrap_or_else(|| vec!["GET".into()]),
        m => vec![m.to_ascii_uppercase()],
    };
    let fastapi = framework == Framework::Fastapi;
    Some(RouteInfo {
        path: RelPath::new(""),
        function: String::new(),
        route: rule,
        methods,
        framework,
        line: 0,
        owner: Some(owner),
        status_code: keyword_source(call, "status_code", src).filter(|_| fastapi),
        response_model: keyword_source(call, "response_model", src).filter(|_| fastapi),
        tags: if fastapi { tags(call, src) } else { Vec::new() },
    })
}

/// The URL rule: first positional string, or `rule=` (Flask) / `path=` (FastAPI).
/// Only "" or "/..." count: that keeps `@mock.patch("pkg.mod")` and
/// `@cache.get("key")` out.
fn route_argument(call: &ExprCall) -> Option<String> {
    let expr = call
        .arguments
        .args
        .first()
        .or_else(|| call.arguments.find_keyword("rule").map(|k| &k.value))
        .or_else(|| call.arguments.find_keyword("path").map(|k| &k.value))?;
    let Expr::StringLiteral(s) = expr else {
        return None;
    };
    let rule = s.value.to_str();
    (rule.is_empty() || rule.starts_with('/')).then(|| rule.to_string())
}

/// Flask or FastAPI, from the decorator's form, its keywords, the file's
/// imports, and last the owner's name. None when the attribute is not a route kind.
fn decorator_framework(
    kind: &str,
    call: &ExprCall,
    owner: &str,
    hint: ImportHint,
) -> Option<Framework> {
    let has_kw = |names: &[&str]| {
        call.arguments
            .keywords
            .iter()
            .any(|k| k.arg.as_ref().is_some_and(|a| names.contains(&a.as_str())))
    };
    let by_hint = match hint {
        ImportHint::Flask => Some(Framework::Flask),
        ImportHint::Fastapi => Some(Framework::Fastapi),
        ImportHint::Unknown => None,
    };
    match kind {
        "api_route" => Some(Framework::Fastapi),
        // `.route(...)` is Flask's decorator; Starlette has a deprecated one too.
        "route" if has_kw(FASTAPI_ONLY_KWARGS) => Some(Framework::Fastapi),
        "route" => Some(by_hint.unwrap_or(Framework::Flask)),
        k if METHOD_SHORTCUTS.contains(&k) => Some(if has_kw(FASTAPI_ONLY_KWARGS) {
            Framework::Fastapi
        } else if has_kw(FLASK_ONLY_KWARGS) {
            Framework::Flask
        } else {
            by_hint.unwrap_or_else(|| framework_from_owner(owner))
        }),
        _ => None,
    }
}

/// Last resort: blueprints are Flask's, everything else (`app`, `router`) is
/// most often FastAPI's, where `@app.get` is the idiom.
fn framework_from_owner(owner: &str) -> Framework {
    let last = owner
        .rsplit('.')
        .next()
        .unwrap_or(owner)
        .to_ascii_lowercase();
    if last == "bp"
        || last.ends_with("_bp")
        || last.starts_with("bp_")
        || last.contains("blueprint")
    {
        Framework::Flask
    } else {
        Framework::Fastapi
    }
}

/// `methods=[...]` as upper-case literals; None when absent. A computed
/// list (`methods=ALLOWED`) yields no methods rather than a wrong guess.
fn methods_keyword(call: &ExprCall, src: &str) -> Option<Vec<String>> {
    let value = &call.arguments.find_keyword("methods")?.value;
    let methods = elements(value, src)
        .into_iter()
        .filter_map(|e| match e {
            Element::Literal(s) => Some(s.to_ascii_uppercase()),
            Element::Other(_) => None,
        })
        .collect();
    Some(methods)
}

fn keyword_source(call: &ExprCall, name: &str, src: &str) -> Option<String> {
    call.arguments
        .find_keyword(name)
        .map(|k| src[k.value.range()].to_string())
}

/// `tags=["a", TAG]`: literal values, source text for anything else.
fn tags(call: &ExprCall, src: &str) -> Vec<String> {
    let Some(k) = call.arguments.find_keyword("tags") else {
        return Vec::new();
    };
    elements(&k.value, src)
        .into_iter()
        .map(|e| match e {
            Element::Literal(s) | Element::Other(s) => s,
        })
        .collect()
}

enum Element {
    /// A string literal's value.
    Literal(String),
    /// Any other expression's source text.
    Other(String),
}

/// The elements of a list/tuple/set literal, or the expression itself.
fn elements(expr: &Expr, src: &str) -> Vec<Element> {
    let elts: &[Expr] = match expr {
        Expr::List(l) => &l.elts,
        Expr::Tuple(t) => &t.elts,
        Expr::Set(s) => &s.elts,
        other => std::slice::from_ref(other),
    };
    elts.iter()
        .map(|e| match e {
            Expr::StringLiteral(s) => Element::Literal(s.value.to_str().to_string()),
            _ => Element::Other(src[e.range()].to_string()),
        })
        .collect()
}

// ---------------------------------------------------------------- Django components

/// Django's generic class-based views and Django REST framework's views and viewsets.
const DJANGO_VIEW_BASES: &[&str] = &[
    "View",
    "TemplateView",
    "RedirectView",
    "ListView",
    "DetailView",
    "CreateView",
    "UpdateView",
    "DeleteView",
    "FormView",
    "ArchiveIndexView",
    "YearArchiveView",
    "MonthArchiveView",
    "WeekArchiveView",
    "DayArchiveView",
    "TodayArchiveView",
    "DateDetailView",
    "LoginView",
    "LogoutView",
    "APIView",
    "GenericAPIView",
    "ListAPIView",
    "CreateAPIView",
    "RetrieveAPIView",
    "UpdateAPIView",
    "DestroyAPIView",
    "ListCreateAPIView",
    "RetrieveUpdateAPIView",
    "RetrieveDestroyAPIView",
    "RetrieveUpdateDestroyAPIView",
    "ViewSet",
    "GenericViewSet",
    "ModelViewSet",
    "ReadOnlyModelViewSet",
];

/// Modules whose `X`View/ViewSet classes are views even when not listed above.
const DJANGO_VIEW_MODULES: &[&str] = &["views", "generic", "generics", "viewsets"];

const DJANGO_MODEL_BASES: &[&str] = &["Model", "AbstractUser", "AbstractBaseUser"];
const DJANGO_FORM_BASES: &[&str] = &["Form", "ModelForm", "BaseForm", "BaseModelForm"];
const DJANGO_ADMIN_BASES: &[&str] = &["ModelAdmin", "TabularInline", "StackedInline"];

/// The Django component a class is (model, serializer, view, form, admin), if any.
/// Decided by the first base that is recognisably Django's.
pub fn django_component(class: &ClassInfo) -> Option<DjangoComponent> {
    let kind = class.bases.iter().find_map(|b| django_kind_of_base(b))?;
    Some(DjangoComponent {
        path: class.path.clone(),
        kind,
        name: class.name.clone(),
        line: class.line,
    })
}

fn django_kind_of_base(base: &str) -> Option<DjangoKind> {
    // `Generic[T]`-style subscripts and whitespace do not change the class.
    let base: String = base
        .split('[')
        .next()
        .unwrap_or(base)
        .split_whitespace()
        .collect();
    if base.contains('=') {
        return None; // metaclass=..., a keyword, not a base
    }
    let (module, name) = match base.rsplit_once('.') {
        Some((m, n)) => (Some(m.rsplit('.').next().unwrap_or(m)), n),
        None => (None, base.as_str()),
    };
    let from = |expected: &str| module.is_none_or(|m| m == expected);
    // `db.Model` is Flask-SQLAlchemy's, `BaseModel` pydantic's: only
    // `models.Model` or a bare imported `Model` count.
    if DJANGO_MODEL_BASES.contains(&name) && from("models") {
        return Some(DjangoKind::Model);
    }
    if name.ends_with("Serializer") && module.is_none_or(|m| m == "serializers") {
        return Some(DjangoKind::Serializer);
    }
    // Flask's MethodView also ends in "View".
    if name != "MethodView"
        && (DJANGO_VIEW_BASES.contains(&name)
            || (module.is_some_and(|m| DJANGO_VIEW_MODULES.contains(&m))
                && (name.ends_with("View") || name.ends_with("ViewSet"))))
    {
        return Some(DjangoKind::View);
    }
    if DJANGO_FORM_BASES.contains(&name) && from("forms") {
        return Some(DjangoKind::Form);
    }
    if DJANGO_ADMIN_BASES.contains(&name) && from("admin") {
        return Some(DjangoKind::Admin);
    }
    None
}

// ---------------------------------------------------------------- Django URLs

/// How deep references to module-level lists may nest before we stop (cycles).
/// Each `include(name)` costs two levels (the include, then the name).
const MAX_INCLUDE_DEPTH: usize = 16;
/// Expressions visited in one module at most: names of lists that mention
/// each other several times nest exponentially within the depth above
/// (`a = [a, a]` sixteen levels deep), which would take all memory.
const MAX_URL_VISITS: usize = 100_000;

/// Django URL patterns (`path()`, `re_path()`, legacy `url()`) of a urls.py
/// module: everything reachable from `urlpatterns` (assigned, `+=`-extended,
/// also under `if settings.DEBUG:`). `include("app.urls")` is recorded as a
/// route whose function is the included module; `include([...])` and
/// `include(local_list)` are expanded with the prefix prepended. Any module
/// may be passed: one without `urlpatterns` yields nothing.
pub fn django_urls(
    module: &ModModule,
    source: &str,
    lines: &LineIndex,
    path: &RelPath,
) -> Vec<RouteInfo> {
    let mut statements = Vec::new();
    flatten_module_level(&module.body, &mut statements);
    let mut lists: HashMap<&str, Vec<&Expr>> = HashMap::new();
    for stmt in &statements {
        if let Some((name, value)) = list_assignment(stmt) {
            lists.entry(name).or_default().push(value);
        }
    }
    let collector = UrlCollector {
        source,
        lines,
        path,
        lists: &lists,
        visits: std::cell::Cell::new(0),
    };
    let mut routes = Vec::new();
    for value in lists.get("urlpatterns").into_iter().flatten() {
        collector.collect(value, "", 0, &mut routes);
    }
    routes
}

/// Module-level statements, including those under `if`/`try` blocks.
fn flatten_module_level<'a>(body: &'a [Stmt], out: &mut Vec<&'a Stmt>) {
    for stmt in body {
        match stmt {
            Stmt::If(s) => {
                flatten_module_level(&s.body, out);
                for clause in &s.elif_else_clauses {
                    flatten_module_level(&clause.body, out);
                }
            }
            Stmt::Try(s) => {
                flatten_module_level(&s.body, out);
                for handler in &s.handlers {
                    let ruff_python_ast::ExceptHandler::ExceptHandler(h) = handler;
                    flatten_module_level(&h.body, out);
                }
                flatten_module_level(&s.orelse, out);
                flatten_module_level(&s.finalbody, out);
            }
            other => out.push(other),
        }
    }
}

/// `name = value`, `name: T = value`, `name += value`, with a plain name target.
fn list_assignment(stmt: &Stmt) -> Option<(&str, &Expr)> {
    let (target, value) = match stmt {
        Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], a.value.as_ref()),
        Stmt::AnnAssign(a) => (a.target.as_ref(), a.value.as_deref()?),
        Stmt::AugAssign(a) if a.op == Operator::Add => (a.target.as_ref(), a.value.as_ref()),
        _ => return None,
    };
    match target {
        Expr::Name(n) => Some((n.id.as_str(), value)),
        _ => None,
    }
}

struct UrlCollector<'a> {
    source: &'a str,
    lines: &'a LineIndex,
    path: &'a RelPath,
    lists: &'a HashMap<&'a str, Vec<&'a Expr>>,
    /// Expressions visited so far ([`MAX_URL_VISITS`]).
    visits: std::cell::Cell<usize>,
}

impl UrlCollector<'_> {
    /// Records every pattern in `expr` (a list, a concatenation, a wrapper
    /// call such as `i18n_patterns(...)`, a name of a module-level list).
    fn collect(&self, expr: &Expr, prefix: &str, depth: usize, out: &mut Vec<RouteInfo>) {
        if depth > MAX_INCLUDE_DEPTH || self.visits.get() >= MAX_URL_VISITS {
            return;
        }
        self.visits.set(self.visits.get() + 1);
        match expr {
            Expr::List(l) => l
                .elts
                .iter()
                .for_each(|e| self.collect(e, prefix, depth, out)),
            Expr::Tuple(t) => t
                .elts
                .iter()
                .for_each(|e| self.collect(e, prefix, depth, out)),
            Expr::Starred(s) => self.collect(&s.value, prefix, depth, out),
            Expr::BinOp(b) if b.op == Operator::Add => {
                self.collect(&b.left, prefix, depth, out);
                self.collect(&b.right, prefix, depth, out);
            }
            Expr::Name(n) if n.id.as_str() != "urlpatterns" || depth > 0 => {
                for value in self.lists.get(n.id.as_str()).into_iter().flatten() {
                    self.collect(value, prefix, depth + 1, out);
                }
            }
            Expr::Call(call) if is_pattern_call(call) => self.pattern(call, prefix, depth, out),
            Expr::Call(call) => call
                .arguments
                .args
                .iter()
                .for_each(|e| self.collect(e, prefix, depth, out)),
            _ => {}
        }
    }

    /// One `path(route, view, ...)` call.
    fn pattern(&self, call: &ExprCall, prefix: &str, depth: usize, out: &mut Vec<RouteInfo>) {
        let Some(route_expr) = call.arguments.find_argument_value("route", 0) else {
            return;
        };
        let Some(view) = call.arguments.find_argument_value("view", 1) else {
            return;
        };
        let route = join_route(prefix, &self.route_text(route_expr));
        if let Some(included) = include_target(view) {
            match included {
                Expr::List(_) | Expr::Tuple(_) | Expr::Name(_) if self.is_local_list(included) => {
                    self.collect(included, &route, depth + 1, out)
                }
                target => out.push(self.route(call, route, self.module_text(target))),
            }
            return;
        }
        out.push(self.route(call, route, self.text(view).to_string()));
    }

    fn is_local_list(&self, expr: &Expr) -> bool {
        match expr {
            Expr::Name(n) => self.lists.contains_key(n.id.as_str()),
            // `include(("app.urls", "ns"))` names a module; `include([path(...)])` is a list.
            Expr::Tuple(t) => !t.elts.first().is_some_and(|e| e.is_string_literal_expr()),
            _ => true,
        }
    }

    fn route(&self, call: &ExprCall, route: String, function: String) -> RouteInfo {
        RouteInfo {
            path: self.path.clone(),
            function,
            route,
            methods: Vec::new(),
            framework: Framework::Django,
            line: self.lines.line_index(call.range().start()).get() as u32,
            owner: None,
            status_code: None,
            response_model: None,
            tags: Vec::new(),
        }
    }

    /// A string literal's value; any other expression's source text.
    fn route_text(&self, expr: &Expr) -> String {
        match expr {
            Expr::StringLiteral(s) => s.value.to_str().to_string(),
            other => self.text(other).to_string(),
        }
    }

    /// `"app.urls"` -> `app.urls`; `("app.urls", "ns")` -> `app.urls`; `app.urls` as written.
    fn module_text(&self, target: &Expr) -> String {
        match target {
            Expr::Tuple(t) if !t.elts.is_empty() => self.route_text(&t.elts[0]),
            other => self.route_text(other),
        }
    }

    fn text(&self, expr: &Expr) -> &str {
        self.source
            .get(expr.range().to_std_range())
            .unwrap_or_default()
    }
}

fn callee_name(call: &ExprCall) -> Option<&str> {
    match call.func.as_ref() {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.as_str()),
        _ => None,
    }
}

fn is_pattern_call(call: &ExprCall) -> bool {
    matches!(callee_name(call), Some("path" | "re_path" | "url"))
}

/// The first argument of `include(...)`, when `view` is such a call.
fn include_target(view: &Expr) -> Option<&Expr> {
    match view {
        Expr::Call(c) if callee_name(c) == Some("include") => {
            c.arguments.find_argument_value("arg", 0)
        }
        _ => None,
    }
}

/// The full pattern of a route nested under an include prefix. A regex
/// prefix already anchors the start, so the nested `^` is dropped.
fn join_route(prefix: &str, route: &str) -> String {
    if prefix.is_empty() {
        route.to_string()
    } else {
        format!("{prefix}{}", route.strip_prefix('^').unwrap_or(route))
    }
}

#[cfg(test)]
#[path = "web_tests.rs"]
mod tests;
