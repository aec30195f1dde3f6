"""find_app: the real application object of a Flask or FastAPI project (a
module-level instance, else a factory such as `create_app`) or a Django
project's settings, with the conftest the generated tests need."""

import inspect
import sys

from ..isolation import forget_project_modules, restore_project_modules
from ..protocol import last_line
from ..templates import conftest_source, django_conftest_source
from ..typehints import type_hints
from .django import DSM, django_setup


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
        factories = []
        for m in modules:
            status, module = ctx.guard.run(lambda: __import__(m) and sys.modules[m], 30.0, ctx.enforce_imports)
            if status != "ok":
                errors.append("%s: %s" % (m, last_line(module) if isinstance(module, BaseException)
                                          else "refused %s" % module if status == "unsafe" else status))
                continue
            for name, obj in sorted(vars(module).items()):
                if isinstance(obj, app_cls) and found is None:
                    found = {"framework": fw, "import": "from %s import %s" % (m, name), "expr": name}
                elif inspect.isfunction(obj) and obj.__module__ == m:
                    ret = type_hints(obj).get("return")
                    if ret is app_cls or name in _FACTORY_NAMES:
                        factories.append((m, name, obj))
        if found is None:
            for m, name, fn in factories:
                try:
                    nparams = len([p for p in inspect.signature(fn).parameters.values()
                                   if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)])
                except (TypeError, ValueError):
                    continue
                exprs = ["%s()" % name]
                if fw == "flask" and nparams >= 1:
                    exprs.insert(0, "%s({'TESTING': True})" % name)
                for expr in exprs:
                    ns = {name: fn}
                    status, app = ctx.guard.run(lambda: eval(expr, ns), 30.0, ctx.enforce_imports)
                    if status == "ok" and isinstance(app, app_cls):
                        found = {"framework": fw, "import": "from %s import %s" % (m, name), "expr": expr}
                        break
                if found:
                    break
    finally:
        restore_project_modules(ctx, saved)
    if found is None:
        why = "no %s instance or factory in %s" % (cls_name, ", ".join(modules) or "any module")
        if errors:
            why += " (import errors: %s)" % "; ".join(errors)
        return {"status": "skipped", "reason": why}
    return {"status": "ok", "app": found, "conftest": conftest_source(found, ctx.rules.data)}
