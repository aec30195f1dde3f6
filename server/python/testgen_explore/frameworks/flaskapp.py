"""A Flask application made testable the way Flask's own tutorial tests it:
built by its factory with a test config, its instance folder and its
file settings (an SQLite `DATABASE`, a `sqlite:///` URI) in a temporary
directory, its own set-up CLI commands (`init-db`) run through
`app.test_cli_runner()` before any request. Nothing is written into the
user's project: `Flask.auto_find_instance_path` (the hook Flask asks for the
instance folder) answers the temporary directory while the app is built.

`find_flask` probes every module-level app and factory; `build_flask`
makes a probed app again (the harness, for each candidate); the conftest
renders the same steps as source (templates.py)."""

import contextlib
import inspect
import os
import re
import shutil
import tempfile

from ..protocol import last_line
from ..typehints import type_hints

FACTORY_NAMES = ("create_app", "make_app", "build_app", "app_factory", "get_app", "create_application",
                 "application_factory")

# CLI commands that prepare an application's data, in the order they run:
# creating the schema before filling it.
_SETUP_COMMANDS = [re.compile(p) for p in (
    r"^(init|initiali[sz]e|create|setup|bootstrap)([-_]?(db|database|tables|schema|all))?$",
    r"^(init|initiali[sz]e|create|setup)[-_]?(db|database|tables|schema)$",
    r"^(db|database)[-_]?(init|create|setup)$",
    r"^(seed|populate|load)([-_]?(db|database|data))?$",
)]
_DB_SUFFIXES = (".db", ".sqlite", ".sqlite3", ".sqlite.db")
_DB_KEY = re.compile(r"DATABASE|(^|_)DB($|_)|SQLITE")
SQLITE_PREFIX = "sqlite:///"


@contextlib.contextmanager
def instance_at(instance):
    """Flask asks `auto_find_instance_path` where the instance folder is when
    the app does not say: while this is active it is `instance`."""
    import flask

    had = "auto_find_instance_path" in vars(flask.Flask)
    old = vars(flask.Flask).get("auto_find_instance_path")
    flask.Flask.auto_find_instance_path = lambda self: instance
    try:
        yield
    finally:
        if had:
            flask.Flask.auto_find_instance_path = old
        else:
            del flask.Flask.auto_find_instance_path


def new_instance_dir():
    """A fresh instance folder (not created: the app's own `os.makedirs`
    makes it, which is how the probe knows the app uses one)."""
    return os.path.join(tempfile.mkdtemp(prefix="testgen-flask-"), "instance")


def test_config(setup, instance):
    """The test config of `setup` (find_flask's answer) for `instance`."""
    config = {"TESTING": True}
    for c in setup.get("config", []):
        config[c["key"]] = c["prefix"] + os.path.join(instance, c["name"])
    config.update(setup.get("constants", {}))
    return config


def build_flask(app_json, instance):
    """The application of `app_json` as the conftest builds it, its set-up
    commands run; raises when any step fails."""
    setup = app_json.get("setup") or {}
    ns = {"test_config": test_config(setup, instance)}
    with instance_at(instance) if setup.get("instance") else contextlib.nullcontext():
        exec(app_json["import"], ns)
        app = eval(app_json["expr"], ns)
    if setup.get("config_after"):
        app.config.update(ns["test_config"])
    app.testing = True
    run_commands(app, setup.get("commands", []))
    return app


def run_commands(app, commands):
    runner = app.test_cli_runner()
    # The `flask` command pushes an app context for every command it runs
    # (Flask >= 2.2); the test runner does not for a plain click command
    # added with app.cli.add_command, as Flask's tutorial adds `init-db`.
    with app.app_context():
        for args in commands:
            result = runner.invoke(args=list(args))
            if result.exception is not None and not isinstance(result.exception, SystemExit):
                raise result.exception
            if result.exit_code != 0:
                raise RuntimeError("`flask %s` exited %s: %s" % (" ".join(args), result.exit_code,
                                                                 (result.output or "").strip()[-200:]))


def _under(path, base):
    real, base = os.path.realpath(path), os.path.realpath(base)
    return real == base or real.startswith(base + os.sep)


def config_paths(app, instance, root):
    """The DATABASE-like settings of a built app, as [{key, prefix, name}]:
    an SQLite file or `sqlite:///` URI in the instance folder or the
    project, to be put in the test's temporary directory instead."""
    out = []
    for key, value in sorted(app.config.items()):
        if not isinstance(value, (str, os.PathLike)) or not isinstance(key, str):
            continue
        value = os.fspath(value)
        prefix = SQLITE_PREFIX if value.startswith(SQLITE_PREFIX) else ""
        path = value[len(prefix):]
        if not path or path.startswith(":memory:") or "mode=memory" in path or "\n" in path:
            continue
        if prefix and not os.path.isabs(path):
            name = path  # Flask-SQLAlchemy reads it relative to the instance folder
        elif not os.path.isabs(path):
            continue
        elif _under(path, instance):
            name = os.path.relpath(os.path.realpath(path), os.path.realpath(instance))
        elif _under(path, root) and not os.path.isdir(path) and (
                prefix or path.endswith(_DB_SUFFIXES) or _DB_KEY.search(key.upper())):
            name = os.path.basename(path)
        else:
            continue
        out.append({"key": key, "prefix": prefix, "name": name})
    return out


