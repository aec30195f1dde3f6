//! Routes extracted from decorator text and urls.py agree with the route
//! tables the real frameworks build (Flask's url_map, FastAPI's app.routes,
//! Django's URL resolver), obtained by importing the app in the test venv.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ruff_python_ast::Stmt;
use ruff_source_file::LineIndex;
use ruff_text_size::Ranged;
use serde_json::Value;
use testgen::index::model::{
    Framework, FunctionInfo, FunctionKind, ImportInfo, RelPath, RouteInfo,
};
use testgen::index::web::{django_urls, routes_for_function, routes_for_function_in};

fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("TESTGEN_TEST_PYTHON") {
        return PathBuf::from(p);
    }
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-test/bin/python");
    assert!(
        p.exists(),
        "{} is missing: run `bash tests/setup.sh` first (or set TESTGEN_TEST_PYTHON)",
        p.display()
    );
    p
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str, files: &[(&str, &str)]) -> Dir {
        let root =
            std::env::temp_dir().join(format!("testgen-webit-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (rel, content) in files {
            let p = root.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, content).unwrap();
        }
        Dir(root)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `script` in `dir` with the test Python (60 s limit, killed after) and parses its JSON stdout.
fn python_json(dir: &Path, script: &str) -> Value {
    let mut child = Command::new(python())
        .args(["-c", script])
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("python timed out");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json from python")
}

/// The minimum an extractor provides: module-level functions with decorator texts, and imports.
fn functions_and_imports(path: &str, source: &str) -> (Vec<FunctionInfo>, Vec<ImportInfo>) {
    let parsed = ruff_python_parser::parse_module(source).unwrap();
    let lines = LineIndex::from_source_text(source);
    let line = |offset| lines.line_index(offset).get() as u32;
    let mut functions = Vec::new();
    let mut imports = Vec::new();
    for stmt in &parsed.syntax().body {
        match stmt {
            Stmt::FunctionDef(f) => functions.push(FunctionInfo {
                path: RelPath::new(path),
                qualname: f.name.to_string(),
                name: f.name.to_string(),
                class: None,
                line: line(f.name.range().start()),
                end_line: line(f.range().end()),
                decorator_line: f.decorator_list.first().map(|d| line(d.range().start())),
                body_line: line(f.body[0].range().start()),
                is_async: f.is_async,
                kind: FunctionKind::Function,
                decorators: f
                    .decorator_list
                    .iter()
                    .map(|d| source[d.expression.range()].to_string())
                    .collect(),
                params: Vec::new(),
                docstring: None,
                depth: 0,
            }),
            Stmt::ImportFrom(i) => imports.push(ImportInfo {
                path: RelPath::new(path),
                module: i.module.as_ref().map(|m| m.to_string()).unwrap_or_default(),
                names: i.names.iter().map(|a| a.name.to_string()).collect(),
                level: i.level,
                line: line(i.range().start()),
            }),
            _ => {}
        }
    }
    (functions, imports)
}

/// (route, sorted methods, function) triples, sorted.
fn triples(routes: &[RouteInfo]) -> Vec<(String, Vec<String>, String)> {
    let mut v: Vec<_> = routes
        .iter()
        .map(|r| {
            let mut m = r.methods.clone();
            m.sort();
            (r.route.clone(), m, r.function.clone())
        })
        .collect();
    v.sort();
    v
}

fn python_triples(v: &Value) -> Vec<(String, Vec<String>, String)> {
    let mut out: Vec<_> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let methods = r[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m.as_str().unwrap().to_string())
                .collect();
            (
                r[0].as_str().unwrap().to_string(),
                methods,
                r[2].as_str().unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

const FLASK_APP: &str = r#"from flask import Blueprint, Flask, jsonify

app = Flask(__name__)
bp = Blueprint("items", __name__)


@app.route("/")
def index():
    return "hi"


@app.route("/items", methods=["GET", "POST"])
def items():
    return jsonify([])


@app.get("/items/<int:item_id>")
def get_item(item_id):
    return jsonify(item_id)


@app.delete("/items/<int:item_id>")
def delete_item(item_id):
    return "", 204


@bp.route("/bp/ping", methods=("put",))
def bp_ping():
    return "pong"


@bp.post("/bp/echo")
def bp_echo():
    return "echo"


def helper():
    return 1


app.register_blueprint(bp)
"#;

#[test]
fn flask_routes_match_flask_url_map() {
    let dir = Dir::new("flask", &[("app.py", FLASK_APP)]);
    let real = python_json(
        &dir.0,
        r#"import json
from app import app
rows = []
for rule in app.url_map.iter_rules():
    if rule.endpoint == "static":
        continue
    methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
    rows.append([rule.rule, methods, app.view_functions[rule.endpoint].__name__])
print(json.dumps(rows))
"#,
    );
    let (functions, imports) = functions_and_imports("app.py", FLASK_APP);
    let routes: Vec<RouteInfo> = functions
        .iter()
        .flat_map(|f| routes_for_function_in(f, &imports))
        .collect();
    assert!(
        routes.iter().all(|r| r.framework == Framework::Flask),
        "{routes:?}"
    );
    assert_eq!(triples(&routes), python_triples(&real));
    // The decorator line, as Python's ast reports the decorator.
    let get_item = routes.iter().find(|r| r.function == "get_item").unwrap();
    assert_eq!(get_item.line, 17);
    assert_eq!(get_item.owner.as_deref(), Some("app"));
}

const FASTAPI_APP: &str = r#"from fastapi import APIRouter, FastAPI, status
from pydantic import BaseModel

app = FastAPI()
router = APIRouter()


class Item(BaseModel):
    name: str


@app.get("/")
async def root():
    return {}


@app.post("/items", status_code=status.HTTP_201_CREATED, response_model=Item, tags=["items"])
async def create_item(item: Item):
    return item


@router.put(
    "/items/{item_id}",
    response_model=Item,
    tags=["items", "admin"],
)
def replace_item(item_id: int, item: Item):
    return item


@app.api_route("/health", methods=["GET", "HEAD"])
def health():
    return {"ok": True}


app.include_router(router)
"#;

#[test]
fn fastapi_routes_match_fastapi_routes() {
    let dir = Dir::new("fastapi", &[("main.py", FASTAPI_APP)]);
    let real = python_json(
        &dir.0,
        r#"import json
from fastapi.routing import APIRoute
from main import app

def walk(routes):
    for r in routes:
        if isinstance(r, APIRoute):
            yield [r.path, sorted(r.methods), r.endpoint.__name__, r.status_code, r.tags]
        # FastAPI >= 0.165 keeps included routers as lazy wrappers (no prefix here).
        inner = getattr(r, "original_router", None)
        if inner is not None:
            yield from walk(inner.routes)

print(json.dumps(list(walk(app.routes))))
"#,
    );
    let (functions, imports) = functions_and_imports("main.py", FASTAPI_APP);
    // Imports decide here; the one-argument form must agree on this file too.
    let with_imports: Vec<RouteInfo> = functions
        .iter()
        .flat_map(|f| routes_for_function_in(f, &imports))
        .collect();
    let guessed: Vec<RouteInfo> = functions.iter().flat_map(routes_for_function).collect();
    assert_eq!(with_imports, guessed);
    assert!(with_imports
        .iter()
        .all(|r| r.framework == Framework::Fastapi));
    assert_eq!(triples(&with_imports), python_triples(&real));

    for row in real.as_array().unwrap() {
        let name = row[2].as_str().unwrap();
        let ours = with_imports.iter().find(|r| r.function == name).unwrap();
        let tags: Vec<String> = row[4]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect();
        assert_eq!(ours.tags, tags, "{name}");
        // FastAPI resolved the status code; we keep the source text.
        match ours.status_code.as_deref() {
            Some("status.HTTP_201_CREATED") => assert_eq!(row[3], 201),
            Some(other) => panic!("unexpected status {other}"),
            None => assert!(row[3].is_null(), "{name}: {}", row[3]),
        }
    }
}

const DJANGO_URLS: &str = r#"from django.urls import include, path, re_path

from . import views

extra = [
    path("extra/<slug:slug>/", views.extra, name="extra"),
]

urlpatterns = [
    path("", views.index, name="index"),
    path("items/<int:pk>/", views.ItemDetail.as_view(), name="item-detail"),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive),
    path("more/", include(extra)),
    path("nested/", include([
        path("deep/", views.deep),
    ])),
]
urlpatterns += [path("late/", views.late)]
"#;

const DJANGO_VIEWS: &str = r#"from django.http import HttpResponse
from django.views import View


def index(request):
    return HttpResponse("i")


def extra(request, slug):
    return HttpResponse(slug)


def archive(request, year):
    return HttpResponse(year)


def deep(request):
    return HttpResponse("d")


def late(request):
    return HttpResponse("l")


class ItemDetail(View):
    def get(self, request, pk):
        return HttpResponse(str(pk))
"#;

#[test]
fn django_urls_match_django_resolver() {
    let dir = Dir::new(
        "django",
        &[
            ("shop/__init__.py", ""),
            ("shop/urls.py", DJANGO_URLS),
            ("shop/views.py", DJANGO_VIEWS),
        ],
    );
    let real = python_json(
        &dir.0,
        r#"import json
import django
from django.conf import settings
settings.configure(ROOT_URLCONF="shop.urls", INSTALLED_APPS=[])
django.setup()
from django.urls import URLPattern, URLResolver, get_resolver

def walk(patterns, prefix):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        else:
            view = getattr(p.callback, "view_class", p.callback).__name__
            yield [prefix + str(p.pattern), [], view]

print(json.dumps(list(walk(get_resolver().url_patterns, ""))))
"#,
    );
    let parsed = ruff_python_parser::parse_module(DJANGO_URLS).unwrap();
    let lines = LineIndex::from_source_text(DJANGO_URLS);
    let routes = django_urls(
        parsed.syntax(),
        DJANGO_URLS,
        &lines,
        &RelPath::new("shop/urls.py"),
    );
    // Django reports the view's name; ours is the view expression's source.
    let ours: Vec<(String, Vec<String>, String)> = {
        let mut v: Vec<_> = routes
            .iter()
            .map(|r| {
                let name = r
                    .function
                    .trim_end_matches(".as_view()")
                    .rsplit('.')
                    .next()
                    .unwrap();
                (r.route.clone(), Vec::new(), name.to_string())
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(ours, python_triples(&real));
    assert!(routes
        .iter()
        .all(|r| r.framework == Framework::Django && r.methods.is_empty()));
}
