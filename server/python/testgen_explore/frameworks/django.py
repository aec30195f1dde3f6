"""Django: the settings module is found the way Django users configure it and
django.setup() runs once, before the first project module is imported. A
file sqlite database is replaced by an in-memory one (tables created with
`migrate --run-syncdb`), any other engine by Django's dummy backend: the
harness never writes to the project's real database. Candidates run in a
transaction rolled back after them; those that touch an unusable database
are discarded."""

import ast
import os
import re
import sys

from ..isolation import module_path
from ..protocol import last_line


class DjangoState:
    """What django_setup() found and did, once per harness."""

    def __init__(self):
        self.tried = False
        self.settings_module = None  # set when the project is a Django project
        self.error = None            # why django.setup() failed
        self.memory = []             # aliases on in-memory sqlite with tables
        self.db_ok = False           # the ORM can run
        self.hits = 0                # connection uses so far
        self.pinned = set()          # project modules django.setup() imported
        self.view_keys = {}          # view class -> keys of the requests its tests make


DSM = "DJANGO_SETTINGS_MODULE"


def _ini_settings_module(root):
    import configparser
    for fname, section in (("pytest.ini", "pytest"), ("pyproject.toml", None), ("tox.ini", "pytest"),
                           ("setup.cfg", "tool:pytest")):
        path = os.path.join(root, fname)
        if not os.path.isfile(path):
            continue
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError:
            continue
        if section is None:
            opts = None
            try:
                import tomllib
                opts = tomllib.loads(text).get("tool", {}).get("pytest", {}).get("ini_options", {})
            except ImportError:
                m = re.search(r"(?ms)^\[tool\.pytest\.ini_options\](.*?)(^\[|\Z)", text)
                if m:
                    m2 = re.search(r"(?m)^\s*DJANGO_SETTINGS_MODULE\s*=\s*[\"']([\w.]+)[\"']", m.group(1))
                    opts = {DSM: m2.group(1)} if m2 else {}
            except Exception:
                opts = None
            value = (opts or {}).get(DSM)
            if isinstance(value, str) and value.strip():
                return value.strip()
            continue
        cp = configparser.ConfigParser(interpolation=None)
        try:
            cp.read_string(text)
        except Exception:
            continue
        if cp.has_section(section):
            value = cp.get(section, DSM, fallback="").strip()
            if value:
                return value
    return None


def _manage_py_settings_module(ctx, dirs):
    """`os.environ.setdefault("DJANGO_SETTINGS_MODULE", "...")` in manage.py."""
    for d in dirs:
        tree = ctx.parse(os.path.join(d, "manage.py"))
        if tree is None:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "setdefault" and len(node.args) == 2
                    and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
                    and node.args[0].value == DSM):
                return node.args[1].value
    return None


def find_settings_module(ctx):
    dirs = [ctx.root] + ctx.sys_path
    return os.environ.get(DSM) or _ini_settings_module(ctx.root) or _manage_py_settings_module(ctx, dirs)


def _is_memory_sqlite(name):
    name = str(name or "")
    return name in ("", ":memory:") or "mode=memory" in name


def allow_test_client(settings):
    """Django's test client asks for the host "testserver": added to
    ALLOWED_HOSTS as Django's own test runner does (setup_test_environment),
    or settings listing only the production host answer every request 400."""
    hosts = list(settings.ALLOWED_HOSTS or [])
    if "*" not in hosts and "testserver" not in hosts:
        settings.ALLOWED_HOSTS = hosts + ["testserver"]


def _django_configure(ctx):
    dj = ctx.django
    import django
    from django.conf import settings
    dbs = settings.DATABASES  # loads the settings module
    for alias, cfg in dbs.items():
        if cfg.get("ENGINE") == "django.db.backends.sqlite3":
            if not _is_memory_sqlite(cfg.get("NAME")):
                cfg["NAME"] = ":memory:"
            dj.memory.append(alias)
        else:
            for key in list(cfg):
                if key != "ENGINE":
                    del cfg[key]
            cfg["ENGINE"] = "django.db.backends.dummy"
    django.setup()
    allow_test_client(settings)
    dj.pinned = {n for n, m in sys.modules.items() if m is not None and ctx.is_project_file(module_path(m))}
    from django.core.management import call_command
    from django.db import connections
    for alias in list(dj.memory):
        try:
            call_command("migrate", run_syncdb=True, verbosity=0, interactive=False, database=alias)
        except Exception as e:
            dj.memory.remove(alias)
            print("testgen: migrate --run-syncdb failed for %s: %s" % (alias, last_line(e)), file=sys.stderr)
    dj.db_ok = bool(dj.memory) and len(dj.memory) == len(dbs)
    for alias in dbs:
        conn = connections[alias]
        for attr in ("ensure_connection", "_cursor", "cursor"):
            orig = getattr(conn, attr, None)
            if orig is None:
                continue

            def counted(*a, _orig=orig, **k):
                dj.hits += 1
                return _orig(*a, **k)
            setattr(conn, attr, counted)


def django_setup(ctx):
    """Once per harness: configures Django when the project uses it."""
    dj = ctx.django
    if dj.tried:
        return
    dj.tried = True
    mod = find_settings_module(ctx)
    if not mod:
        return
    try:
        import importlib.util
        if importlib.util.find_spec("django") is None:
            return
    except (ImportError, ValueError):
        return
    os.environ[DSM] = mod
    if getattr(ctx, "snapshot", None) is not None:
        ctx.snapshot.pin_env(DSM, mod)
    dj.settings_module = mod
    status, res = ctx.guard.run(lambda: _django_configure(ctx), 120.0, ctx.enforce_imports)
    if status != "ok":
        dj.error = last_line(res) if isinstance(res, BaseException) else \
            "refused %s" % res if status == "unsafe" else status
        dj.db_ok = False


def django_guarded(dj, fn):
    """fn run in a transaction rolled back after it (every usable alias); the
    number of connection uses it made."""
    if not dj.settings_module or dj.error:
        return fn, None
    box = {}

    def counted():
        # Counted inside the transaction: entering it connects too.
        before = dj.hits
        try:
            return fn()
        finally:
            box["hits"] = dj.hits - before

    def body():
        import contextlib
        if not dj.memory:
            return counted()
        from django.db import transaction
        with contextlib.ExitStack() as stack:
            for alias in dj.memory:
                stack.enter_context(transaction.atomic(using=alias))
            try:
                return counted()
            finally:
                for alias in dj.memory:
                    transaction.set_rollback(True, using=alias)
    return body, box


def touched_db(box, out):
    if box is None:
        return False
    if box.get("hits"):
        return True
    exc = getattr(out, "exc", None)
    return (exc is not None and type(exc).__name__ == "ImproperlyConfigured"
            and "DATABASES" in str(exc))
