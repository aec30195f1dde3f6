"""Beyond the return value: the receiver's public state (its changed
attributes and the callbacks' recorded calls are candidate assertions of
observe.py), and whether an exception looks like a bug of the project
(raised by the interpreter inside project code on valid-looking input)
rather than a refusal it meant."""

import inspect
import linecache
import os
import typing

from .values import OMIT, Lit

# Raised by the interpreter, not by a `raise` the author wrote, these mean a
# line of the project did something it cannot do on this input.
_INTERPRETER_ERRORS = (ZeroDivisionError, IndexError, KeyError, TypeError, AttributeError,
                       UnboundLocalError, NameError, RecursionError, OverflowError)


def public_state(obj):
    """The public instance attributes of an object ({} when it has none)."""
    try:
        attrs = vars(obj)
    except TypeError:
        return {}
    return {k: v for k, v in attrs.items() if not k.startswith("_")}


def _last_project_frame(ctx, exc):
    tb = exc.__traceback__
    last = None
    while tb is not None:
        if ctx.is_project_file(tb.tb_frame.f_code.co_filename):
            last = tb
        tb = tb.tb_next
    return last


def _matches(ann, value):
    """Whether a value fits a plain annotation (unknown ones count as fitting)."""
    if ann is None or ann is inspect.Parameter.empty or ann is typing.Any or isinstance(ann, str):
        return True
    if isinstance(ann, type):
        try:
            return isinstance(value, ann)
        except TypeError:
            return True
    return True


def _fully_typed(ann):
    """An annotation that says what the value holds (`list[int]`, `Entry`),
    not a bare container or nothing."""
    if ann is None or ann is inspect.Parameter.empty or ann is typing.Any or isinstance(ann, str):
        return False
    if ann in (list, dict, set, tuple, frozenset, object):
        return False
    return True


def valid_looking(callee, vals, strict=False):
    """No None passed where the parameter is not Optional, each value of its
    annotated type: the exception is not the test's own doing. `strict`
    (a TypeError or AttributeError: most often a value of the wrong shape)
    also wants every parameter fully typed."""
    for p, v in zip(callee.params, vals or []):
        if strict and not _fully_typed(p.ann):
            return False
        if v is OMIT:
            continue
        if isinstance(v, Lit) and v.value is None:
            return False
        try:
            built = v.build()
        except Exception:
            return False
        if p.kind == p.kind.VAR_POSITIONAL:
            continue
        if not _matches(p.ann, built):
            return False
    return True


def suspected_bug(ctx, exc, callees_vals, call):
    """{file, line, input, error, reason} when the exception was raised by the
    interpreter inside a project line that is not a `raise`, on inputs that
    look valid; else None."""
    if not isinstance(exc, _INTERPRETER_ERRORS):
        return None
    frame = _last_project_frame(ctx, exc)
    if frame is None:
        return None
    path = frame.tb_frame.f_code.co_filename
    lineno = frame.tb_lineno
    text = linecache.getline(path, lineno).strip()
    if text.startswith("raise") or text.startswith("assert"):
        return None  # the author's own refusal
    strict = isinstance(exc, (TypeError, AttributeError))
    if not all(valid_looking(c, v, strict) for c, v in callees_vals):
        return None
    try:
        rel = os.path.relpath(os.path.abspath(path), ctx.root)
    except ValueError:
        rel = path
    from .protocol import last_line
    return {
        "file": rel.replace(os.sep, "/"),
        "line": lineno,
        "input": call,
        "error": last_line(exc),
        "reason": "%s raised by the interpreter at `%s`, not by a raise of the project, "
                  "on inputs of the annotated types" % (type(exc).__name__, text[:120]),
    }


def bug_comment(bug):
    return ["# Suspected bug: %s at %s:%d on this input; the test pins today's behaviour."
            % (bug["error"][:120], bug["file"], bug["line"])]
