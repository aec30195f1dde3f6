"""find_app: the real application object of a Flask or FastAPI project (a
module-level instance, else a factory such as `create_app`) or a Django
project's settings, with the conftest the generated tests need."""

import contextlib
import inspect
import sys

from ..isolation import forget_project_modules, restore_project_modules
from ..protocol import last_line
from ..templates import conftest_source, django_conftest_source
from ..typehints import type_hints
from .django import DSM, django_setup
from .fastapi import fastapi_routes
from .flaskapp import find_flask


_FACTORY_NAMES = ("create_app", "make_app", "build_app", "app_factory", "get_app", "create_application",
                  "application_factory", "init_app")


def handle_find_app(ctx, req):
    fw = req.get("framework")
    modules = list(req.get("modules") or [])
    if fw == "django":
        django_setup(ctx)
        if not ctx.django.settings_module:
            return {"status": "skipped", "reason": "no Django settings module found (%s, pytest's ini "
                    "options, manage.py)" % DSM}
        return {"status": "ok", "app": {"framework": "django", "settings": ctx.django.settings_module},
                "conftest": django_conftest_source(ctx.django.settings_module)}
    if fw not in ("flask", "fastapi"):
        return {"status": "skipped", "reason": "unknown framework %r" % fw}
    cls_name = "Flask" if fw == "flask" else "FastAPI"
    status, mod = ctx.guard.run(lambda: __import__(fw), 30.0, ctx.enforce_imports)
    if status != "ok":
        return {"status": "skipped", "reason": "%s is not importable in the project's interpreter" % fw}
    app_cls = getattr(mod, cls_name)
    saved = forget_project_modules(ctx)
    errors = []
    found = None
    try:
        loaded = []
        for m in modules:
            status, module = ctx.guard.run(lambda: __import__(m) and sys.modules[m], 30.0, ctx.enforce_imports)
            if status != "ok":
                errors.append("%s: %s" % (m, last_line(module) if isinstance(module, BaseException)
                                          else "refused %s" % module if status == "unsafe" else status))
                continue
            loaded.append((m, module))
        if fw == "flask":
            found, failed = find_flask(ctx, loaded, app_cls, lambda: _fresh(ctx))
            errors += failed
        else:
            found = _find_fastapi(ctx, loaded, app_cls)
    finally:
        restore_project_modules(ctx, saved)
    if found is None:
        why = "no %s instance or factory in %s" % (cls_name, ", ".join(modules) or "any module")
        if errors:
            why += " could be used (%s)" % "; ".join(errors)
        return {"status": "skipped", "reason": why}
    return {"status": "ok", "app": found, "conftest": conftest_source(found, ctx.rules.data)}


@contextlib.contextmanager
def _fresh(ctx):
    """The project's modules put aside while an app is built, so each build
    imports them anew (and leaves nothing behind)."""
    saved = forget_project_modules(ctx)
    try:
        yield
    finally:
        restore_project_modules(ctx, saved)


def _find_fastapi(ctx, loaded, app_cls):
    """Every module-level FastAPI instance (a project may have a main app
    with its routers included and another app of its own in a second
    module), else the first factory whose call returns one. The app with the
    most routes is the `client` fixture's; each other one gets a fixture of
    its own (`others`), named for its module."""
    apps = []
    factories = []
    for m, module in loaded:
        for name, obj in sorted(vars(module).items()):
            if isinstance(obj, app_cls):
                if all(obj is not a for a, _, _ in apps):
                    apps.append((obj, m, name))
            elif inspect.isfunction(obj) and obj.__module__ == m:
                ret = type_hints(obj).get("return")
                if ret is app_cls or name in _FACTORY_NAMES:
                    factories.append((m, name, obj))
    if apps:
        ranked = sorted(enumerate(apps), key=lambda ia: (-sum(1 for _ in fastapi_routes(ia[1][0].routes)), ia[0]))
        refs = [{"framework": "fastapi", "import": "from %s import %s" % (m, name), "expr": name}
                for _, (_, m, name) in ranked]
        primary = refs[0]
        used = {"client"}
        others = []
        for (_, (_, m, name)), ref in zip(ranked[1:], refs[1:]):
            ref["fixture"] = _fixture_name(m, name, used)
            others.append(ref)
        if others:
            primary["others"] = others
        return primary
    for m, name, fn in factories:
        expr = "%s()" % name
        ns = {name: fn}
        status, app = ctx.guard.run(lambda: eval(expr, ns), 30.0, ctx.enforce_imports)
        if status == "ok" and isinstance(app, app_cls):
            return {"framework": "fastapi", "import": "from %s import %s" % (m, name), "expr": expr}
    return None


def _fixture_name(module, name, used):
    """`heroes_client` for `app.heroes:app`; the attribute's name joins in
    when the module's alone is taken."""
    stem = module.rsplit(".", 1)[-1].strip("_") or "app"
    for candidate in ("%s_client" % stem, "%s_%s_client" % (stem, name.strip("_")),
                      "%s_client" % "_".join(module.split("."))):
        if candidate not in used and candidate.isidentifier():
            used.add(candidate)
            return candidate
    n = 2
    while "%s_client_%d" % (stem, n) in used:
        n += 1
    used.add("%s_client_%d" % (stem, n))
    return "%s_client_%d" % (stem, n)
