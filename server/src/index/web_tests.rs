//! Unit tests of web.rs: functions and classes are built by hand, urls.py
//! modules parsed directly with ruff.

use super::*;
use crate::index::model::{FunctionKind, MethodRef};

fn function(qualname: &str, decorators: &[&str], decorator_line: u32) -> FunctionInfo {
    FunctionInfo {
        path: RelPath::new("app/routes.py"),
        qualname: qualname.to_string(),
        name: qualname.rsplit('.').next().unwrap().to_string(),
        class: None,
        line: decorator_line + decorators.len() as u32,
        end_line: decorator_line + decorators.len() as u32 + 2,
        decorator_line: (!decorators.is_empty()).then_some(decorator_line),
        body_line: decorator_line + decorators.len() as u32 + 1,
        is_async: false,
        kind: FunctionKind::Function,
        decorators: decorators.iter().map(|d| d.to_string()).collect(),
        params: Vec::new(),
        docstring: None,
        depth: 0,
    }
}

fn import(module: &str, names: &[&str]) -> ImportInfo {
    ImportInfo {
        path: RelPath::new("app/routes.py"),
        module: module.to_string(),
        names: names.iter().map(|n| n.to_string()).collect(),
        level: 0,
        line: 1,
    }
}

fn one(decorator: &str, imports: &[ImportInfo]) -> RouteInfo {
    let routes = routes_for_function_in(&function("handler", &[decorator], 10), imports);
    assert_eq!(routes.len(), 1, "{decorator}: {routes:?}");
    routes.into_iter().next().unwrap()
}

fn none(decorator: &str) {
    let routes = routes_for_function(&function("handler", &[decorator], 10));
    assert!(routes.is_empty(), "{decorator}: {routes:?}");
}

// ------------------------------------------------------------------ Flask

#[test]
fn flask_route_defaults_to_get() {
    let r = one(
        r#"app.route("/items/<int:item_id>")"#,
        &[import("flask", &["Flask"])],
    );
    assert_eq!(r.route, "/items/<int:item_id>");
    assert_eq!(r.methods, ["GET"]);
    assert_eq!(r.framework, Framework::Flask);
    assert_eq!(r.owner.as_deref(), Some("app"));
    assert_eq!(r.function, "handler");
    assert_eq!(r.path, RelPath::new("app/routes.py"));
    assert_eq!(r.line, 10);
    assert_eq!(
        (r.status_code, r.response_model, r.tags),
        (None, None, vec![])
    );
}

