"""Flask apps built the way Flask's tutorial tests them (issue 20): a
factory that creates its instance folder and keeps an SQLite database there,
made by its own `init-db` command; views behind `login_required`."""

import os

from testgen_explore.frameworks.app import handle_find_app
from testgen_explore.frameworks.flask import flask_specs
from testgen_explore.frameworks.flaskapp import build_flask, new_instance_dir
from testgen_explore.frameworks.logins import PASSWORD, Auth
from testgen_explore.frameworks.routes import RouteExplorer

BLOG = '''
import functools
import os
import sqlite3

import click
from flask import Flask, current_app, g, redirect, request, session, url_for
from flask.cli import with_appcontext


def get_db():
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"])
    return g.db


@click.command("init-db")
@with_appcontext
def init_db_command():
    get_db().executescript("CREATE TABLE user (id INTEGER PRIMARY KEY, username TEXT UNIQUE, password TEXT);")
    click.echo("Initialized the database.")


def login_required(view):
    @functools.wraps(view)
    def wrapped(**kwargs):
        if session.get("user_id") is None:
            return redirect(url_for("login"))
        return view(**kwargs)
    return wrapped


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(SECRET_KEY="dev", DATABASE=os.path.join(app.instance_path, "blog.sqlite"))
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
    else:
        app.config.update(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.cli.add_command(init_db_command)

    @app.route("/register", methods=("GET", "POST"))
    def register():
        if request.method == "POST":
            db = get_db()
            db.execute("INSERT INTO user (username, password) VALUES (?, ?)",
                       (request.form["username"], request.form["password"]))
            db.commit()
            return redirect(url_for("login"))
        return "register"

    @app.route("/login", methods=("GET", "POST"))
    def login():
        if request.method == "POST":
            row = get_db().execute("SELECT id, password FROM user WHERE username = ?",
                                   (request.form["username"],)).fetchone()
            if row is None or row[1] != request.form["password"]:
                return "wrong", 400
            session["user_id"] = row[0]
            return redirect("/")
        return "login"

    app.add_url_rule("/secret", "secret", login_required(secret))
    return app


def secret():
    return "for members only"
'''


def find(ctx, load):
    load("blog", BLOG)
    return handle_find_app(ctx, {"framework": "flask", "modules": ["blog"]})


def test_the_factory_gets_a_temporary_instance_folder_and_its_init_command(ctx, load, root):
    answer = find(ctx, load)
    assert answer["status"] == "ok", answer
    app = answer["app"]
    assert app["expr"] == "create_app(test_config)"
    setup = app["setup"]
    assert setup["instance"] is True
    assert setup["config"] == [{"key": "DATABASE", "prefix": "", "name": "blog.sqlite"}]
    assert setup["commands"] == [["init-db"]]
    # Nothing was written into the project: no instance folder beside it.
    assert not os.path.exists(os.path.join(root, "instance"))
    conftest = answer["conftest"]
    compile(conftest, "conftest.py", "exec")
    assert 'monkeypatch.setattr(flask.Flask, "auto_find_instance_path", lambda self: instance)' in conftest
    assert '"DATABASE": os.path.join(instance, "blog.sqlite"),' in conftest
    assert 'for args in [["init-db"]]:' in conftest
    # The harness builds it the same way: the database has its table.
    instance = new_instance_dir()
    built = build_flask(app, instance)
    with built.app_context():
        assert built.config["DATABASE"] == os.path.join(instance, "blog.sqlite")
        assert os.path.exists(built.config["DATABASE"])


def test_a_protected_view_is_requested_after_registering_and_logging_in(ctx, load):
    app_json = find(ctx, load)["app"]
    mod = load("blog", BLOG)
    specs = flask_specs(ctx, build_flask(app_json, new_instance_dir()))
    auth = Auth([s for _, s in specs])
    assert (auth.register.view_name, auth.login.view_name) == ("register", "login")
    lines = BLOG.splitlines()
    start = lines.index("def secret():") + 1
    req = {"op": "explore", "id": 1,
           "target": {"file": mod.__file__, "module": "blog", "qualname": "secret", "kind": "route",
                      "line": start, "end_line": start + 1},
           "budget_s": 20.0, "max_calls": 60, "call_timeout_s": 2.0, "seed": 0, "allow_unsafe": False,
           "app": app_json}
    answer = RouteExplorer(ctx, req).explore()
    assert answer["status"] == "ok", answer
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "client.post('/register', data={'password': %r, 'username': 'testgen'})" % PASSWORD in src, src
    assert "client.post('/login', data={'password': %r, 'username': 'testgen'}).status_code == 302" % PASSWORD \
        in src, src
    assert "response = client.get('/secret')\n    assert response.status_code == 200" in src, src


def test_an_init_command_without_with_appcontext_runs_in_an_app_context(ctx, load):
    # Flask 3's tutorial adds `init-db` with app.cli.add_command and no
    # @with_appcontext: the `flask` command gives it an app context, the
    # test runner alone does not.
    source = BLOG.replace("@with_appcontext\n", "", 1)
    assert source != BLOG
    load("blog", source)
    answer = handle_find_app(ctx, {"framework": "flask", "modules": ["blog"]})
    assert answer["status"] == "ok", answer
    assert answer["app"]["setup"]["commands"] == [["init-db"]], answer
    assert "with app.app_context():" in answer["conftest"], answer["conftest"]


def test_a_function_needing_an_app_context_is_no_crash_to_pin(ctx):
    # get_db() called bare raises Flask's "Working outside of application
    # context": no caller of the app ever does that, so no test may pin it.
    from flask import g

    from testgen_explore.isolation import missing_state

    try:
        g.db
    except RuntimeError as e:
        assert missing_state(ctx, e)
    else:
        raise AssertionError("g outside an app context did not raise")
    assert not missing_state(ctx, RuntimeError("the project's own error"))
