"""Beyond the return value: the receiver's public state (its changed
attributes and the callbacks' recorded calls are candidate assertions of
observe.py), and whether an exception looks like a bug of the project
(raised by the interpreter inside project code on arguments that keep
their contract) rather than a refusal it meant."""

import linecache
import os

from .contract import INTERPRETER_ERRORS, is_raise_line, origin, outside_contract


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


def suspected_bug(ctx, exc, callees_vals, call, built=()):
    """{file, line, input, error, reason} when the exception was raised by the
    interpreter (no `raise` statement threw it) inside project code, on
    arguments that keep their parameters' contract; else None. (Calls that
    break it are discarded before: search.py.)"""
    if not isinstance(exc, INTERPRETER_ERRORS) or origin(ctx, exc) != "interpreter":
        return None
    frame = _last_project_frame(ctx, exc)
    if frame is None:
        return None
    path = frame.tb_frame.f_code.co_filename
    lineno = frame.tb_lineno
    if is_raise_line(ctx, path, lineno):
        return None  # the author's own refusal, given a value it could not use
    if outside_contract(ctx, exc, callees_vals, built):
        return None
    text = linecache.getline(path, lineno).strip()
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
                  "on arguments that keep their parameters' contract (annotations and use)"
                  % (type(exc).__name__, text[:120]),
    }


def bug_comment(bug):
    return ["# Suspected bug: %s at %s:%d on this input; the test pins today's behaviour."
            % (bug["error"][:120], bug["file"], bug["line"])]
