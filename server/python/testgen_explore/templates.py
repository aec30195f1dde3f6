"""The conftest files written beside the generated tests: the route tests'
`client` fixture over the real application, and Django's set-up. They run
standalone under pytest in the user's project."""

import inspect
import json

from .frameworks.appdir import app_workdir, enter_workdir, leave_workdir, registry_module, sys_path
from .isolation import module_path
from .rules import project_file, skipped_dir


_CONFTEST = '''"""The `client` fixture of the generated route tests: the real application,
imported afresh for each test (the project's modules are put aside before
and restored after), so module-level state never leaks between tests."""

%(stdlib)s
import pytest

# This file is <python root>/tests/generated/conftest.py.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# What is no part of the project: testgen's rules when this file was written.
_RULES = %(rules)s
_VENVS = {}


%(functions)s


def _is_project_module(module):
    return project_file(module_path(module), _ROOT, _RULES, _VENVS)


def _put_aside():
    saved = {n: m for n, m in list(sys.modules.items())
             if m is not None and (_is_project_module(m) or registry_module(n))}
    for name in saved:
        del sys.modules[name]
    return saved


def _restore(saved):
    for name, module in list(sys.modules.items()):
        if module is not None and (_is_project_module(module) or registry_module(name)):
            del sys.modules[name]
    sys.modules.update(saved)


%(fixtures)s'''

# The conftest runs standalone: it gets the harness's own rule functions, as
# source, so both decide "is this the project's" the same way.
_FUNCTIONS = (module_path, skipped_dir, project_file, registry_module)
# FastAPI applications run from a working directory of their own.
_APPDIR = (app_workdir, enter_workdir, leave_workdir, sys_path)


def rules_literal(rules):
    """The rules as a Python dict literal, one key a line (long lists one
    item a line)."""
    lines = ["{"]
    for key, value in rules.items():
        text = _literal(value)
        if isinstance(value, list) and len(text) > 80:
            text = "[\n%s\n    ]" % "\n".join("        %s," % _literal(v) for v in value)
        lines.append("    %s: %s," % (_literal(key), text))
    lines.append("}")
    return "\n".join(lines)


def _literal(value):
    if isinstance(value, list):
        return "[%s]" % ", ".join(_literal(v) for v in value)
    if isinstance(value, str):
        return json.dumps(value)  # a valid Python string literal too
    return repr(value)


def conftest_source(app, rules):
    """The route tests' conftest for the application `app` (find_app's
    answer), with the project rules `rules` (their JSON data) written in."""
    fixtures = _CLIENT
    imports = []
    functions = _FUNCTIONS
    if app["framework"] == "flask" and app.get("setup"):
        body, fixtures, imports = _flask_app_body(app), _FLASK_FIXTURES, _FLASK_IMPORTS
    elif app["framework"] == "flask":
        body = ["%s" % app["import"],
                "app = %s" % app["expr"],
                "app.testing = True",
                "yield app.test_client()"]
    else:
        fixtures, imports = _fastapi_fixtures(app), ["shutil", "tempfile"]
        functions = _FUNCTIONS + _APPDIR
        body = None
    return (_CONFTEST % {
        "rules": rules_literal(rules),
        "functions": "\n\n\n".join(inspect.getsource(f).rstrip() for f in functions),
        "stdlib": "\n".join("import %s" % m for m in sorted(["fnmatch", "os", "sys"] + imports)) + "\n",
        "fixtures": fixtures % {"body": "\n".join(("        " + ln) if ln else "" for ln in body)}
        if body is not None else fixtures,
    }).rstrip() + "\n"


def _fastapi_fixtures(app):
    """`client` over the main application, and one fixture a further
    application (`heroes_client`), each in a working directory of its own."""
    out = []
    for name, ref in [("client", app)] + [(o["fixture"], o) for o in app.get("others") or []]:
        out.append(_FASTAPI_CLIENT % {"name": name, "import": ref["import"], "expr": ref["expr"]})
    return "\n\n".join(out)


_FASTAPI_CLIENT = '''@pytest.fixture
def %(name)s():
    """The application run from a new working directory that mirrors the
    project's top level, so a file it creates there (an SQLite database)
    never lands in the project."""
    from fastapi.testclient import TestClient

    saved = _put_aside()
    work = app_workdir(_ROOT)
    moved = enter_workdir(work)
    try:
        %(import)s
        with TestClient(%(expr)s) as test_client:
            yield test_client
    finally:
        leave_workdir(moved)
        shutil.rmtree(work, ignore_errors=True)
        _restore(saved)
'''


