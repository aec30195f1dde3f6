#!/usr/bin/env python3
"""Routes exercised by a Flask or FastAPI project's kept tests (issue 20).

    bench/routes_exercised.py PROJECT [--python PY] [--tests DIR] [--json] [--apps m:app,...]

Runs the tests (default: PROJECT/tests/generated, the tests testgen kept)
with PROJECT's interpreter (default: PROJECT/.venv/bin/python) and a pytest
plugin that records, through Flask's `request_finished` signal, every
request's URL rule and response. A route (a URL rule of the application,
`static` left out) counts as exercised when some test requested it and the
view accepted the request: a 2xx or 3xx status, and not a redirect to a
login page (what a `login_required` view answers an anonymous user). A path
parameter naming no object gets a 404 from such views, so it never counts.

Prints `routes exercised: M/N (P%)` and the routes missed, or with --json
one object {"routes", "exercised", "share", "missed"}. Exit 0 unless the
tests could not be run.

FastAPI: every APIRoute's handling is recorded (route = its full path and
its view; the status is the response's); an application's routes count
once a request reached it, or from the start when named in --apps.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

_PLUGIN = r'''
import importlib
import json
import os

_OUT = os.environ["TESTGEN_ROUTES_OUT"]
_APPS = [a for a in os.environ.get("TESTGEN_ROUTES_APPS", "").split(",") if a]
_seen = {"rules": {}, "requests": []}


def _login_redirect(status, location):
    location = location if 300 <= status < 400 else ""
    return any(w in location.lower() for w in ("login", "signin", "sign_in", "sign-in"))


try:
    import flask
except ImportError:
    flask = None

if flask is not None:
    def _finished(sender, response, **_):
        for rule in sender.url_map.iter_rules():
            if rule.endpoint != "static":
                _seen["rules"][rule.rule] = sorted(rule.methods - {"HEAD", "OPTIONS"})
        rule = flask.request.url_rule
        _seen["requests"].append({
            "rule": rule.rule if rule is not None else None,
            "method": flask.request.method,
            "status": response.status_code,
            "login_redirect": _login_redirect(response.status_code, response.headers.get("Location", "")),
        })

    flask.request_finished.connect(_finished)

try:
    from fastapi import routing as _fastapi_routing
except ImportError:
    _fastapi_routing = None


def _endpoint_key(route):
    # A FastAPI route by its path (with the routers' prefixes) and view.
    ep = route.endpoint
    return "%s %s.%s" % (getattr(route, "_full_path", route.path), ep.__module__, ep.__qualname__)


def _fastapi_rules(app):
    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        pairs = ([(c.path, c.original_route) for c in contexts()] if callable(contexts)
                 else [(route.path, route)])
        for path, original in pairs:
            if isinstance(original, _fastapi_routing.APIRoute):
                original._full_path = path
                _seen["rules"][_endpoint_key(original)] = sorted(original.methods or [])


if _fastapi_routing is not None:
    _handle = _fastapi_routing.APIRoute.handle

    async def _recording_handle(self, scope, receive, send):
        start = {}

        async def _send(message):
            if message["type"] == "http.response.start":
                start["status"] = message["status"]
                start["location"] = dict((k.decode("latin-1").lower(), v.decode("latin-1"))
                                         for k, v in message.get("headers", [])).get("location", "")
            await send(message)

        if "app" in scope:
            _fastapi_rules(scope["app"])
        try:
            await _handle(self, scope, receive, _send)
        finally:
            status = start.get("status", 500)
            _seen["requests"].append({"rule": _endpoint_key(self), "method": scope.get("method"),
                                      "status": status,
                                      "login_redirect": _login_redirect(status, start.get("location", ""))})

    _fastapi_routing.APIRoute.handle = _recording_handle


def pytest_sessionstart(session):
    # Every application named, so one no test requested still counts.
    for ref in _APPS:
        module, _, attr = ref.partition(":")
        app = getattr(importlib.import_module(module), attr)
        if _fastapi_routing is not None and hasattr(app, "routes") and not hasattr(app, "url_map"):
            _fastapi_rules(app)


def pytest_sessionfinish(session, exitstatus):
    with open(_OUT, "w", encoding="utf-8") as f:
        json.dump(_seen, f)
'''


def record(project, python, tests, apps=(), timeout=600):
    """Runs `tests` under the recording plugin; returns its data."""
    with tempfile.TemporaryDirectory(prefix="routes-exercised-") as tmp:
        with open(os.path.join(tmp, "testgen_routes_plugin.py"), "w", encoding="utf-8") as f:
            f.write(_PLUGIN)
        out = os.path.join(tmp, "routes.json")
        env = dict(os.environ, TESTGEN_ROUTES_OUT=out, PYTHONDONTWRITEBYTECODE="1", TESTGEN_ROUTES_APPS=",".join(apps),
                   PYTHONPATH=os.pathsep.join(p for p in (tmp, project, os.environ.get("PYTHONPATH")) if p))
        cmd = [python, "-m", "pytest", "-q", "-p", "testgen_routes_plugin", "-p", "no:cacheprovider",
               "-p", "no:cov", tests]
        run = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)
        if not os.path.exists(out):
            sys.exit("routes_exercised: the tests did not run (exit %s):\n%s%s"
                     % (run.returncode, run.stdout[-2000:], run.stderr[-2000:]))
        with open(out, encoding="utf-8") as f:
            return json.load(f)


def share(data):
    """(exercised rules, all rules) of recorded data."""
    rules = set(data["rules"])
    accepted = {r["rule"] for r in data["requests"]
                if r["rule"] in rules and 200 <= r["status"] < 400 and not r["login_redirect"]}
    return accepted, rules


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project")
    ap.add_argument("--python", help="the project's interpreter (default PROJECT/.venv/bin/python)")
    ap.add_argument("--tests", help="the tests to run (default PROJECT/tests/generated)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--apps", default="", help="FastAPI applications whose routes count even when no test "
                    "requests them: module:attr,...")
    args = ap.parse_args(argv)
    project = os.path.abspath(args.project)
    python = args.python or os.path.join(project, ".venv", "bin", "python")
    tests = args.tests or os.path.join(project, "tests", "generated")
    apps = [a for a in args.apps.split(",") if a]
    accepted, rules = share(record(project, python, tests, apps))
    result = {"routes": len(rules), "exercised": len(accepted),
              "share": round(100.0 * len(accepted) / len(rules), 2) if rules else 0.0,
              "missed": sorted(rules - accepted)}
    if args.json:
        print(json.dumps(result))
    else:
        print("routes exercised: %d/%d (%.2f%%)" % (result["exercised"], result["routes"], result["share"]))
        for r in result["missed"]:
            print("  missed: %s" % r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