def setup_commands(app):
    """The app's own CLI commands that prepare its data (`init-db`, `seed`),
    taking no required argument, in the order they should run."""
    import click

    commands = getattr(app.cli, "commands", {}) or {}
    found = []
    for name, cmd in commands.items():
        if isinstance(cmd, click.Group):
            continue
        if any(getattr(p, "required", False) and p.default is None for p in cmd.params):
            continue
        for rank, pattern in enumerate(_SETUP_COMMANDS):
            if pattern.match(name.lower()):
                found.append((rank, name))
                break
    return [[name] for _, name in sorted(found)]


def _params(fn):
    try:
        return [p for p in inspect.signature(fn).parameters.values()
                if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError):
        return None


def candidates(modules, app_cls):
    """(module, name, object, expr) of every app instance, then every
    factory, of the imported `modules` [(name, module)]."""
    apps, factories = [], []
    for m, module in modules:
        for name, obj in sorted(vars(module).items()):
            if isinstance(obj, app_cls):
                apps.append((m, name, obj, name))
            elif inspect.isfunction(obj) and obj.__module__ == m:
                ret = type_hints(obj).get("return")
                if ret is app_cls or name in FACTORY_NAMES:
                    params = _params(obj)
                    if params is None or any(p.default is p.empty for p in params[1:]):
                        continue
                    expr = "%s(test_config)" % name if params else "%s()" % name
                    factories.append((m, name, obj, expr))
    return apps + factories


class Probe:
    """Builds one candidate app in the harness to learn what its tests need."""

    def __init__(self, ctx, app_cls):
        self.ctx = ctx
        self.app_cls = app_cls
        self.dirs = []  # the temporary directories of the builds

    def _instance(self):
        instance = new_instance_dir()
        self.dirs.append(os.path.dirname(instance))
        return instance

    def _guarded(self, fn):
        status, value = self.ctx.guard.run(fn, 30.0, self.ctx.enforce_imports)
        if status == "ok":
            return value, None
        if isinstance(value, BaseException):
            return None, last_line(value)
        return None, "refused %s" % value if status == "unsafe" else status

    def probe(self, m, name, expr, fresh):
        """(AppRef, None) or (None, why). `fresh()` puts the project's
        modules aside so each build imports them anew."""
        takes_config = "test_config" in expr
        setup = {"instance": True, "config": [], "commands": [], "config_after": not takes_config}
        app_json = {"framework": "flask", "import": "from %s import %s" % (m, name), "expr": expr,
                    "setup": setup}
        instance = self._instance()
        with fresh():
            app, why = self._guarded(lambda: build_flask(app_json, instance))
        if app is None:
            return None, "%s: %s" % (expr.replace("test_config", "{...}"), why)
        if not isinstance(app, self.app_cls):
            return None, "%s is no %s" % (expr, self.app_cls.__name__)
        setup["config"] = config_paths(app, instance, self.ctx.root)
        setup["instance"] = os.path.isdir(instance) or bool(setup["config"])
        wanted = setup_commands(app)
        for args in wanted:
            # each command on a fresh app after the ones kept before it
            trial = dict(setup, commands=setup["commands"] + [args])
            instance = self._instance()
            with fresh():
                built, _ = self._guarded(lambda: build_flask(dict(app_json, setup=trial), instance))
            if built is not None:
                setup["commands"].append(args)
        if setup["instance"] or setup["config"] or setup["commands"]:
            if app.config.get("SECRET_KEY") is None:
                # an app with data of its own keeps logins in the session
                setup["constants"] = {"SECRET_KEY": "testgen-secret"}
            return app_json, None
        # nothing to set up: the app as find_app has always given it
        del app_json["setup"]
        if takes_config:
            app_json["expr"] = expr.replace("test_config", "{'TESTING': True}")
        return app_json, None


def find_flask(ctx, modules, app_cls, fresh):
    """The first candidate of `modules` [(name, module)] that builds, as
    (AppRef, None), or (None, [why each failed])."""
    errors = []
    probe = Probe(ctx, app_cls)
    try:
        for m, name, _, expr in candidates(modules, app_cls):
            found, why = probe.probe(m, name, expr, fresh)
            if found is not None:
                return found, errors
            errors.append(why)
        return None, errors
    finally:
        for d in probe.dirs:  # outside the guard, which refuses removals
            shutil.rmtree(d, ignore_errors=True)