_CLIENT = '''@pytest.fixture
def client():
    saved = _put_aside()
    try:
%(body)s
    finally:
        _restore(saved)
'''

_FLASK_IMPORTS = ["shutil", "tempfile"]

_FLASK_FIXTURES = '''@pytest.fixture
def app(monkeypatch):
    """The application as its tests need it: its instance folder and its
    database in a temporary directory (never the project's), its own
    set-up commands run first, as a user would before starting it."""
    saved = _put_aside()
    instance = os.path.join(tempfile.mkdtemp(prefix="testgen-flask-"), "instance")
    try:
%(body)s
    finally:
        _restore(saved)
        shutil.rmtree(os.path.dirname(instance), ignore_errors=True)


@pytest.fixture
def client(app):
    return app.test_client()
'''


def _flask_app_body(app):
    """The steps of flaskapp.build_flask, as source."""
    setup = app["setup"]
    body = []
    if setup.get("instance"):
        body += ["import flask", "",
                 "# Flask asks this method where the instance folder is.",
                 'monkeypatch.setattr(flask.Flask, "auto_find_instance_path", lambda self: instance)']
    body.append("test_config = {")
    body.append('    "TESTING": True,')
    for c in setup.get("config", []):
        value = "os.path.join(instance, %s)" % json.dumps(c["name"])
        if c["prefix"]:
            value = "%s + %s" % (json.dumps(c["prefix"]), value)
        body.append("    %s: %s," % (json.dumps(c["key"]), value))
    for key, value in sorted(setup.get("constants", {}).items()):
        body.append("    %s: %s," % (json.dumps(key), json.dumps(value)))
    body.append("}")
    body += [app["import"], "app = %s" % app["expr"]]
    if setup.get("config_after"):
        body.append("app.config.update(test_config)")
    body.append("app.testing = True")
    if setup.get("commands"):
        # In an app context, as the `flask` command runs them (a command
        # added with app.cli.add_command gets none from the test runner).
        body += ["runner = app.test_cli_runner()",
                 "with app.app_context():",
                 "    for args in %s:" % json.dumps([list(a) for a in setup["commands"]]),
                 "        result = runner.invoke(args=args)",
                 "        assert result.exit_code == 0, result.output"]
    body.append("yield app")
    return body


_DJANGO_CONFTEST = '''"""Django for the generated tests. Configured here only when nothing did it
before (the project's own conftest, pytest-django), the way the project does:
settings %(settings)r, a file sqlite database replaced by an in-memory one
with its tables created, so tests never write to the project's database;
"testserver" allowed as a host for Django's test client. Without pytest-django, `db` runs a test in a transaction rolled back after it."""

import os
import sys

import pytest

_SETTINGS = %(settings)r
_PYTEST_DJANGO = "pytest_django" in sys.modules


def _setup():
    import django
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", _SETTINGS)
    if _PYTEST_DJANGO:
        django.setup()  # pytest-django's test database does the rest
        return
    from django.conf import settings

    memory = []
    for alias, db in settings.DATABASES.items():
        if db.get("ENGINE") == "django.db.backends.sqlite3":
            name = str(db.get("NAME") or "")
            if name not in ("", ":memory:") and "mode=memory" not in name:
                db["NAME"] = ":memory:"
            memory.append(alias)
    django.setup()
    from django.core.management import call_command

    for alias in memory:
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False, database=alias)


_setup()

if not _PYTEST_DJANGO:
    # Django's test client asks for "testserver"; Django's own test runner
    # (and pytest-django) allow it the same way, the settings file is untouched.
    from django.conf import settings as _settings

    if "*" not in _settings.ALLOWED_HOSTS and "testserver" not in _settings.ALLOWED_HOSTS:
        _settings.ALLOWED_HOSTS = [*_settings.ALLOWED_HOSTS, "testserver"]

    @pytest.fixture
    def db():
        from contextlib import ExitStack

        from django.conf import settings
        from django.db import transaction

        aliases = [a for a, d in settings.DATABASES.items() if d.get("ENGINE") == "django.db.backends.sqlite3"]
        with ExitStack() as stack:
            for alias in aliases:
                stack.enter_context(transaction.atomic(using=alias))
            yield
            for alias in aliases:
                transaction.set_rollback(True, using=alias)
'''


def django_conftest_source(settings_module):
    return _DJANGO_CONFTEST % {"settings": settings_module}
