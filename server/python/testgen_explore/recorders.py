"""Callables as arguments: a parameter the body calls (`callback(n)`) or
awaits (`await sink(entry)`) gets a small function, sync or `async def`
to match, that records what it received; the test defines it before the
call and asserts on the recorded calls afterwards."""

import ast
import inspect
import typing
import collections.abc as cabc

from .source import own_nodes
from .values import Val


def called_params(node, params):
    """{param: 'async' | 'sync'} for the parameters the body calls."""
    out = {}
    if node is None:
        return out
    awaited = set()
    for n in own_nodes(node):
        if isinstance(n, ast.Await) and isinstance(n.value, ast.Call):
            awaited.add(id(n.value))
    for n in own_nodes(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in params:
            kind = "async" if id(n) in awaited else "sync"
            if out.get(n.func.id) != "async":
                out[n.func.id] = kind
    return out


def wants_recorder(ann):
    """A parameter whose annotation says nothing against a plain function."""
    if ann is None or ann is inspect.Parameter.empty or ann is typing.Any or isinstance(ann, str):
        return True
    origin = typing.get_origin(ann) or ann
    return origin in (cabc.Callable, typing.Callable) or ann is callable


class Recorder(Val):
    """A function named after the parameter; what it got goes into
    `<name>_calls` (a list of argument tuples). It hands its first argument
    back, a plausible result for a transform or a predicate."""

    def __init__(self, name, kind):
        self.name = name
        self.kind = kind
        self.src = name
        self.imports = frozenset()
        self.calls = None
        keyword = "async def" if kind == "async" else "def"
        self.prelude = [
            "%s_calls = []" % name,
            "",
            "%s %s(*args):" % (keyword, name),
            "    %s_calls.append(args)" % name,
            "    return args[0] if args else None",
            "",
        ]

    def build(self):
        calls = []
        self.calls = calls
        if self.kind == "async":
            async def recorder(*args):
                calls.append(args)
                return args[0] if args else None
        else:
            def recorder(*args):
                calls.append(args)
                return args[0] if args else None
        recorder.__name__ = self.name
        return recorder

    def recorded(self):
        return list(self.calls) if self.calls is not None else None


def recorders_in(vals):
    """The Recorders among argument values, each once, in order."""
    out, seen = [], set()
    for v in vals or ():
        if isinstance(v, Recorder) and v.name not in seen:
            seen.add(v.name)
            out.append(v)
    return out


def with_prelude(vals):
    """Argument values that need statements before the call (recorders,
    files), each once, in order."""
    out, seen = [], set()
    for v in vals or ():
        lines = getattr(v, "prelude", None)
        if lines and tuple(lines) not in seen:
            seen.add(tuple(lines))
            out.append(v)
    return out
