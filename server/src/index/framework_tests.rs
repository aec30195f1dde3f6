//! Unit tests of framework.rs, on hand-built file indexes.

use super::*;
use crate::index::model::RouteInfo;

fn import(module: &str, names: &[&str]) -> ImportInfo {
    ImportInfo {
        path: RelPath::new("x.py"),
        module: module.to_string(),
        names: names.iter().map(|n| n.to_string()).collect(),
        level: 0,
        line: 1,
    }
}

fn route(framework: Framework) -> RouteInfo {
    RouteInfo {
        path: RelPath::new("x.py"),
        function: "f".into(),
        route: "/".into(),
        methods: vec!["GET".into()],
        framework,
        line: 1,
        owner: Some("app".into()),
        status_code: None,
        response_model: None,
        tags: Vec::new(),
    }
}

/// A file: path, imports, routes.
fn file(path: &str, imports: Vec<ImportInfo>, routes: Vec<RouteInfo>) -> (RelPath, FileIndex) {
    let index = FileIndex {
        imports,
        routes,
        ..FileIndex::default()
    };
    (RelPath::new(path), index)
}

fn detect_in(files: &[(RelPath, FileIndex)]) -> Framework {
    detect(files.iter().map(|(p, i)| (p, i)))
}

#[test]
fn no_evidence_is_python() {
    assert_eq!(detect_in(&[]), Framework::Python);
    let files = [
        file(
            "lib/calc.py",
            vec![import("math", &[]), import("os.path", &["join"])],
            vec![],
        ),
        file("settings.py", vec![], vec![]),
        file("wsgi.py", vec![], vec![]),
        file("urls.py", vec![], vec![]),
    ];
    assert_eq!(detect_in(&files), Framework::Python);
}

#[test]
fn single_framework_from_imports() {
    assert_eq!(
        detect_in(&[file("a.py", vec![import("django.db", &["models"])], vec![])]),
        Framework::Django
    );
    assert_eq!(
        detect_in(&[file(
            "a.py",
            vec![import("rest_framework", &["serializers"])],
            vec![]
        )]),
        Framework::Django
    );
    assert_eq!(
        detect_in(&[file("a.py", vec![import("fastapi", &["Depends"])], vec![])]),
        Framework::Fastapi
    );
    assert_eq!(
        detect_in(&[file(
            "a.py",
            vec![import("starlette.requests", &["Request"])],
            vec![]
        )]),
        Framework::Fastapi
    );
    assert_eq!(
        detect_in(&[file("a.py", vec![import("uvicorn", &[])], vec![])]),
        Framework::Fastapi
    );
    assert_eq!(
        detect_in(&[file("a.py", vec![import("flask", &["jsonify"])], vec![])]),
        Framework::Flask
    );
    assert_eq!(
        detect_in(&[file(
            "a.py",
            vec![import("flask_sqlalchemy", &["SQLAlchemy"])],
            vec![]
        )]),
        Framework::Flask
    );
}

#[test]
fn single_framework_from_routes_or_manage_py() {
    assert_eq!(
        detect_in(&[file("a.py", vec![], vec![route(Framework::Flask)])]),
        Framework::Flask
    );
    assert_eq!(
        detect_in(&[file("a.py", vec![], vec![route(Framework::Fastapi)])]),
        Framework::Fastapi
    );
    assert_eq!(
        detect_in(&[file("urls.py", vec![], vec![route(Framework::Django)])]),
        Framework::Django
    );
    assert_eq!(
        detect_in(&[file("manage.py", vec![], vec![])]),
        Framework::Django
    );
}

#[test]
fn relative_imports_are_not_framework_evidence() {
    let mut i = import("flask", &["Flask"]);
    i.level = 1;
    assert_eq!(
        detect_in(&[file("a.py", vec![i], vec![])]),
        Framework::Python
    );
}

#[test]
fn flask_project_with_settings_and_wsgi_stays_flask() {
    let files = [
        file("app/settings.py", vec![import("os", &[])], vec![]),
        file("wsgi.py", vec![import("app", &["create_app"])], vec![]),
        file(
            "app/__init__.py",
            vec![import("flask", &["Flask"])],
            vec![route(Framework::Flask)],
        ),
    ];
    assert_eq!(detect_in(&files), Framework::Flask);
}

