"""Isolation: the project's modules are imported fresh for each request (and
for each route candidate), so module-level state never leaks between runs.
What is "the project's" is the context's rule (see rules.py)."""

import sys

from .frameworks.appdir import registry_module


def module_path(module):
    path = getattr(module, "__file__", None)
    if not path:
        # Namespace packages have no __file__, only a __path__.
        paths = list(getattr(module, "__path__", None) or [])
        path = paths[0] if paths else None
    return path


# Flask's context locals (`g`, `current_app`, `request`) used with no app
# or request pushed: every real caller of such a function runs inside one.
_OUTSIDE_CONTEXT = ("Working outside of application context", "Working outside of request context")


def missing_state(ctx, exc):
    """An AttributeError on an object of the project's own classes, such as
    a form's `cleaned_data` before validation, or Flask's "working outside of
    application context": the harness called without the state a real
    caller sets up first. A test asserting it would pin the harness's
    misuse, not the code's behaviour. (`obj` exists from Python 3.10;
    before that no AttributeError is filtered.)"""
    if isinstance(exc, RuntimeError) and str(exc).startswith(_OUTSIDE_CONTEXT):
        return True
    if not isinstance(exc, AttributeError):
        return False
    obj = getattr(exc, "obj", None)
    if obj is None:
        return False
    mod = sys.modules.get(type(obj).__module__)
    return ctx.is_project_file(getattr(mod, "__file__", None))


def _removable(ctx, name, mod):
    if mod is None or name in ctx.django.pinned:
        return False
    return ctx.is_project_file(module_path(mod)) or registry_module(name)


def forget_project_modules(ctx):
    """Removes the project's modules from sys.modules; returns them."""
    saved = {}
    for name, mod in list(sys.modules.items()):
        if _removable(ctx, name, mod):
            saved[name] = mod
            del sys.modules[name]
    return saved


def restore_project_modules(ctx, saved):
    for name, mod in list(sys.modules.items()):
        if _removable(ctx, name, mod):
            del sys.modules[name]
    sys.modules.update(saved)