#[test]
fn flask_route_methods_are_upper_cased() {
    let r = one(r#"bp.route("/x", methods=["get", 'Post'])"#, &[]);
    assert_eq!(r.methods, ["GET", "POST"]);
    assert_eq!(r.framework, Framework::Flask);
    assert_eq!(r.owner.as_deref(), Some("bp"));
}

#[test]
fn flask_route_with_tuple_methods_and_rule_keyword() {
    let r = one(r#"bp.route(rule="/x", methods=("PUT",))"#, &[]);
    assert_eq!(
        (r.route.as_str(), r.methods.as_slice()),
        ("/x", &["PUT".to_string()][..])
    );
}

#[test]
fn flask_route_with_computed_methods_claims_none() {
    let r = one(r#"app.route("/x", methods=ALLOWED)"#, &[]);
    assert!(r.methods.is_empty());
}

#[test]
fn flask2_shortcuts_with_flask_imports() {
    let flask = [import("flask", &["Flask"])];
    for (m, upper) in [
        ("get", "GET"),
        ("post", "POST"),
        ("put", "PUT"),
        ("patch", "PATCH"),
        ("delete", "DELETE"),
    ] {
        let r = one(&format!(r#"app.{m}("/things")"#), &flask);
        assert_eq!(r.methods, [upper]);
        assert_eq!(r.framework, Framework::Flask, "{m}");
    }
}

#[test]
fn blueprint_shortcut_without_imports_is_flask() {
    assert_eq!(one(r#"bp.get("/a")"#, &[]).framework, Framework::Flask);
    assert_eq!(
        one(r#"users_bp.post("/a")"#, &[]).framework,
        Framework::Flask
    );
    assert_eq!(
        one(r#"api_blueprint.get("/a")"#, &[]).framework,
        Framework::Flask
    );
}

#[test]
fn flask_only_keyword_decides_without_imports() {
    assert_eq!(
        one(r#"app.get("/a", endpoint="a")"#, &[]).framework,
        Framework::Flask
    );
}

#[test]
fn flask_extension_import_counts_as_flask() {
    let r = one(
        r#"app.get("/a")"#,
        &[import("flask_sqlalchemy", &["SQLAlchemy"])],
    );
    assert_eq!(r.framework, Framework::Flask);
}

// ------------------------------------------------------------------ FastAPI

#[test]
fn fastapi_get_with_all_keywords() {
    let r = one(
        r#"router.post("/items/{item_id}", status_code=201, response_model=Item, tags=["items", EXTRA])"#,
        &[import("fastapi", &["APIRouter"])],
    );
    assert_eq!(r.route, "/items/{item_id}");
    assert_eq!(r.methods, ["POST"]);
    assert_eq!(r.framework, Framework::Fastapi);
    assert_eq!(r.owner.as_deref(), Some("router"));
    assert_eq!(r.status_code.as_deref(), Some("201"));
    assert_eq!(r.response_model.as_deref(), Some("Item"));
    assert_eq!(r.tags, ["items", "EXTRA"]);
}

#[test]
fn fastapi_keywords_kept_as_source_text() {
    let r = one(
        r#"app.get("/u", status_code=status.HTTP_200_OK, response_model=list[schemas.User])"#,
        &[],
    );
    assert_eq!(r.status_code.as_deref(), Some("status.HTTP_200_OK"));
    assert_eq!(r.response_model.as_deref(), Some("list[schemas.User]"));
}

#[test]
fn fastapi_only_keyword_beats_flask_import() {
    let r = one(
        r#"app.get("/a", response_model=A)"#,
        &[import("flask", &[])],
    );
    assert_eq!(r.framework, Framework::Fastapi);
}

#[test]
fn app_get_without_evidence_is_fastapi() {
    let r = one(r#"app.get("/")"#, &[]);
    assert_eq!(r.framework, Framework::Fastapi);
    assert_eq!(r.methods, ["GET"]);
}

#[test]
fn fastapi_imports_decide_for_a_blueprint_like_name() {
    let r = one(r#"bp.get("/a")"#, &[import("fastapi", &["APIRouter"])]);
    assert_eq!(r.framework, Framework::Fastapi);
}

#[test]
fn api_route_is_fastapi_with_methods() {
    let r = one(
        r#"app.api_route("/a", methods=["GET", "HEAD"])"#,
        &[import("flask", &[])],
    );
    assert_eq!(r.framework, Framework::Fastapi);
    assert_eq!(r.methods, ["GET", "HEAD"]);
    assert_eq!(one(r#"app.api_route("/a")"#, &[]).methods, ["GET"]);
}

#[test]
fn starlette_route_is_fastapi_family() {
    let r = one(
        r#"app.route("/a")"#,
        &[import("starlette.applications", &["Starlette"])],
    );
    assert_eq!(r.framework, Framework::Fastapi);
}

#[test]
fn leading_at_sign_is_tolerated() {
    assert_eq!(one(r#"@app.post("/a")"#, &[]).methods, ["POST"]);
}

#[test]
fn empty_path_on_router_and_path_keyword() {
    assert_eq!(one(r#"router.get("")"#, &[]).route, "");
    assert_eq!(one(r#"router.get(path="/p")"#, &[]).route, "/p");
}

#[test]
fn multi_line_decorator_and_nested_owner() {
    let r = one("self.app.get(\n    \"/a\",\n    tags=['x'],\n)", &[]);
    assert_eq!(r.owner.as_deref(), Some("self.app"));
    assert_eq!(r.tags, ["x"]);
}

// ------------------------------------------------------------------ lines, several decorators

#[test]
fn each_route_gets_its_decorator_line() {
    let f = function(
        "Api.handler",
        &[
            "login_required",
            "app.route(\"/a\",\n    methods=[\"POST\"])",
            "app.get(\"/b\")",
        ],
        20,
    );
    let routes = routes_for_function(&f);
    assert_eq!(routes.len(), 2);
    assert_eq!((routes[0].route.as_str(), routes[0].line), ("/a", 21));
    assert_eq!((routes[1].route.as_str(), routes[1].line), ("/b", 23));
    assert!(routes.iter().all(|r| r.function == "Api.handler"));
}

#[test]
fn undecorated_function_has_no_routes() {
    assert!(routes_for_function(&function("f", &[], 3)).is_empty());
}

// ------------------------------------------------------------------ non-routes

#[test]
fn decorators_that_are_not_routes() {
    for d in [
        "property",
        "staticmethod",
        "functools.lru_cache(maxsize=None)",
        r#"mock.patch("pkg.mod.thing")"#,
        r#"patch.object(Foo, "bar")"#,
        r#"cache.get("key")"#,
        r#"app.get(PATH)"#,
        r#"app.get(f"/{x}")"#,
        r#"app.websocket("/ws")"#,
        r#"app.route"#,
        r#"app.get"#,
        r#"pytest.mark.parametrize("a", [1])"#,
        r#"app.errorhandler(404)"#,
        r#"get("/x")"#,
        "app.get(\"/unterminated",
        "",
    ] {
        none(d);
    }
}

// ------------------------------------------------------------------ Django components

fn class(name: &str, bases: &[&str]) -> ClassInfo {
    ClassInfo {
        path: RelPath::new("shop/models.py"),
        qualname: name.to_string(),
        name: name.to_string(),
        line: 7,
        end_line: 20,
        decorator_line: None,
        bases: bases.iter().map(|b| b.to_string()).collect(),
        methods: vec![MethodRef {
            name: "__str__".into(),
            kind: FunctionKind::Method,
        }],
        docstring: None,
    }
}

fn kind(bases: &[&str]) -> Option<DjangoKind> {
    django_component(&class("C", bases)).map(|c| c.kind)
}

#[test]
fn django_component_fields() {
    let c = django_component(&class("Item", &["models.Model"])).unwrap();
    assert_eq!(c.kind, DjangoKind::Model);
    assert_eq!(c.name, "Item");
    assert_eq!(c.line, 7);
    assert_eq!(c.path, RelPath::new("shop/models.py"));
}

#[test]
fn django_models() {
    for b in [
        "models.Model",
        "Model",
        "django.db.models.Model",
        "AbstractUser",
        "models.AbstractBaseUser",
    ] {
        assert_eq!(kind(&[b]), Some(DjangoKind::Model), "{b}");
    }
    assert_eq!(
        kind(&["TimeStampedMixin", "models.Model"]),
        Some(DjangoKind::Model)
    );
}

#[test]
fn django_serializers() {
    for b in [
        "serializers.ModelSerializer",
        "serializers.Serializer",
        "Serializer",
        "ModelSerializer",
        "HyperlinkedModelSerializer",
        "ItemSerializer",
    ] {
        assert_eq!(kind(&[b]), Some(DjangoKind::Serializer), "{b}");
    }
}

#[test]
fn django_views() {
    for b in [
        "View",
        "APIView",
        "TemplateView",
        "ListView",
        "DetailView",
        "generic.ListView",
        "generic.edit.CreateView",
        "generics.ListCreateAPIView",
        "views.APIView",
        "viewsets.ModelViewSet",
        "ViewSet",
        "ModelViewSet",
        "viewsets.CustomThingViewSet",
    ] {
        assert_eq!(kind(&[b]), Some(DjangoKind::View), "{b}");
    }
    assert_eq!(
        kind(&["LoginRequiredMixin", "ListView"]),
        Some(DjangoKind::View)
    );
}

#[test]
fn django_forms_and_admin() {
    for b in ["forms.Form", "forms.ModelForm", "Form", "ModelForm"] {
        assert_eq!(kind(&[b]), Some(DjangoKind::Form), "{b}");
    }
    for b in [
        "admin.ModelAdmin",
        "ModelAdmin",
        "admin.TabularInline",
        "StackedInline",
    ] {
        assert_eq!(kind(&[b]), Some(DjangoKind::Admin), "{b}");
    }
}

#[test]
fn not_django_components() {
    for bases in [
        &[][..],
        &["object"],
        &["BaseModel"],
        &["pydantic.BaseModel"],
        &["db.Model"],
        &["MethodView"],
        &["flask.views.MethodView"],
        &["Exception"],
        &["wtforms.Form"],
        &["Generic[T]"],
        &["metaclass=ABCMeta"],
        &["unittest.TestCase"],
    ] {
        assert_eq!(kind(bases), None, "{bases:?}");
    }
}

// ------------------------------------------------------------------ Django urls

fn urls(source: &str) -> Vec<RouteInfo> {
    let parsed = ruff_python_parser::parse_module(source).expect("valid python");
    let lines = LineIndex::from_source_text(source);
    django_urls(
        parsed.syntax(),
        source,
        &lines,
        &RelPath::new("shop/urls.py"),
    )
}

fn summary(routes: &[RouteInfo]) -> Vec<(String, String, u32)> {
    routes
        .iter()
        .map(|r| (r.route.clone(), r.function.clone(), r.line))
        .collect()
}

fn s(route: &str, function: &str, line: u32) -> (String, String, u32) {
    (route.to_string(), function.to_string(), line)
}

#[test]
fn django_path_and_re_path() {
    let routes = urls(
        r#"from django.urls import path, re_path
from . import views

urlpatterns = [
    path("items/<int:pk>/", views.item_detail, name="item-detail"),
    path("", views.ItemView.as_view(), name="index"),
    re_path(r"^archive/(?P<year>[0-9]{4})/$", views.archive),
    path(route="kw/", view=views.kw),
]
"#,
    );
    assert_eq!(
        summary(&routes),
        [
            s("items/<int:pk>/", "views.item_detail", 5),
            s("", "views.ItemView.as_view()", 6),
            s("^archive/(?P<year>[0-9]{4})/$", "views.archive", 7),
            s("kw/", "views.kw", 8),
        ]
    );
    let r = &routes[0];
    assert_eq!(r.framework, Framework::Django);
    assert!(r.methods.is_empty());
    assert_eq!(r.path, RelPath::new("shop/urls.py"));
    assert_eq!(
        (r.owner.clone(), r.status_code.clone(), r.tags.clone()),
        (None, None, vec![])
    );
}

#[test]
fn django_augmented_conditional_and_concatenated_patterns() {
    let routes = urls(
        r#"from django.conf import settings
from django.conf.urls.static import static
from django.urls import path
import views

urlpatterns = [path("a/", views.a)] + static(settings.MEDIA_URL)
urlpatterns += [
    path("b/", views.b),
]
if settings.DEBUG:
    urlpatterns += [path("debug/", views.debug)]
urlpatterns: list = urlpatterns + [path("c/", views.c)]
"#,
    );
    assert_eq!(
        summary(&routes),
        [
            s("a/", "views.a", 6),
            s("b/", "views.b", 8),
            s("debug/", "views.debug", 11),
            s("c/", "views.c", 12),
        ]
    );
}

#[test]
fn django_includes() {
    let routes = urls(
        r#"from django.urls import include, path
from django.contrib import admin
from rest_framework import routers
import blog.urls

router = routers.DefaultRouter()
api_patterns = [
    path("items/", views.items),
]
urlpatterns = [
    path("admin/", admin.site.urls),
    path("blog/", include("blog.urls")),
    path("shop/", include(("shop.urls", "shop"), namespace="shop")),
    path("news/", include(blog.urls)),
    path("api/", include(api_patterns)),
    path("inline/", include([
        path("x/", views.x),
    ])),
    path("drf/", include(router.urls)),
]
"#,
    );
    assert_eq!(
        summary(&routes),
        [
            s("admin/", "admin.site.urls", 11),
            s("blog/", "blog.urls", 12),
            s("shop/", "shop.urls", 13),
            s("news/", "blog.urls", 14),
            s("api/items/", "views.items", 8),
            s("inline/x/", "views.x", 17),
            s("drf/", "router.urls", 19),
        ]
    );
}

#[test]
fn django_legacy_url_and_i18n_wrapper() {
    let routes = urls(
        r#"from django.conf.urls import url, include
from django.conf.urls.i18n import i18n_patterns

urlpatterns = i18n_patterns(
    url(r"^about/$", views.about),
    url(r"^api/", include([url(r"^v1/$", views.v1)])),
)
"#,
    );
    assert_eq!(
        summary(&routes),
        [
            s("^about/$", "views.about", 5),
            s("^api/v1/$", "views.v1", 6)
        ]
    );
}

#[test]
fn django_self_include_terminates() {
    let routes = urls(
        r#"a = [path("x/", include(b)), path("leaf/", v)]
b = [path("y/", include(a))]
urlpatterns = [path("", include(a))]
"#,
    );
    // Bounded expansion, no hang or overflow.
    assert!(routes[0].route.starts_with("x/y/x/y/x/y/"), "{routes:?}");
    assert!(routes.iter().all(|r| r.route.ends_with("leaf/")));
    assert_eq!(routes.last().unwrap().route, "leaf/");
    assert!(routes.len() < 16);
}

#[test]
fn module_without_urlpatterns_yields_nothing() {
    assert!(urls("patterns = [path('a/', v)]\ndef path(*a):\n    pass\n").is_empty());
    assert!(urls("").is_empty());
}

#[test]
fn non_literal_route_kept_as_source() {
    let routes = urls("urlpatterns = [path(PREFIX + 'a/', views.a), path('b/')]\n");
    assert_eq!(summary(&routes), [s("PREFIX + 'a/'", "views.a", 1)]);
}

#[test]
fn odd_decorator_text_never_panics() {
    let odd = [
        "ünïcode.get('/é/ü')",
        "app.get('/a',",
        "app.get('/a')).x(",
        "app.route('/a', methods=[1, None, 'get'])",
        "app.get('/a', tags='single')",
        "(lambda: 1).get('/a')",
        "a.b.c.d.route('/x', methods={'POST'})",
        "app.get('/a' '/b')",
        "\n\n app.get('/a') \n",
        "app.get(*args)",
        "app.get(**kw)",
    ];
    for d in odd {
        let _ = routes_for_function(&function("f", &[d], 1));
    }
    assert_eq!(
        one("ünïcode.get('/é/ü')", &[]).owner.as_deref(),
        Some("ünïcode")
    );
    assert_eq!(
        one("app.route('/a', methods=[1, None, 'get'])", &[]).methods,
        ["GET"]
    );
    assert_eq!(one("app.get('/a', tags='single')", &[]).tags, ["single"]);
    assert_eq!(one("app.get('/a' '/b')", &[]).route, "/a/b");
}