#[test]
fn django_wins_with_manage_py_or_settings_py() {
    let hybrid = |marker: &str| {
        vec![
            file(marker, vec![], vec![]),
            file(
                "proj/models.py",
                vec![import("django.db", &["models"])],
                vec![],
            ),
            file(
                "svc/main.py",
                vec![import("fastapi", &["FastAPI"])],
                vec![route(Framework::Fastapi)],
            ),
            file(
                "legacy/app.py",
                vec![import("flask", &["Flask"])],
                vec![route(Framework::Flask)],
            ),
        ]
    };
    assert_eq!(detect_in(&hybrid("manage.py")), Framework::Django);
    assert_eq!(detect_in(&hybrid("proj/settings.py")), Framework::Django);
    // Without either, FastAPI's app object decides.
    assert_eq!(detect_in(&hybrid("proj/apps.py")), Framework::Fastapi);
}

#[test]
fn fastapi_wins_over_flask_when_its_app_is_imported() {
    let files = [
        file("api.py", vec![import("fastapi", &["APIRouter"])], vec![]),
        file(
            "old.py",
            vec![import("flask", &["Flask"])],
            vec![route(Framework::Flask)],
        ),
    ];
    assert_eq!(detect_in(&files), Framework::Fastapi);
    let bare = [
        file("api.py", vec![import("fastapi", &[])], vec![]),
        file("old.py", vec![import("flask", &["Flask"])], vec![]),
    ];
    assert_eq!(detect_in(&bare), Framework::Fastapi);
}

#[test]
fn flask_wins_when_fastapi_has_no_app() {
    let files = [
        file(
            "client.py",
            vec![import("fastapi.testclient", &["TestClient"])],
            vec![],
        ),
        file("app.py", vec![import("flask", &["Flask"])], vec![]),
    ];
    assert_eq!(detect_in(&files), Framework::Flask);
    let by_route = [
        file("client.py", vec![import("uvicorn", &[])], vec![]),
        file("views.py", vec![], vec![route(Framework::Flask)]),
    ];
    assert_eq!(detect_in(&by_route), Framework::Flask);
}

#[test]
fn tie_break_is_alphabetical() {
    // Django by import only (no manage.py/settings.py), Flask by an extension only.
    let files = [
        file(
            "b.py",
            vec![import("flask_login", &["LoginManager"])],
            vec![],
        ),
        file("a.py", vec![import("django.utils", &["timezone"])], vec![]),
    ];
    assert_eq!(detect_in(&files), Framework::Django);
    let files = [
        file(
            "b.py",
            vec![import("flask_login", &["LoginManager"])],
            vec![],
        ),
        file(
            "a.py",
            vec![import("starlette.responses", &["JSONResponse"])],
            vec![],
        ),
    ];
    assert_eq!(detect_in(&files), Framework::Fastapi);
}

/// Every rotation and the reversal of each: file order never matters.
#[test]
fn result_is_independent_of_file_order() {
    let scenarios: Vec<Vec<(RelPath, FileIndex)>> = vec![
        vec![
            file(
                "manage.py",
                vec![import(
                    "django.core.management",
                    &["execute_from_command_line"],
                )],
                vec![],
            ),
            file(
                "svc/main.py",
                vec![import("fastapi", &["FastAPI"])],
                vec![route(Framework::Fastapi)],
            ),
            file(
                "legacy/app.py",
                vec![import("flask", &["Flask"])],
                vec![route(Framework::Flask)],
            ),
            file("lib/util.py", vec![import("json", &[])], vec![]),
        ],
        vec![
            file("svc/main.py", vec![import("fastapi", &["FastAPI"])], vec![]),
            file(
                "legacy/app.py",
                vec![import("flask", &["Flask"])],
                vec![route(Framework::Flask)],
            ),
            file("x.py", vec![import("django.utils", &[])], vec![]),
        ],
        vec![
            file("b.py", vec![import("flask_login", &[])], vec![]),
            file("a.py", vec![import("starlette", &[])], vec![]),
            file("c.py", vec![import("django.utils", &[])], vec![]),
        ],
    ];
    for files in scenarios {
        let expected = detect_in(&files);
        let n = files.len();
        for rotation in 0..n {
            let mut order: Vec<_> = files.clone();
            order.rotate_left(rotation);
            assert_eq!(detect_in(&order), expected, "rotation {rotation}");
            order.reverse();
            assert_eq!(detect_in(&order), expected, "reversed rotation {rotation}");
        }
    }
}
