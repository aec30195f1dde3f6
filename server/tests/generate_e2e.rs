//! `testgen generate` end to end with the offline engine: the real binary,
//! the embedded harness in the real interpreter, real pytest and coverage.py
//! on copies of the fixture projects.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

fn generate(project: &Path, extra: &[&str]) -> (Value, std::process::Output) {
    common::testgen_json("generate", project, extra)
}

/// Every file of the project outside what testgen owns, with its bytes.
fn user_files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if matches!(name.as_str(), ".testgen" | "__pycache__" | ".pytest_cache") {
                continue;
            }
            if p.ends_with("tests/generated") {
                continue;
            }
            if e.file_type().unwrap().is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(root).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

fn generated_tests(root: &Path) -> BTreeMap<String, String> {
    let dir = root.join("tests/generated");
    std::fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".py"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read_to_string(e.path()).unwrap(),
            )
        })
        .collect()
}

/// The acceptance on one fixture: coverage >= 90 %, every written test
/// passes 3 runs in a row (also beside the user's own suite), no user file
/// changed. Returns the report and the generated files.
fn lifts_coverage(fixture: &str) -> (Value, BTreeMap<String, String>, tempfile::TempDir) {
    lifts_coverage_to(fixture, 90.0, |_| {})
}

/// `lifts_coverage` with another floor; `prepare` changes the copy first.
fn lifts_coverage_to(
    fixture: &str,
    floor: f64,
    prepare: impl FnOnce(&Path),
) -> (Value, BTreeMap<String, String>, tempfile::TempDir) {
    let p = common::copy_to_temp(&common::fixture(fixture));
    prepare(p.path());
    let before = user_files(p.path());
    let (report, out) = generate(p.path(), &[]);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let after_pct = report["coverage_after"]["line_percent"].as_f64().unwrap();
    let before_pct = report["coverage_before"]["line_percent"].as_f64().unwrap();
    eprintln!(
        "{fixture}: line coverage {before_pct}% -> {after_pct}%, {} tests; skipped: {}; dropped: {}",
        report["tests_written"], report["skipped"], report["dropped"]
    );
    assert!(
        after_pct >= floor,
        "{fixture}: {after_pct}% < {floor}%: {report:#}"
    );
    assert!(after_pct > before_pct);
    assert!(report["tests_written"].as_u64().unwrap() > 0);
    assert_eq!(before, user_files(p.path()), "a user file changed");
    let files = generated_tests(p.path());
    assert!(files.contains_key("__init__.py"));
    assert!(p.path().join("tests/generated/_manifest.json").exists());
    for run in 1..=3 {
        let out = common::pytest(p.path(), &["tests/generated"]);
        assert!(
            out.status.success(),
            "{fixture}: generated tests failed in run {run}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
    // Beside the user's own suite, as `pytest` with the project's config runs them.
    let out = common::pytest(p.path(), &[]);
    assert!(
        out.status.success(),
        "{fixture}: the whole suite failed:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
    (report, files, p)
}

#[test]
fn plainlib_reaches_90_percent_and_the_same_seed_gives_the_same_tests() {
    let (_, first, _keep) = lifts_coverage("plainlib");
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let (_, out) = generate(p.path(), &[]);
    assert!(out.status.success());
    let second = generated_tests(p.path());
    assert_eq!(first, second, "same seed, different tests");
}

#[test]
fn flask_app_reaches_90_percent_through_its_routes() {
    let (report, files, _keep) = lifts_coverage("flaskapp");
    assert!(files.contains_key("conftest.py"), "{report}");
    assert!(
        files.values().any(|f| f.contains("client.")),
        "no route test"
    );
}

#[test]
fn fastapi_app_reaches_90_percent_through_its_routes() {
    let (report, files, _keep) = lifts_coverage("fastapiapp");
    assert!(files.contains_key("conftest.py"), "{report}");
    assert!(
        files.values().any(|f| f.contains("client.")),
        "no route test"
    );
}

/// Issue 15: state built by mutator calls (a ledger's `post(*entries)`, a
/// cart's `add`), an async callback, regex/split-driven validators; the
/// interpreter's errors in project code come back as suspected bugs.
#[test]
fn statelib_needs_sequences_callbacks_and_structured_text() {
    let (report, files, _keep) = lifts_coverage("statelib");
    let ledger = &files["test_statelib_ledger.py"];
    assert!(
        ledger.contains("ledger.post(Entry(") && ledger.contains("assert ledger.posted == 1"),
        "{ledger}"
    );
    let sinks = &files["test_statelib_sinks.py"];
    assert!(sinks.contains("async def sink(*args):"), "{sinks}");
    assert!(sinks.contains("assert sink_calls == ["), "{sinks}");
    let validate = &files["test_statelib_validate.py"];
    assert!(validate.contains("'invalid characters'"), "{validate}");
    assert!(validate.contains("'ok'"), "{validate}");
    let bugs = report["suspected_bugs"].as_array().unwrap();
    let targets: Vec<&str> = bugs.iter().map(|b| b["target"].as_str().unwrap()).collect();
    assert!(
        targets.contains(&"statelib/cart.py::Cart.average_price")
            && targets.contains(&"statelib/ledger.py::Ledger.largest_account"),
        "{bugs:?}"
    );
    for b in bugs {
        assert_eq!(b["found_by"], "explore");
        assert!(b["file"].as_str().unwrap().starts_with("statelib/"), "{b}");
    }
    // an explicit `raise` (Ledger.balance's KeyError) is never reported
    assert!(!targets.contains(&"statelib/ledger.py::Ledger.balance"));
    assert!(files["test_statelib_cart.py"].contains("# Suspected bug: ZeroDivisionError"));
    let p = common::copy_to_temp(&common::fixture("statelib"));
    let (_, out) = generate(p.path(), &[]);
    assert!(out.status.success());
    assert_eq!(
        files,
        generated_tests(p.path()),
        "same seed, different tests"
    );
}

#[test]
fn flask_views_get_json_bodies_forms_headers_and_cookies() {
    let (report, files, _keep) = lifts_coverage("webbodies_flask");
    let all: String = files.values().cloned().collect();
    assert!(
        all.contains("client.post('/signup', data={"),
        "{report}\n{all}"
    );
    assert!(all.contains("client.post('/orders', json={"), "{all}");
    assert!(all.contains("'X-Token': 'secret-token'"), "{all}");
    assert!(all.contains("'Cookie': 'theme="), "{all}");
}

/// Issue 15, web bodies: a pydantic body, headers, cookies, a form, a
/// dependency overridden and one run as it is.
#[test]
fn fastapi_routes_get_pydantic_bodies_and_headers() {
    let (report, files, _keep) = lifts_coverage("webbodies_fastapi");
    let all: String = files.values().cloned().collect();
    assert!(
        all.contains("client.post('/items', json={")
            && all.contains("headers={'x-api-key': 'k-123'}"),
        "{report}\n{all}"
    );
    assert!(all.contains("'Cookie': 'session="), "{all}");
    // A form route gets form data, blank and filled.
    assert!(all.contains("client.post('/login', data={"), "{all}");
    // A dependency that cannot sign in without the server's secret is
    // overridden (set inside the test, restored after); the pagination
    // dependency, a pure function of the query, runs as it is.
    let notes: Vec<&str> = all
        .split("\ndef test_")
        .filter(|t| t.contains("client.get('/notes"))
        .collect();
    assert!(!notes.is_empty(), "{all}");
    assert!(
        notes.iter().all(|t| t
            .contains("client.app.dependency_overrides[get_current_user] = lambda: User(")
            && t.contains("client.app.dependency_overrides.pop(get_current_user, None)")),
        "{all}"
    );
    assert!(!all.contains("dependency_overrides[page_of]"), "{all}");
    let p = common::copy_to_temp(&common::fixture("webbodies_fastapi"));
    let (_, out) = generate(p.path(), &[]);
    assert!(out.status.success());
    assert_eq!(
        files,
        generated_tests(p.path()),
        "same seed, different tests"
    );
}

/// Issue 15: a Django function view (query parameters, a POST form, a
/// status per branch) and class-based views (a ListView's get_queryset,
/// get_context_data and render_to_response, a View's get/post) through
/// Django's test client, with settings whose ALLOWED_HOSTS lacks the test
/// client's host and whose sqlite database is a file nobody may touch.
#[test]
fn django_function_and_class_based_views_through_the_test_client() {
    let (report, files, p) = lifts_coverage("webbodies_django");
    assert!(
        !p.path().join("tasks.sqlite3").exists(),
        "a database file was written"
    );
    let views = files
        .get("test_tasks_views.py")
        .cloned()
        .unwrap_or_default();
    // the function view: GET with query parameters, POST with a form
    assert!(
        views.contains(
            "Client().get(reverse('tasks:project-tasks', kwargs={'project_id': project.pk}), {"
        ) && views.contains(
            "Client().post(reverse('tasks:project-tasks', kwargs={'project_id': project.pk}), {"
        ) && views.contains("assert response.status_code == 201")
            && views.contains("assert response.status_code == 409"),
        "{report:#}\n{views}"
    );
    // the class-based views, each method with tests of its own
    for method in ["get_queryset", "get_context_data", "render_to_response"] {
        assert!(
            views.contains(&format!("def test_task_list_view_{method}_get_")),
            "{method}:\n{views}"
        );
    }
    assert!(
        views.contains("Client().post(reverse('tasks:task-done', kwargs={'pk': task")
            && views.contains("Client().get(reverse('tasks:task-done', kwargs={'pk': task"),
        "{views}"
    );
    let bodies: Vec<String> = views
        .split("\ndef test_")
        .skip(1)
        .map(|t| {
            t.split_once('\n')
                .map(|(_, b)| b.to_string())
                .unwrap_or_default()
        })
        .collect();
    let mut unique = bodies.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(
        unique.len(),
        bodies.len(),
        "two tests make the same request:\n{views}"
    );
    // no test sends the production host: the generated conftest allows the client's
    assert!(!views.contains("HTTP_HOST"), "{views}");
    assert!(files["conftest.py"].contains("\"testserver\""));
    let manage = files.get("test_manage.py").cloned().unwrap_or_default();
    assert!(
        manage.contains("mock.patch.object(sys, 'argv', ['manage.py', 'check'])"),
        "{report:#}\n{manage}"
    );
    // The methods of one view class share what was written for the ones
    // before them: still the same tests for the same seed.
    let again = common::copy_to_temp(&common::fixture("webbodies_django"));
    let (_, out) = generate(again.path(), &[]);
    assert!(out.status.success());
    assert_eq!(
        files,
        generated_tests(again.path()),
        "same seed, different tests"
    );
}

#[test]
fn django_model_methods_get_tests_and_the_database_is_left_alone() {
    // A database file the harness must not open: settings use :memory:, and
    // a file one would be replaced by an in-memory one anyway.
    let db = b"not a database: testgen must not touch it".to_vec();
    let (report, files, p) = lifts_coverage_to("djangoapp", 90.0, |root| {
        std::fs::write(root.join("db.sqlite3"), &db).unwrap();
    });
    assert_eq!(std::fs::read(p.path().join("db.sqlite3")).unwrap(), db);
    assert!(files.contains_key("conftest.py"), "{report}");
    let tests = |f: &str| {
        files
            .get(f)
            .map(|s| s.matches("\ndef test_").count())
            .unwrap_or(0)
    };
    assert!(tests("test_shop_models.py") >= 2, "{report:#}");
    // The form's clean_name needs cleaned_data, which only validation sets:
    // it is reached through form.is_valid() with data for every field, on
    // both sides of its check (never an AttributeError on an unvalidated form).
    let forms = files.get("test_shop_forms.py").cloned().unwrap_or_default();
    assert!(!forms.contains("AttributeError"), "{forms}");
    assert!(
        forms.contains("form = ProductForm(data={'category': category.pk")
            && forms.contains("assert form.is_valid() is True")
            && forms.contains("assert form.errors == {'name': ['choose a real name']}"),
        "{report:#}\n{forms}"
    );
    // The admin action gets the ModelAdmin Django builds, a request and the
    // selected rows; manage.py's main() runs only the `check` command.
    let admin = files.get("test_shop_admin.py").cloned().unwrap_or_default();
    assert!(
        admin.contains("ProductAdmin(Product, admin.site)")
            && admin
                .contains(".deactivate(request, Product.objects.filter(pk__in=[product.pk])) == 1")
            && admin.contains("assert product.active is False"),
        "{report:#}\n{admin}"
    );
    let manage = files.get("test_manage.py").cloned().unwrap_or_default();
    assert!(
        manage.contains("['manage.py', 'check']"),
        "{report:#}\n{manage}"
    );
    // Django views (a function view reading a form from GET, class-based
    // views reading POST and a model) go through Django's test client at
    // URLs reversed from the project's patterns, models created first.
    let views = files.get("test_shop_views.py").cloned().unwrap_or_default();
    assert!(
        views.contains("Client().get(reverse('shop:search')")
            && views
                .contains("Client().post(reverse('shop:product-sell', kwargs={'pk': product.pk})")
            && views.contains("Product.objects.create("),
        "{report:#}\n{views}"
    );
    let skipped = report["skipped"].as_array().unwrap();
    assert!(
        !skipped
            .iter()
            .any(|s| s["target"].as_str().unwrap().starts_with("shop/views.py")),
        "{report:#}"
    );
    assert!(
        !skipped.iter().any(|s| s["reason"]
            .as_str()
            .unwrap()
            .contains("settings are not configured")),
        "{report:#}"
    );
}

#[test]
fn hostile_functions_end_in_clean_skips_and_the_run_goes_on() {
    let p = tempfile::tempdir().unwrap();
    let w = |rel: &str, text: &str| {
        let f = p.path().join(rel);
        std::fs::create_dir_all(f.parent().unwrap()).unwrap();
        std::fs::write(f, text).unwrap();
    };
    w(
        "pytest.ini",
        "[pytest]\npythonpath = .\ntestpaths = tests\n",
    );
    w("hostile/__init__.py", "");
    w(
        "hostile/funcs.py",
        r#"import ctypes
import faulthandler
import os
import sys


def spin(n: int) -> int:
    while True:
        n += 1


def leave(code: int) -> None:
    sys.exit(code)


def wipe(name: str) -> None:
    # relative to the working directory: the user's project when a test runs
    os.remove(os.path.join("data", name))


def crash(n: int) -> int:
    return ctypes.string_at(0, n)


def double(n: int) -> int:
    if n > 10:
        return n * 2
    return n


def segfault(n: int) -> int:
    # A real SIGSEGV that no static scan sees: the harness process dies.
    faulthandler._sigsegv()
    return n


def triple(n: int) -> int:
    return n * 3
"#,
    );
    w(
        "tests/test_nothing.py",
        "def test_nothing():\n    assert True\n",
    );
    let victim = p.path().join("precious.txt");
    std::fs::write(&victim, "keep me").unwrap();
    let (report, out) = generate(p.path(), &["--budget-s", "5"]);
    assert!(
        out.status.success(),
        "{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let skipped: BTreeMap<String, String> = report["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["target"].as_str().unwrap().to_string(),
                s["reason"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for f in ["spin", "leave", "wipe", "crash", "segfault"] {
        let reason = skipped
            .get(&format!("hostile/funcs.py::{f}"))
            .unwrap_or_else(|| panic!("{f} not skipped: {report:#}"));
        assert!(!reason.is_empty());
        eprintln!("{f}: {reason}");
    }
    assert!(
        skipped["hostile/funcs.py::crash"].contains("ctypes"),
        "{skipped:?}"
    );
    assert!(
        skipped["hostile/funcs.py::wipe"].contains("os.remove"),
        "{skipped:?}"
    );
    assert!(
        skipped["hostile/funcs.py::leave"].contains("sys.exit"),
        "{skipped:?}"
    );
    assert!(
        skipped["hostile/funcs.py::spin"].contains("longer than"),
        "{skipped:?}"
    );
    assert!(
        skipped["hostile/funcs.py::segfault"].contains("signal 11"),
        "{skipped:?}"
    );
    // The run went on: the harmless functions got their tests, also the
    // one explored after the crash (by a fresh harness).
    let written: Vec<&str> = report["files"][0]["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["target"].as_str().unwrap())
        .collect();
    assert!(written.contains(&"hostile/funcs.py::double"), "{report:#}");
    assert!(written.contains(&"hostile/funcs.py::triple"), "{report:#}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me");
}

#[test]
fn a_user_file_in_tests_generated_is_left_alone() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let mine = p.path().join("tests/generated/test_plainlib_text.py");
    std::fs::create_dir_all(mine.parent().unwrap()).unwrap();
    std::fs::write(&mine, "def test_mine():\n    assert True\n").unwrap();
    let (report, out) = generate(p.path(), &["--target", "plainlib/text.py::truncate"]);
    assert!(out.status.success(), "{report}");
    assert_eq!(
        std::fs::read_to_string(&mine).unwrap(),
        "def test_mine():\n    assert True\n"
    );
    let reason = report["skipped"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("not testgen's"), "{report:#}");
}

#[test]
fn file_limits_the_targets_to_the_named_modules() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let (report, out) = generate(p.path(), &["--file", "./plainlib/text.py"]);
    assert!(out.status.success(), "{report:#}");
    let targets = report["targets"].as_array().unwrap();
    assert!(!targets.is_empty(), "{report:#}");
    for t in targets {
        let t = t.as_str().unwrap();
        assert!(t.starts_with("plainlib/text.py::"), "{t}: {report:#}");
    }
}

#[test]
fn bad_arguments_get_one_clear_line() {
    let p = common::copy_to_temp(&common::fixture("plainlib"));
    let path = p.path().to_str().unwrap();
    for (args, expect) in [
        (
            vec!["generate", path, "--engine", "llm"],
            "no LLM is configured",
        ),
        (
            vec!["generate", path, "--target", "nocolons"],
            "path.py::Qualname",
        ),
        (vec!["generate", "/nonexistent/project"], "nonexistent"),
        (
            vec!["generate", path, "--file", "plainlib/nope.py"],
            "no such file",
        ),
    ] {
        let out = common::testgen(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}
