"""testgen's explore harness: the Python half of the offline engine.

Runs inside the project's own interpreter and speaks the JSON-lines protocol
of docs/explore-protocol.md on stdin/stdout. For one target (function,
method or Flask/FastAPI route) it searches inputs under a line+arc tracer,
keeps the calls that reach new code and renders each as a pytest function.

Stdlib only, Python >= 3.9. Sections, in order:
  process set-up and protocol I/O; isolation of the project's modules;
  safety (static scan, audit hook, timeouts); the tracer; source analysis;
  values and their generation; execution; rendering; the explorers
  (functions and methods, routes); find_app and the conftest; main.
"""

import argparse
import ast
import asyncio
import builtins
import collections
import collections.abc as cabc
import contextlib
import copy
import dataclasses
import dis
import doctest
import enum
import functools
import inspect
import io
import itertools
import json
import math
import os
import platform
import random
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
import typing
import urllib.parse

PROTOCOL = 1

# ---------------------------------------------------------------------------
# Process set-up and protocol I/O
# ---------------------------------------------------------------------------

# The protocol owns the real stdin/stdout file descriptors. Everything else
# (the project's prints, C extensions writing to fd 1, children inheriting
# fds, code calling input()) must never touch them, so at start-up the
# protocol gets private duplicates and fd 0/1 are pointed at /dev/null and
# stderr.
_PROTO_IN = None
_PROTO_OUT = None


def _take_protocol_fds():
    global _PROTO_IN, _PROTO_OUT
    _PROTO_OUT = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    _PROTO_IN = os.fdopen(os.dup(0), "r", encoding="utf-8")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    sys.stdout = sys.stderr
    sys.stdin = io.StringIO("")


def send(obj):
    """One response line, flushed at once: if the target later crashes the
    interpreter, what was answered before is not lost."""
    _PROTO_OUT.write(json.dumps(obj, sort_keys=False) + "\n")
    _PROTO_OUT.flush()


def last_line(exc):
    """The last line of an exception's traceback, e.g. `KeyError: 'x'`."""
    lines = traceback.format_exception_only(type(exc), exc)
    text = lines[-1].strip() if lines else type(exc).__name__
    return text[:300]


# ---------------------------------------------------------------------------
# Isolation: the project's modules are imported fresh for each request (and
# for each route candidate), so module-level state never leaks between runs.
# ---------------------------------------------------------------------------

ROOT = None  # absolute project root, set by main()

_NOT_PROJECT_PARTS = {"site-packages", "dist-packages", "node_modules", "__pycache__", "venv", "env"}


def _module_path(module):
    path = getattr(module, "__file__", None)
    if not path:
        # Namespace packages have no __file__, only a __path__.
        paths = list(getattr(module, "__path__", None) or [])
        path = paths[0] if paths else None
    return path


def is_project_file(path):
    """A file of the project itself: under the root, not in a virtualenv, a
    dot-directory (testgen's own cache included) or a test file."""
    if not path:
        return False
    path = os.path.abspath(path)
    if not path.startswith(ROOT + os.sep):
        return False
    parts = os.path.relpath(path, ROOT).split(os.sep)
    if any(p in _NOT_PROJECT_PARTS or p.startswith(".") for p in parts[:-1]):
        return False
    base = parts[-1]
    return not (base == "conftest.py" or base.startswith("test_") or base.endswith("_test.py"))


def missing_state(exc):
    """An AttributeError on an object of the project's own classes, such as
    a form's `cleaned_data` before validation: the harness built the object
    without the state a real caller sets up first. A test asserting it would
    pin the harness's misuse, not the code's behaviour. (`obj` exists from
    Python 3.10; before that nothing is filtered.)"""
    if not isinstance(exc, AttributeError):
        return False
    obj = getattr(exc, "obj", None)
    if obj is None:
        return False
    mod = sys.modules.get(type(obj).__module__)
    return is_project_file(getattr(mod, "__file__", None))


def forget_project_modules():
    """Removes the project's modules from sys.modules; returns them."""
    saved = {}
    for name, mod in list(sys.modules.items()):
        if mod is not None and name not in DJANGO.pinned and is_project_file(_module_path(mod)):
            saved[name] = mod
            del sys.modules[name]
    return saved


def restore_project_modules(saved):
    for name, mod in list(sys.modules.items()):
        if mod is not None and name not in DJANGO.pinned and is_project_file(_module_path(mod)):
            del sys.modules[name]
    sys.modules.update(saved)


# ---------------------------------------------------------------------------
# Safety
# ---------------------------------------------------------------------------


class SkipTarget(Exception):
    """Ends a request with status `skipped` and this reason."""


class CallTimeout(BaseException):
    """Raised by SIGALRM in the middle of a call that runs too long.
    A BaseException so that the project's `except Exception` cannot eat it."""


class UnsafeCall(BaseException):
    """Raised by the audit hook when a candidate does something destructive."""


class ForbiddenExit(BaseException):
    """Raised instead of os._exit, which would kill the harness."""


# Audit events a candidate must never trigger (when allow_unsafe is false).
_BLOCKED_EVENTS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn",
    "os.remove", "os.rmdir", "os.rename", "os.truncate", "shutil.rmtree",
    "shutil.move", "os.startfile",
}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "testserver", ""}


def _is_local_address(addr):
    if isinstance(addr, tuple) and addr:
        host = str(addr[0])
        return host in _LOCAL_HOSTS or host.startswith("127.")
    # AF_UNIX sockets and the like stay on the machine.
    return isinstance(addr, (str, bytes))


class Guard:
    """Everything that is active only while a candidate runs: the audit hook's
    block list, os._exit replaced, stdout redirected, the per-call alarm."""

    def __init__(self):
        self.active = False
        self.enforce = True
        self._installed = False

    def install(self):
        if self._installed:
            return
        self._installed = True
        sys.addaudithook(self._hook)
        signal.signal(signal.SIGALRM, self._alarm)

    def _alarm(self, signum, frame):
        raise CallTimeout()

    def _hook(self, event, args):
        if not self.active or not self.enforce:
            return
        if event in _BLOCKED_EVENTS:
            raise UnsafeCall(event)
        if event.startswith("ctypes."):
            raise UnsafeCall(event)
        if event == "socket.connect" and len(args) > 1 and not _is_local_address(args[1]):
            raise UnsafeCall("socket.connect to %r" % (args[1],))
        if event == "urllib.Request" and args:
            host = urllib.parse.urlsplit(str(args[0])).hostname or ""
            if host not in _LOCAL_HOSTS and not host.startswith("127."):
                raise UnsafeCall("urllib.Request to " + host)

    def run(self, fn, timeout, enforce):
        """Runs fn() guarded; returns ('ok', value) or (kind, detail).
        Re-entrant: a guarded call inside a guarded call (building a value
        while a candidate runs) keeps the outer alarm and hook as they are."""
        if self.active:
            try:
                return ("ok", fn())
            except (SystemExit, ForbiddenExit) as e:
                return ("exit", e)
            except (CallTimeout, UnsafeCall):
                raise  # the outer call's: it must end
            except BaseException as e:
                return ("raise", e)
        real_exit = os._exit

        def forbidden_exit(code=0):
            raise ForbiddenExit(code)

        self.enforce = enforce
        self.active = True
        os._exit = forbidden_exit
        sys.stdout = sys.stderr
        stdin = sys.stdin
        sys.stdin = io.StringIO("")
        signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.01))
        try:
            return ("ok", fn())
        except CallTimeout:
            return ("timeout", None)
        except UnsafeCall as e:
            return ("unsafe", str(e))
        except (SystemExit, ForbiddenExit) as e:
            return ("exit", e)
        except BaseException as e:
            return ("raise", e)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.active = False
            os._exit = real_exit
            sys.stdout = sys.stderr
            sys.stdin = stdin


GUARD = Guard()

# Static scan: calls that make a target unsafe to run unattended. Resolved
# through the module's globals, so `from os import remove` and
# `import subprocess as sp` are caught too.
_UNSAFE_FUNCS = [
    ("os", ["system", "popen", "remove", "unlink", "rmdir", "removedirs", "rename", "renames",
            "replace", "kill", "killpg", "fork", "execv", "execve", "execl", "execlp", "execvp",
            "spawnv", "spawnl", "posix_spawn", "truncate", "_exit"]),
    ("shutil", ["rmtree", "move"]),
]
_UNSAFE_MODULES = ("subprocess", "socket", "ctypes", "requests", "httpx", "urllib.request",
                   "http.client", "ftplib", "smtplib", "telnetlib", "aiohttp")
_HTTP_MODULES = ("requests", "httpx", "urllib.request", "aiohttp")


def _unsafe_table():
    table = {}
    for modname, names in _UNSAFE_FUNCS:
        mod = sys.modules.get(modname) or __import__(modname)
        for n in names:
            obj = getattr(mod, n, None)
            if obj is not None:
                table[id(obj)] = "%s.%s" % (modname, n)
    return table


def dotted(node):
    """`a.b.c` of a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def _resolve(name, namespace):
    """The object a dotted name refers to in a module namespace (getattr only)."""
    parts = name.split(".")
    if parts[0] in namespace:
        obj = namespace[parts[0]]
    elif hasattr(builtins, parts[0]):
        obj = getattr(builtins, parts[0])
    else:
        raise LookupError(name)
    for p in parts[1:]:
        obj = getattr(obj, p)
    return obj


def _is_local_url(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        host = urllib.parse.urlsplit(node.value).hostname or ""
        return host in _LOCAL_HOSTS or host.startswith("127.")
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return _is_local_url(node.values[0])
    return False


def unsafe_calls(func_node, namespace):
    """Names of destructive/external calls in a function's source."""
    table = _unsafe_table()
    found = []
    for node in ast.walk(func_node):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        if not name:
            continue
        what = None
        try:
            obj = _resolve(name, namespace)
        except Exception:
            obj = None
        if obj is not None:
            if id(obj) in table:
                what = table[id(obj)]
            elif name in ("exit", "quit") or obj is sys.exit:
                what = None  # sys.exit is found at run time (SystemExit)
            else:
                mod = getattr(obj, "__module__", None) or ""
                if isinstance(obj, types.ModuleType):
                    mod = obj.__name__
                for m in _UNSAFE_MODULES:
                    if mod == m or mod.startswith(m + ".") or (m == "socket" and mod == "_socket"):
                        what = "%s.%s" % (m, name.split(".")[-1])
                        if m in _HTTP_MODULES and node.args and _is_local_url(node.args[0]):
                            what = None
                        break
        else:
            head = name.split(".")[0]
            if head in ("subprocess", "socket", "ctypes", "shutil") and name != head:
                what = name
        if what and what not in found:
            found.append(what)
    return found


# ---------------------------------------------------------------------------
# The tracer: lines and arcs of the target's code, in every thread.
# ---------------------------------------------------------------------------


class Tracer:
    """sys.settrace restricted to one file and line range. Installed in the
    main thread only while the target runs; threads (FastAPI runs handlers in
    worker threads) get it through threading.settrace and return at once
    while the tracer is inactive."""

    def __init__(self):
        self.active = False
        self.filenames = set()
        self.lo = 0
        self.hi = 0
        self.reset()

    def reset(self):
        self.lines = set()
        self.arcs = set()
        self.order = collections.deque(maxlen=4096)

    def configure(self, filenames, lo, hi):
        self.filenames = set(filenames)
        self.lo, self.hi = lo, hi

    def global_trace(self, frame, event, arg):
        if not self.active:
            return None
        code = frame.f_code
        if code.co_filename not in self.filenames or not (self.lo <= code.co_firstlineno <= self.hi):
            return None
        return self._local()

    def _local(self):
        lines, arcs, order = self.lines, self.arcs, self.order
        state = [-1, False]  # previous line (-1: entry), exception pending

        def local(frame, event, arg):
            if event == "line":
                ln = frame.f_lineno
                lines.add(ln)
                arcs.add((state[0], ln))
                order.append(ln)
                state[0] = ln
                state[1] = False
            elif event == "exception":
                state[1] = True
            elif event == "return":
                # An exit by exception is not a branch of the code: only
                # normal returns (and yields) count as arcs to the exit.
                if not state[1]:
                    arcs.add((state[0], -1))
            return local

        return local

    def __enter__(self):
        self.reset()
        self.active = True
        sys.settrace(self.global_trace)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        self.active = False
        return False


TRACER = Tracer()


def _thread_trace(frame, event, arg):
    if not TRACER.active:
        return None
    return TRACER.global_trace(frame, event, arg)


# ---------------------------------------------------------------------------
# Source analysis
# ---------------------------------------------------------------------------

_AST_CACHE = {}


def parse_file(path):
    path = os.path.abspath(path)
    if path not in _AST_CACHE:
        try:
            with open(path, "rb") as f:
                src = f.read()
            _AST_CACHE[path] = ast.parse(src, filename=path)
        except (OSError, SyntaxError, ValueError):
            _AST_CACHE[path] = None
    return _AST_CACHE[path]


def find_def(tree, name, lo, hi):
    """The (async) def called `name` starting in [lo, hi]; the one closest to lo."""
    best = None
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
            first = min([node.lineno] + [d.lineno for d in node.decorator_list])
            if lo <= first <= hi or lo <= node.lineno <= hi:
                if best is None or abs(first - lo) < abs(best[0] - lo):
                    best = (first, node)
    return best[1] if best else None


def own_nodes(func_node):
    """The nodes of a function's body, not those of nested defs/classes."""
    stack = list(func_node.body)
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            stack.append(child)


def body_start(func_node):
    body = func_node.body
    first = body[0]
    if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str) and len(body) > 1):
        return body[1].lineno
    return first.lineno


def code_lines(code, lo, hi):
    """Statement lines of a code object within [lo, hi], nested functions
    included: they are never targets of their own (they are reached only
    through the function that defines them)."""
    out = set()
    for _, line in dis.findlinestarts(code):
        if line is not None and lo <= line <= hi:
            out.add(line)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            out |= code_lines(const, lo, hi)
    return out


def mentions(node, name):
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(node))


def _literal(node):
    try:
        return ast.literal_eval(node)
    except Exception:
        return None


_NO = object()


def _consts_of(node):
    """Constants a node stands for: a literal, or a container literal's elements."""
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [v for v in (_literal(e) for e in node.elts) if v is not None]
    if isinstance(node, ast.Dict):
        return [v for v in (_literal(k) for k in node.keys if k is not None) if v is not None]
    v = _literal(node)
    if isinstance(v, (int, float, str, bytes)) and not isinstance(v, bool):
        return [v]
    if isinstance(v, (tuple, list, set, frozenset)):
        return [x for x in v if isinstance(x, (int, float, str, bytes))]
    return []


def _neighbours(v):
    if isinstance(v, bool):
        return [v]
    if isinstance(v, int):
        return [v - 1, v, v + 1]
    if isinstance(v, float):
        return [v - 1.0, v, v + 1.0]
    return [v]


class FunctionFacts:
    """What a function's source says about good inputs: constants, per-param
    constants, how unannotated params are used, dict keys looked up."""

    def __init__(self, func_node, namespace, params=None):
        self.node = func_node
        self.namespace = namespace or {}
        self.consts = []          # all constants (with boundary neighbours)
        self.param_consts = collections.defaultdict(list)
        self.usage = collections.defaultdict(set)   # param -> {'str', 'number', 'dict', ...}
        self.keys = collections.defaultdict(dict)   # param -> {key: (required, hint)}
        self.len_consts = collections.defaultdict(list)
        self.params = set()
        if func_node is not None:
            a = func_node.args
            for arg in a.posonlyargs + a.args + a.kwonlyargs:
                self.params.add(arg.arg)
            if params is not None:
                # Route views: the "parameters" are the names bound to the
                # request's JSON body.
                self.params = set(params)
            self._scan()

    def _add(self, values, param=None, neighbours=True):
        for v in values:
            for n in (_neighbours(v) if neighbours else [v]):
                if n not in self.consts:
                    self.consts.append(n)
                if param and n not in self.param_consts[param]:
                    self.param_consts[param].append(n)

    def _params_in(self, node):
        return sorted(p for p in self.params if mentions(node, p))

    def _global_values(self, node):
        """Keys of a module-level dict or values of an Enum referenced by name."""
        name = dotted(node)
        if not name:
            return []
        try:
            obj = _resolve(name, self.namespace)
        except Exception:
            return []
        if isinstance(obj, dict) and len(obj) <= 50:
            return [k for k in obj if isinstance(k, (str, int)) and not isinstance(k, bool)]
        if isinstance(obj, type) and issubclass(obj, enum.Enum):
            return [m.value for m in obj if isinstance(m.value, (str, int))]
        return []

    def _scan(self):
        parents = {}
        nodes = list(own_nodes(self.node))
        for node in nodes:
            for child in ast.iter_child_nodes(node):
                parents[child] = node
        for node in nodes:
            if isinstance(node, ast.Compare):
                sides = [node.left] + list(node.comparators)
                for i, side in enumerate(sides):
                    vals = _consts_of(side)
                    if not vals:
                        vals = self._global_values(side) if isinstance(node.ops[max(i - 1, 0)], (ast.In, ast.NotIn)) else []
                    if not vals:
                        continue
                    others = [s for j, s in enumerate(sides) if j != i]
                    ps = sorted({p for o in others for p in self._params_in(o)})
                    self._add(vals)
                    for p in ps:
                        self._add(vals, p)
                    # len(x) <op> n: strings and lists of length n-1..n+1.
                    for o in others:
                        if (isinstance(o, ast.Call) and isinstance(o.func, ast.Name) and o.func.id == "len"
                                and o.args and isinstance(o.args[0], ast.Name)):
                            for v in vals:
                                if isinstance(v, int):
                                    self.len_consts[o.args[0].id].extend(_neighbours(v))
                for side in sides:
                    for p in self._params_in(side):
                        for other in sides:
                            if other is side:
                                continue
                            for v in _consts_of(other):
                                if isinstance(v, str):
                                    self.usage[p].add("str")
                                elif isinstance(v, (int, float)):
                                    self.usage[p].add("number")
            elif isinstance(node, ast.Dict):
                self._add([k for k in _consts_of(node) if isinstance(k, str)], neighbours=False)
            elif isinstance(node, ast.Subscript):
                idx = node.slice
                if isinstance(idx, ast.Index):  # Python 3.8
                    idx = idx.value
                vals = _consts_of(idx) if isinstance(idx, ast.Constant) else []
                if isinstance(node.value, ast.Name) and node.value.id in self.params:
                    p = node.value.id
                    if vals and isinstance(vals[0], str):
                        self.usage[p].add("dict")
                        self._key(p, vals[0], True, self._key_hint(node, parents))
                    elif vals and isinstance(vals[0], int):
                        self.usage[p].add("list")
                    else:
                        self.usage[p].add("subscript")
                # GLOBAL_DICT[param...]: the dict's keys are good values.
                keys = self._global_values(node.value)
                for p in self._params_in(idx):
                    self._add([k for k in keys if isinstance(k, str)], p, neighbours=False)
                    if keys:
                        self.usage[p].add("str")
            elif isinstance(node, ast.Call):
                f = node.func
                if isinstance(f, ast.Attribute):
                    recv = f.value
                    if isinstance(recv, ast.Name) and recv.id in self.params:
                        p = recv.id
                        if f.attr in _STR_METHODS:
                            self.usage[p].add("str")
                        elif f.attr in ("get", "items", "keys", "values", "setdefault", "pop", "update"):
                            self.usage[p].add("dict")
                            if f.attr in ("get", "pop", "setdefault") and node.args:
                                k = _literal(node.args[0])
                                if isinstance(k, str):
                                    self._key(p, k, False, self._key_hint(node, parents))
                        elif f.attr in ("append", "extend", "insert", "sort", "index", "count"):
                            self.usage[p].add("list")
                    # GLOBAL.get(param) and GLOBAL.get(param.upper())
                    if f.attr in ("get", "pop") and node.args:
                        keys = self._global_values(recv)
                        for p in self._params_in(node.args[0]):
                            self._add([k for k in keys if isinstance(k, str)], p, neighbours=False)
                # Enum(param): the enum's values.
                vals = self._global_values(f)
                if vals and isinstance(f, (ast.Name, ast.Attribute)):
                    try:
                        obj = _resolve(dotted(f), self.namespace)
                    except Exception:
                        obj = None
                    if isinstance(obj, type) and issubclass(obj, enum.Enum):
                        self._add(vals, neighbours=False)
                        for a in node.args:
                            for p in self._params_in(a):
                                self._add(vals, p, neighbours=False)
                if isinstance(f, ast.Name) and f.id in ("int", "float") and node.args:
                    for p in self._params_in(node.args[0]):
                        self.usage[p].add("numstr")
                if isinstance(f, ast.Name) and f.id == "len" and node.args and isinstance(node.args[0], ast.Name):
                    self.usage[node.args[0].id].add("sized")
            elif isinstance(node, ast.BinOp):
                for side in (node.left, node.right):
                    if isinstance(side, ast.Name) and side.id in self.params:
                        if isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant):
                            continue
                        self.usage[side.id].add("number")
            elif isinstance(node, (ast.For, ast.comprehension)):
                it = node.iter
                if isinstance(it, ast.Name) and it.id in self.params:
                    self.usage[it.id].add("iter")
            if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                parent = parents.get(node)
                if isinstance(parent, (ast.Compare, ast.BinOp)):
                    self._add([node.value])

    def _key(self, param, key, required, hint):
        """Records a looked-up key; a subscript makes it required, and the
        most telling hint wins (an enum's values over 'some string')."""
        rank = {"enum": 3, "num": 2, "str": 1, None: 0}
        entry = self.keys[param].setdefault(key, [required, hint])
        entry[0] = entry[0] or required
        if rank.get(hint[0], 0) > rank.get(entry[1][0], 0):
            entry[1] = hint

    def _key_hint(self, node, parents):
        """How a looked-up key's value is used: 'enum:<values>', 'num', 'str'."""
        cur = node
        for _ in range(4):
            parent = parents.get(cur)
            if parent is None:
                break
            if isinstance(parent, ast.Call):
                name = dotted(parent.func)
                if name in ("int", "float"):
                    return ("num", None)
                if name and cur in parent.args:
                    try:
                        obj = _resolve(name, self.namespace)
                    except Exception:
                        obj = None
                    if isinstance(obj, type) and issubclass(obj, enum.Enum):
                        return ("enum", [m.value for m in obj])
            if isinstance(parent, ast.Attribute) and parent.attr in _STR_METHODS:
                hint = ("str", None)
                # keep walking: `Enum(row["k"].strip())` is an enum value
                cur = parent
                up = parents.get(cur)
                if isinstance(up, ast.Call):
                    cur = up
                    continue
                return hint
            cur = parent
        return (None, None)


_STR_METHODS = {
    "lower", "upper", "strip", "lstrip", "rstrip", "split", "rsplit", "splitlines", "startswith",
    "endswith", "replace", "format", "encode", "isdigit", "isalpha", "isalnum", "isspace", "title",
    "capitalize", "casefold", "find", "rfind", "partition", "rpartition", "zfill", "center", "ljust",
    "rjust", "join", "isupper", "islower", "removeprefix", "removesuffix",
}


class CallSites:
    """Calls by name anywhere in the project (tests included): literal
    arguments people actually pass. Parsed once per harness."""

    _SKIP_DIRS = {"site-packages", "node_modules", "__pycache__", "venv", "env", "build", "dist"}

    def __init__(self, root):
        self.root = root
        self._by_name = None

    def _build(self):
        self._by_name = collections.defaultdict(list)
        count = 0
        for dirpath, dirnames, filenames in os.walk(self.root):
            # testgen's own output is skipped too: a second run must not
            # learn from the first one's tests (same seed, same tests).
            dirnames[:] = sorted(d for d in dirnames
                                 if not d.startswith(".") and d not in self._SKIP_DIRS
                                 and not (d == "generated" and os.path.basename(dirpath) == "tests")
                                 and not os.path.exists(os.path.join(dirpath, d, "pyvenv.cfg")))
            for fn in sorted(filenames):
                if not fn.endswith(".py"):
                    continue
                path = os.path.join(dirpath, fn)
                count += 1
                if count > 3000:
                    return
                try:
                    if os.path.getsize(path) > 1_000_000:
                        continue
                except OSError:
                    continue
                tree = parse_file(path)
                if tree is None:
                    continue
                for node in ast.walk(tree):
                    if isinstance(node, ast.Call):
                        f = node.func
                        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
                        if name and len(self._by_name[name]) < 200:
                            self._by_name[name].append(node)

    def calls(self, name):
        if self._by_name is None:
            self._build()
        return self._by_name.get(name, [])


# ---------------------------------------------------------------------------
# Values: each generated argument knows how to build a fresh object and how
# to write itself as source, with the imports that source needs.
# ---------------------------------------------------------------------------


def class_ref(cls):
    """(source name, import line or None) for a class importable by name."""
    mod_name = getattr(cls, "__module__", None)
    qual = getattr(cls, "__qualname__", None)
    if not mod_name or not qual or "<locals>" in qual:
        return None
    if mod_name == "builtins":
        return (qual, None) if getattr(builtins, qual, None) is cls else None
    mod = sys.modules.get(mod_name)
    if mod is None:
        return None
    obj = mod
    for part in qual.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    if obj is not cls:
        return None
    top = qual.split(".")[0]
    if mod_name == "__main__":
        return None
    # The public name when a package re-exports it: `from flask import
    # Flask`, not `from flask.app import Flask`.
    parts = mod_name.split(".")
    for i in range(1, len(parts)):
        pkg = sys.modules.get(".".join(parts[:i]))
        if pkg is not None and getattr(pkg, top, None) is getattr(mod, top, None):
            mod_name = ".".join(parts[:i])
            break
    return (qual, "from %s import %s" % (mod_name, top))


def _float_src(v):
    if math.isnan(v):
        return "float('nan')"
    if math.isinf(v):
        return "float('inf')" if v > 0 else "float('-inf')"
    return repr(v)


class Val:
    src = ""
    imports = frozenset()

    def build(self):
        raise NotImplementedError

    def scalars(self):
        return []


class Lit(Val):
    def __init__(self, value):
        self.value = value
        self.src = literal_src(value)
        self.imports = frozenset()

    def build(self):
        v = self.value
        return v if isinstance(v, (int, float, str, bytes, bool, type(None))) else copy.deepcopy(v)

    def scalars(self):
        out = []

        def walk(v):
            if isinstance(v, (str, int)) and not isinstance(v, bool):
                out.append(v)
            elif isinstance(v, (list, tuple, set, frozenset)):
                for x in v:
                    walk(x)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)

        walk(self.value)
        return out


def literal_src(v):
    """Source for a plain literal (sets sorted so the text is stable)."""
    if isinstance(v, str) and len(v) > 12 and len(set(v)) == 1:
        return "%r * %d" % (v[0], len(v))
    if isinstance(v, float):
        return _float_src(v)
    if isinstance(v, (list, tuple)):
        inner = ", ".join(literal_src(x) for x in v)
        if isinstance(v, tuple):
            return "(%s,)" % inner if len(v) == 1 else "(%s)" % inner
        return "[%s]" % inner
    if isinstance(v, (set, frozenset)):
        if not v:
            return "set()" if isinstance(v, set) else "frozenset()"
        inner = ", ".join(sorted(literal_src(x) for x in v))
        return "{%s}" % inner if isinstance(v, set) else "frozenset({%s})" % inner
    if isinstance(v, dict):
        return "{%s}" % ", ".join("%s: %s" % (literal_src(k), literal_src(x)) for k, x in v.items())
    return repr(v)


class EnumVal(Val):
    def __init__(self, member, ref):
        self.member = member
        self.src = "%s.%s" % (ref[0], member.name)
        self.imports = frozenset([ref[1]] if ref[1] else [])

    def build(self):
        return self.member

    def scalars(self):
        v = self.member.value
        return [v] if isinstance(v, (str, int)) and not isinstance(v, bool) else []


class CtorVal(Val):
    def __init__(self, cls, ref, args=(), kwargs=()):
        self.cls = cls
        self.args = list(args)
        self.kwargs = list(kwargs)
        parts = [a.src for a in self.args] + ["%s=%s" % (k, v.src) for k, v in self.kwargs]
        self.src = "%s(%s)" % (ref[0], ", ".join(parts))
        imps = set([ref[1]] if ref[1] else [])
        for a in self.args:
            imps |= a.imports
        for _, v in self.kwargs:
            imps |= v.imports
        self.imports = frozenset(imps)

    def build(self):
        return self.cls(*[a.build() for a in self.args], **{k: v.build() for k, v in self.kwargs})

    def scalars(self):
        out = []
        for a in self.args:
            out += a.scalars()
        for _, v in self.kwargs:
            out += v.scalars()
        return out


class SeqVal(Val):
    """A list/tuple/set/dict holding non-literal values (e.g. [Item(...)])."""

    def __init__(self, kind, items):
        self.kind = kind
        self.items = list(items)  # Vals, or (key Val, value Val) for dicts
        if kind == "dict":
            inner = ", ".join("%s: %s" % (k.src, v.src) for k, v in self.items)
            self.src = "{%s}" % inner
            flat = [x for kv in self.items for x in kv]
        else:
            inner = ", ".join(v.src for v in self.items)
            flat = self.items
            if kind == "tuple":
                self.src = "(%s,)" % inner if len(self.items) == 1 else "(%s)" % inner
            elif kind == "set":
                self.src = "{%s}" % inner if self.items else "set()"
            else:
                self.src = "[%s]" % inner
        imps = set()
        for v in flat:
            imps |= v.imports
        self.imports = frozenset(imps)

    def build(self):
        if self.kind == "dict":
            return {k.build(): v.build() for k, v in self.items}
        seq = [v.build() for v in self.items]
        return {"tuple": tuple, "set": set}.get(self.kind, list)(seq)

    def scalars(self):
        out = []
        for v in self.items:
            for x in (v if isinstance(v, tuple) else (v,)):
                out += x.scalars()
        return out


class ExprVal(Val):
    def __init__(self, src, builder, imports=()):
        self.src = src
        self._builder = builder
        self.imports = frozenset(imports)

    def build(self):
        return self._builder()


OMIT = Lit(None)
OMIT.src = "<omitted>"


def as_val(v):
    """A Val for an arbitrary generated Python value (Lits when possible)."""
    if isinstance(v, Val):
        return v
    if isinstance(v, enum.Enum):
        ref = class_ref(type(v))
        if ref:
            return EnumVal(v, ref)
    return Lit(v)


# ---------------------------------------------------------------------------
# Type hints and value generation
# ---------------------------------------------------------------------------

NoneType = type(None)
_UNION_TYPES = (typing.Union,) + ((types.UnionType,) if hasattr(types, "UnionType") else ())


def eval_annotation(ann, namespace):
    """Evaluates a (string) annotation without relying on `X | Y` support in
    the running Python: the AST is walked and `|` becomes Union."""
    if not isinstance(ann, str):
        return ann
    try:
        node = ast.parse(ann, mode="eval").body
    except SyntaxError:
        return None
    ns = dict(vars(typing))
    ns.update(namespace or {})

    def ev(n):
        if isinstance(n, ast.BinOp) and isinstance(n.op, ast.BitOr):
            return typing.Union[ev(n.left), ev(n.right)]
        if isinstance(n, ast.Constant):
            if n.value is None:
                return NoneType
            if isinstance(n.value, str):
                return eval_annotation(n.value, namespace)
            return n.value
        if isinstance(n, ast.Subscript):
            base = ev(n.value)
            sl = n.slice
            if isinstance(sl, ast.Index):
                sl = sl.value
            args = tuple(ev(e) for e in sl.elts) if isinstance(sl, ast.Tuple) else ev(sl)
            if base in (list, dict, tuple, set, frozenset, type) and sys.version_info < (3, 9):
                base = {list: typing.List, dict: typing.Dict, tuple: typing.Tuple, set: typing.Set,
                        frozenset: typing.FrozenSet, type: typing.Type}[base]
            return base[args]
        if isinstance(n, (ast.Name, ast.Attribute)):
            return _resolve(dotted(n), ns)
        if isinstance(n, (ast.List, ast.Tuple)):
            return [ev(e) for e in n.elts]
        raise ValueError("unsupported annotation")

    try:
        return ev(node)
    except Exception:
        return None


def type_hints(func, namespace=None):
    """Parameter annotations of a function (or class, for its fields),
    evaluated; unevaluable ones become None."""
    try:
        return typing.get_type_hints(func)
    except Exception:
        pass
    raw = getattr(func, "__annotations__", None) or {}
    ns = namespace
    if ns is None:
        mod = sys.modules.get(getattr(func, "__module__", "") or "")
        ns = vars(mod) if mod else {}
    return {k: eval_annotation(v, ns) for k, v in raw.items()}


def is_pydantic(cls):
    return isinstance(cls, type) and any(
        b.__name__ == "BaseModel" and b.__module__.startswith("pydantic") for b in cls.__mro__[1:])


def pydantic_fields(cls):
    """[(name, annotation, required)] of a pydantic model (v2, else v1)."""
    out = []
    fields = getattr(cls, "model_fields", None)
    if isinstance(fields, dict):
        for name, f in fields.items():
            out.append((name, f.annotation, f.is_required()))
        return out
    for name, f in (getattr(cls, "__fields__", None) or {}).items():
        out.append((name, getattr(f, "outer_type_", None), bool(getattr(f, "required", True))))
    return out


_NAME_HINTS = [
    (("email", "mail"), ["user@example.com"]),
    (("url", "link", "href", "endpoint"), ["http://localhost/"]),
    (("date",), ["2024-01-31"]),
    (("name", "title", "label", "username", "author"), ["Ada"]),
    (("sku", "code"), ["AB1234"]),
    (("currency",), ["EUR"]),
    (("country",), ["DE"]),
]

_LONG_TEXT = "lorem ipsum dolor sit amet, consectetur adipiscing elit sed do eiusmod tempor"
_INT_POOL = [1, 0, -1, 2, 3, 5, 10, 100, 1000]
_FLOAT_POOL = [1.0, 0.0, -1.0, 2.5, 0.5, 10.0, 100.0, 1000.0]
_STR_POOL = ["abc", "", "Hello World", " ", "a", "123", "2.5", "hello-world", _LONG_TEXT, "x" * 100]
_BYTES_POOL = [b"abc", b"", b"\x00\xff"]


def _dedup(vals, limit=24):
    seen = set()
    out = []
    for v in vals:
        key = (type(v).__name__, v.src)
        if key in seen:
            continue
        seen.add(key)
        out.append(v)
        if len(out) >= limit:
            break
    return out


class Gen:
    """Value pools and random values for annotations, guided by a function's
    facts (constants, usage), call sites and harvested values."""

    MAX_DEPTH = 3

    def __init__(self, rng, callsites, namespace):
        self.rng = rng
        self.callsites = callsites
        self.namespace = namespace
        self.harvest = []          # scalars seen in earlier setup calls/responses
        self.default_facts = None  # the target's facts, for nested values
        self._pool_cache = {}
        self._ctor_cache = {}

    # -- primitives ---------------------------------------------------------

    def _hinted(self, name):
        out = []
        low = (name or "").lower()
        for keys, vals in _NAME_HINTS:
            if any(k in low for k in keys):
                out += vals
        return out

    def prim_pool(self, tp, facts=None, name=None):
        pc = list(facts.param_consts.get(name, [])) if facts and name else []
        # Nested values (fields of an argument's class) use the target's
        # constants too: `COUPONS.get(data.coupon)` wants a coupon field.
        gc = list((facts or self.default_facts).consts) if (facts or self.default_facts) else []
        if facts is None and self.default_facts is not None:
            gc = [v for vals in sorted(self.default_facts.param_consts.values(), key=repr) for v in vals] + gc
        if tp is bool:
            return [Lit(True), Lit(False)]
        if tp is NoneType:
            return [Lit(None)]
        if tp is int:
            vals = [_INT_POOL[0]] + [int(v) for v in pc + gc if isinstance(v, (int, float)) and not isinstance(v, bool)
                                     and math.isfinite(v)] + _INT_POOL
            vals += [int(x) for x in self.harvest if isinstance(x, int)][:6]
            return _dedup(Lit(v) for v in vals)
        if tp is float:
            vals = [_FLOAT_POOL[0]] + [float(v) for v in pc + gc if isinstance(v, (int, float)) and not isinstance(v, bool)] + _FLOAT_POOL
            return _dedup(Lit(v) for v in vals)
        if tp is str:
            hinted = self._hinted(name)
            lens = ["x" * n for n in (facts.len_consts.get(name, []) if facts and name else []) if 0 <= n <= 200]
            vals = hinted + [_STR_POOL[0]] + [v for v in pc if isinstance(v, str)] + lens
            vals += [v for v in gc if isinstance(v, str)] + _STR_POOL
            vals += [x for x in self.harvest if isinstance(x, str)][:6]
            return _dedup(Lit(v) for v in vals)
        if tp is bytes:
            return [Lit(v) for v in _BYTES_POOL]
        return None

    def inferred_pool(self, facts, name):
        """A param without a usable annotation: what its use suggests."""
        usage = facts.usage.get(name, set()) if facts else set()
        pools = []
        if facts and facts.keys.get(name):
            pools.append(self.dict_pool(facts, name))
        if "str" in usage or "numstr" in usage:
            pools.append(self.prim_pool(str, facts, name))
        if "number" in usage:
            pools.append(self.prim_pool(int, facts, name))
            pools.append(self.prim_pool(float, facts, name)[:4])
        if "dict" in usage and not (facts and facts.keys.get(name)):
            pools.append([Lit({}), Lit({"key": "value"}), Lit({"a": 1, "b": 2})])
        if usage & {"list", "iter", "sized", "subscript"}:
            pools.append([Lit([]), Lit([1, 2, 3]), Lit(["a", "b"]), Lit("abc")])
        if not pools:
            pools.append(self.prim_pool(str, facts, name)[:6] + self.prim_pool(int, facts, name)[:6]
                         + [Lit(1.5), Lit(True), Lit([]), Lit({})])
        out = []
        for group in itertools.zip_longest(*pools):
            out += [v for v in group if v is not None]
        return _dedup(out + [Lit(None)], limit=30)

    def dict_pool(self, facts, name):
        """Dicts with the keys the body looks up: all keys, then each key left
        out, then each key's alternatives."""
        keys = sorted(facts.keys[name].items())
        per_key = []
        for k, (required, hint) in keys:
            per_key.append((k, self._key_values(k, hint, facts)))
        base = {k: vals[0] for k, vals in per_key}
        out = [Lit(dict(base))]
        for k, vals in per_key:
            for v in vals[1:4]:
                d = dict(base)
                d[k] = v
                out.append(Lit(d))
        for k, _ in per_key:
            out.append(Lit({kk: vv for kk, vv in base.items() if kk != k}))
        out.append(Lit({}))
        return _dedup(out, limit=40)

    def _key_values(self, key, hint, facts):
        kind, extra = hint if hint else (None, None)
        if kind == "enum":
            vals = [v for v in extra if isinstance(v, (str, int))]
            return vals + ["unknown"]
        if kind == "num":
            return [1, "1", 0, 2, 3, -1, 1000, "2.5", "abc"]
        hinted = self._hinted(key)
        return hinted + ["abc", "", "1", " ", 1, "x" * 100]

    # -- structured ----------------------------------------------------------

    def pool(self, tp, facts=None, name=None, depth=0):
        """Ordered candidate values for an annotation (first = most typical)."""
        if tp is None or tp is inspect.Parameter.empty or tp is typing.Any or tp is object:
            return self.inferred_pool(facts, name)
        if isinstance(tp, str):
            tp = eval_annotation(tp, self.namespace)
            if tp is None:
                return self.inferred_pool(facts, name)
        prim = self.prim_pool(tp, facts, name)
        if prim is not None:
            return prim
        if isinstance(tp, typing.TypeVar):
            return self.inferred_pool(facts, name)
        if hasattr(tp, "__supertype__"):  # typing.NewType
            return self.pool(tp.__supertype__, facts, name, depth)
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in _UNION_TYPES:
            groups = [self.pool(a, facts, name, depth) for a in args if a is not NoneType]
            out = []
            for group in itertools.zip_longest(*groups):
                out += [v for v in group if v is not None]
            if NoneType in args:
                out.insert(1 if out else 0, Lit(None))
            return _dedup(out)
        if origin is typing.Literal:
            return [as_val(a) for a in args]
        if origin is typing.Annotated:
            return self.pool(args[0], facts, name, depth)
        if depth >= self.MAX_DEPTH:
            return [Lit(None)]
        if origin in (list, set, frozenset, cabc.Sequence, cabc.MutableSequence, cabc.Iterable,
                      cabc.Collection, cabc.Set, cabc.MutableSet, cabc.Iterator) or tp in (list, set):
            elem = args[0] if args else None
            inner = self.pool(elem, facts, name if elem is None else None, depth + 1)[:4]
            kind = "set" if origin in (set, frozenset, cabc.Set, cabc.MutableSet) or tp is set else "list"
            out = [self._seq(kind, [])]
            if inner:
                out.append(self._seq(kind, inner[:1]))
                out.append(self._seq(kind, inner[:3]))
            return _dedup(out)
        if origin is tuple or tp is tuple:
            if args and (len(args) != 2 or args[1] is not Ellipsis):
                pools = [self.pool(a, facts, None, depth + 1) for a in args]
                out = [self._seq("tuple", [p[0] for p in pools])]
                for i, p in enumerate(pools):
                    for v in p[1:3]:
                        items = [q[0] for q in pools]
                        items[i] = v
                        out.append(self._seq("tuple", items))
                return _dedup(out)
            inner = self.pool(args[0] if args else None, facts, None, depth + 1)[:3]
            return _dedup([self._seq("tuple", []), self._seq("tuple", inner[:1]), self._seq("tuple", inner)])
        if origin in (dict, cabc.Mapping, cabc.MutableMapping) or tp is dict:
            if facts and name and facts.keys.get(name):
                return self.dict_pool(facts, name)
            kt = args[0] if args else str
            vt = args[1] if len(args) > 1 else None
            keys = self.pool(kt, None, None, depth + 1)[:3]
            vals = self.pool(vt, facts if vt is None else None, None, depth + 1)[:3]
            out = [self._seq("dict", [])]
            if keys and vals:
                out.append(self._seq("dict", [(keys[0], vals[0])]))
                if len(keys) > 1 and len(vals) > 1:
                    out.append(self._seq("dict", [(keys[0], vals[0]), (keys[1], vals[1])]))
            return _dedup(out)
        if origin in (type,):
            return [Lit(None)]
        if origin is cabc.Callable or tp is typing.Callable or tp is cabc.Callable:
            # Hands its first argument back: a plausible callback for most
            # signatures (a key function, a transform, a predicate).
            return [ExprVal("lambda *args, **kwargs: args[0] if args else None",
                            lambda: (lambda *a, **k: a[0] if a else None))]
        if isinstance(tp, type):
            if issubclass(tp, enum.Enum):
                ref = class_ref(tp)
                members = list(tp)
                if ref:
                    return [EnumVal(m, ref) for m in members]
                return [Lit(m.value) for m in members]
            return self.class_pool(tp, depth)
        return self.inferred_pool(facts, name)

    def _seq(self, kind, items):
        if kind == "dict":
            if all(isinstance(k, Lit) and isinstance(v, Lit) for k, v in items):
                return Lit({k.value: v.value for k, v in items})
            return SeqVal("dict", items)
        if all(isinstance(v, Lit) for v in items):
            vals = [v.value for v in items]
            if kind == "set":
                try:
                    return Lit(set(vals))
                except TypeError:
                    return SeqVal("list", items)
            return Lit(tuple(vals) if kind == "tuple" else vals)
        return SeqVal(kind, items)

    def class_pool(self, cls, depth):
        """Instances of a class: call sites first, then generated ones that
        construct without error."""
        key = (cls, depth)
        if key in self._pool_cache:
            return self._pool_cache[key]
        self._pool_cache[key] = []  # recursion guard
        ref = class_ref(cls)
        out = []
        if ref is not None and cls.__module__ not in ("builtins",) and not inspect.isabstract(cls):
            out += self.ctor_callsites(cls, ref)
            spec = self.ctor_spec(cls)
            if spec is not None:
                # the base instance, then one field at a time through its pool
                modes = ["base"] + [(i, j) for j in (1, 2, 3) for i in range(len(spec))]
                for mode in modes[:24]:
                    val = self._ctor_from(cls, ref, spec, depth, mode)
                    if val is not None and self._constructs(val):
                        out.append(val)
        out = _dedup(out, limit=12)
        self._pool_cache[key] = out
        return out

    def ctor_spec(self, cls):
        """[(name, annotation, required, kw_only)] of a class's constructor."""
        if cls in self._ctor_cache:
            return self._ctor_cache[cls]
        spec = None
        try:
            if is_pydantic(cls):
                spec = [(n, a, r, True) for n, a, r in pydantic_fields(cls)]
            elif dataclasses.is_dataclass(cls):
                hints = type_hints(cls)
                spec = [(f.name, hints.get(f.name, f.type), f.default is dataclasses.MISSING
                         and f.default_factory is dataclasses.MISSING, False)
                        for f in dataclasses.fields(cls) if f.init]
            elif cls.__init__ is not object.__init__ and inspect.isfunction(cls.__init__):
                sig = inspect.signature(cls.__init__)
                hints = type_hints(cls.__init__)
                spec = []
                for p in list(sig.parameters.values())[1:]:
                    if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                        continue
                    spec.append((p.name, hints.get(p.name, p.annotation), p.default is p.empty,
                                 p.kind == KW_ONLY))
            elif cls.__init__ is object.__init__:
                spec = []
        except (TypeError, ValueError):
            spec = None
        self._ctor_cache[cls] = spec
        return spec

    def _ctor_from(self, cls, ref, spec, depth, mode, rng=None):
        """One constructor call: 'base' takes each field's first value,
        (field, j) takes value j for that field, `rng` draws every field. Pydantic
        validation errors are repaired by moving the failing fields on."""
        pools = []
        for name, ann, required, _ in spec:
            p = self.pool(ann, None, name, depth + 1)
            if not required:
                p = [OMIT] + p
            pools.append(p or [Lit(None)])
        if rng is not None:
            for _ in range(3):
                vals = []
                for (name, ann, required, _), p in zip(spec, pools):
                    if not required and rng.random() < 0.3:
                        vals.append(OMIT)
                    elif rng.random() < 0.7:
                        vals.append(self.random_val(ann, None, name, depth + 1))
                    else:
                        vals.append(p[0])
                val = self._make_ctor(cls, ref, spec, [[v] for v in vals], [0] * len(vals))
                if not is_pydantic(cls) or self._constructs(val):
                    return val
            idx = [0] * len(pools)
        else:
            idx = [0] * len(pools)
            if isinstance(mode, tuple):
                field, j = mode
                if j >= len(pools[field]):
                    return None
                idx[field] = j
        for _ in range(12):
            val = self._make_ctor(cls, ref, spec, pools, idx)
            if not is_pydantic(cls):
                return val
            try:
                val.build()
                return val
            except Exception as e:
                bad = set()
                errors = getattr(e, "errors", None)
                try:
                    for err in errors() if callable(errors) else []:
                        loc = err.get("loc") or ()
                        if loc:
                            bad.add(loc[0])
                except Exception:
                    bad = set()
                if not bad:
                    return val
                names = [s[0] for s in spec]
                moved = False
                for b in bad:
                    if b in names:
                        i = names.index(b)
                        if idx[i] + 1 < len(pools[i]):
                            idx[i] += 1
                            moved = True
                if not moved:
                    return val
        return None

    def _make_ctor(self, cls, ref, spec, pools, idx):
        args, kwargs = [], []
        positional = True
        for (name, _, required, kw_only), p, i in zip(spec, pools, idx):
            v = p[i]
            if v is OMIT:
                positional = False
                continue
            if positional and not kw_only and not is_pydantic(cls) and required:
                args.append(v)
            else:
                positional = False
                kwargs.append((name, v))
        return CtorVal(cls, ref, args, kwargs)

    def _constructs(self, val):
        try:
            res = GUARD.run(val.build, 1.0, True)
        except Exception:
            return False
        return res[0] == "ok"

    def ctor_callsites(self, cls, ref):
        out = []
        if not self.callsites:
            return out
        for call in self.callsites.calls(cls.__name__):
            if dotted(call.func) not in (cls.__name__,):
                continue
            val = self.call_val(call, cls, ref)
            if val is not None and self._constructs(val):
                out.append(val)
            if len(out) >= 4:
                break
        return out

    def call_val(self, call, cls, ref, depth=0):
        args = [self.literal_val(a, depth) for a in call.args]
        kwargs = [(k.arg, self.literal_val(k.value, depth)) for k in call.keywords]
        if any(a is None for a in args) or any(k is None or v is None for k, v in kwargs):
            return None
        return CtorVal(cls, ref, args, kwargs)

    def literal_val(self, node, depth=0):
        """A Val for an argument written in source: literals, enum members and
        nested constructor calls of classes the target's module knows."""
        if isinstance(node, ast.Starred):
            return None
        v = _literal(node)
        if v is not None or (isinstance(node, ast.Constant) and node.value is None):
            return Lit(v)
        name = dotted(node)
        if name and "." in name:
            try:
                obj = _resolve(name, self.namespace)
            except Exception:
                obj = None
            if isinstance(obj, enum.Enum):
                return as_val(obj)
            return None
        if isinstance(node, (ast.List, ast.Tuple, ast.Set)) and depth < 3:
            items = [self.literal_val(e, depth + 1) for e in node.elts]
            if any(i is None for i in items):
                return None
            kind = {ast.List: "list", ast.Tuple: "tuple", ast.Set: "set"}[type(node)]
            return SeqVal(kind, items)
        if isinstance(node, ast.Call) and depth < 3:
            fname = dotted(node.func)
            try:
                obj = _resolve(fname, self.namespace) if fname else None
            except Exception:
                obj = None
            if isinstance(obj, type) and not issubclass(obj, BaseException):
                ref = class_ref(obj)
                if ref:
                    return self.call_val(node, obj, ref, depth + 1)
        return None

    # -- random --------------------------------------------------------------

    def random_val(self, tp, facts, name, depth=0):
        """A random draw: mostly from the pool, sometimes a harvested scalar
        (ids and keys that exist after setup calls) or a fresh instance."""
        rng = self.rng
        pool = self.pool(tp, facts, name, depth)
        base = tp
        if typing.get_origin(tp) in _UNION_TYPES:
            non_none = [a for a in typing.get_args(tp) if a is not NoneType]
            base = non_none[0] if len(non_none) == 1 else None
        unknown = base is None or base is inspect.Parameter.empty or base is typing.Any
        idish = bool(name and re.search(r"(^|_)(id|ids|pk|key|owner|sku)$", name.lower()))
        if self.harvest and rng.random() < (0.7 if idish else 0.35) and (base in (int, str) or unknown):
            want = None if unknown else base
            cands = [x for x in self.harvest if want is None or type(x) is want]
            if cands and (want is not None or not (facts and facts.keys.get(name))):
                return Lit(cands[rng.randrange(len(cands))])
        if isinstance(base, type) and not issubclass(base, enum.Enum) and self.prim_pool(base) is None \
                and typing.get_origin(base) is None and rng.random() < 0.4 and depth < self.MAX_DEPTH:
            ref = class_ref(base)
            spec = self.ctor_spec(base) if ref else None
            if spec is not None:
                val = self._ctor_from(base, ref, spec, depth, "random", rng=rng)
                if val is not None:
                    return val
        if not pool:
            return Lit(None)
        return pool[rng.randrange(len(pool))]




# ---------------------------------------------------------------------------
# Callees: a function the search calls, its parameters and their pools.
# ---------------------------------------------------------------------------


POS_ONLY = inspect.Parameter.POSITIONAL_ONLY
KW_ONLY = inspect.Parameter.KEYWORD_ONLY


class Param:
    def __init__(self, name, kind, ann, has_default):
        self.name = name
        self.kind = kind
        self.ann = ann
        self.has_default = has_default
        self.pool = None


class Callee:
    """Parameters of a callable (self/cls and *args/**kwargs left out) with
    lazily built value pools."""

    def __init__(self, func, gen, facts, drop_first=False):
        self.gen = gen
        self.facts = facts
        self.params = []
        try:
            sig = inspect.signature(func)
        except (TypeError, ValueError):
            sig = None
        raw = inspect.unwrap(func) if callable(func) else func
        hints = type_hints(raw) if sig is not None else {}
        if sig is not None:
            ps = list(sig.parameters.values())
            if drop_first and ps and ps[0].kind in (ps[0].POSITIONAL_ONLY, ps[0].POSITIONAL_OR_KEYWORD):
                ps = ps[1:]
            for p in ps:
                if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                    continue
                ann = hints.get(p.name, p.annotation)
                if ann is inspect.Parameter.empty and p.default is not p.empty and p.default is not None:
                    ann = type(p.default)
                self.params.append(Param(p.name, p.kind, ann, p.default is not p.empty))

    def pool(self, param):
        if param.pool is None:
            vals = self.gen.pool(param.ann, self.facts, param.name)
            if not vals:
                vals = [Lit(None)]
            if param.has_default and param.kind != POS_ONLY:
                vals = [OMIT] + vals
            param.pool = vals
        return param.pool

    def base_args(self):
        return [self.pool(p)[0] for p in self.params]

    def variations(self):
        """One parameter at a time through its pool, the others at their base."""
        base = self.base_args()
        for i, p in enumerate(self.params):
            for v in self.pool(p)[1:]:
                args = list(base)
                args[i] = v
                yield args

    def random_args(self):
        rng = self.gen.rng
        out = []
        for p in self.params:
            if p.has_default and p.kind != POS_ONLY and rng.random() < 0.3:
                out.append(OMIT)
            else:
                out.append(self.gen.random_val(p.ann, self.facts, p.name))
        return out

    def split(self, vals):
        """(positional Vals, [(name, Val)]): required params positionally,
        optional ones by keyword (readable, and robust to omitted ones)."""
        args, kwargs = [], []
        positional = True
        for p, v in zip(self.params, vals):
            if v is OMIT:
                positional = False
                continue
            if p.kind == KW_ONLY or (p.has_default and p.kind != POS_ONLY):
                positional = False
            if positional or p.kind == POS_ONLY:
                args.append(v)
            else:
                kwargs.append((p.name, v))
        return args, kwargs

    def build(self, vals):
        args, kwargs = self.split(vals)
        return [a.build() for a in args], {k: v.build() for k, v in kwargs}

    def render(self, vals):
        args, kwargs = self.split(vals)
        return ", ".join([a.src for a in args] + ["%s=%s" % (k, v.src) for k, v in kwargs])

    def imports(self, vals):
        out = set()
        for v in vals:
            if v is not OMIT:
                out |= v.imports
        return out

    def from_callsite(self, call, drop_receiver=False):
        """Arguments of a call written in the project, when all are literal."""
        vals = [None] * len(self.params)
        names = [p.name for p in self.params]
        if len(call.args) > len(self.params):
            return None
        for i, a in enumerate(call.args):
            v = self.gen.literal_val(a)
            if v is None:
                return None
            vals[i] = v
        for k in call.keywords:
            if k.arg is None or k.arg not in names:
                return None
            v = self.gen.literal_val(k.value)
            if v is None:
                return None
            vals[names.index(k.arg)] = v
        for i, p in enumerate(self.params):
            if vals[i] is None:
                if p.has_default and p.kind != POS_ONLY:
                    vals[i] = OMIT
                else:
                    return None
        return vals


# ---------------------------------------------------------------------------
# Execution results
# ---------------------------------------------------------------------------


class Outcome:
    def __init__(self, kind, value=None, exc=None, detail=None):
        self.kind = kind          # return | raise | timeout | unsafe | exit | discard
        self.value = value
        self.exc = exc
        self.detail = detail
        self.db = False           # it used a Django database connection
        self.lines = set()
        self.arcs = set()
        self.order = []

    def traced(self):
        self.lines = set(TRACER.lines)
        self.arcs = set(TRACER.arcs)
        self.order = list(TRACER.order)
        return self


def finish_call(result):
    """Awaits coroutines and drains generators (inside the trace), returning
    (value, how) where how is '', 'async' or 'list'."""
    if inspect.iscoroutine(result):
        return asyncio.run(result), "async"
    if inspect.isgenerator(result):
        items = list(itertools.islice(result, 1001))
        if len(items) > 1000:
            raise _Discard("generator yields more than 1000 items")
        return items, "list"
    if inspect.isasyncgen(result):
        async def drain():
            out = []
            async for x in result:
                out.append(x)
                if len(out) > 1000:
                    raise _Discard("async generator yields more than 1000 items")
            return out
        return asyncio.run(drain()), "asynclist"
    return result, ""


class _Discard(Exception):
    pass


def harvest_scalars(obj, out, depth=0):
    """ints and short strs found in a setup call's result: ids and keys that
    later calls can use."""
    if depth > 2 or len(out) > 60:
        return
    if isinstance(obj, bool) or obj is None:
        return
    if isinstance(obj, int):
        if obj not in out:
            out.append(obj)
    elif isinstance(obj, str):
        if len(obj) <= 60 and obj not in out:
            out.append(obj)
    elif isinstance(obj, dict):
        for k in list(obj)[:20]:
            harvest_scalars(obj[k], out, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for x in obj[:10]:
            harvest_scalars(x, out, depth + 1)
    elif isinstance(obj, enum.Enum):
        return
    else:
        try:
            attrs = vars(obj)
        except TypeError:
            return
        for k in sorted(attrs)[:20]:
            if not k.startswith("_"):
                harvest_scalars(attrs[k], out, depth + 1)


# ---------------------------------------------------------------------------
# Rendering: expected values, assertions, names
# ---------------------------------------------------------------------------

_EVAL_NS_CACHE = {}


def _namespace_for(imports):
    ns = {}
    for line in sorted(imports):
        if line not in _EVAL_NS_CACHE:
            d = {}
            try:
                exec(line, d)
            except Exception:
                d = None
            _EVAL_NS_CACHE[line] = d
        d = _EVAL_NS_CACHE[line]
        if d is None:
            return None
        ns.update({k: v for k, v in d.items() if k != "__builtins__"})
    return ns


def obj_src(v, depth=0):
    """(source, imports) that evaluates back to a value equal to v, or None."""
    if depth > 6:
        return None
    if isinstance(v, enum.Enum):  # before str/int: `class Status(str, Enum)`
        ref = class_ref(type(v))
        if not ref:
            return None
        return "%s.%s" % (ref[0], v.name), set([ref[1]] if ref[1] else [])
    if v is None or isinstance(v, (bool, int)):
        return repr(v), set()
    if isinstance(v, float):
        return (repr(v), set()) if math.isfinite(v) else None
    if isinstance(v, (str, bytes)):
        return (repr(v), set()) if len(v) <= 2000 and not machine_specific(v) else None
    t = type(v)
    if t in (list, tuple, set, frozenset):
        if len(v) > 50:
            return None
        parts, imps = [], set()
        for x in v:
            r = obj_src(x, depth + 1)
            if r is None:
                return None
            parts.append(r[0])
            imps |= r[1]
        if t is list:
            return "[%s]" % ", ".join(parts), imps
        if t is tuple:
            return ("(%s,)" % parts[0] if len(parts) == 1 else "(%s)" % ", ".join(parts)), imps
        parts.sort()
        if not parts:
            return ("set()" if t is set else "frozenset()"), imps
        inner = "{%s}" % ", ".join(parts)
        return (inner if t is set else "frozenset(%s)" % inner), imps
    if t is dict:
        if len(v) > 50:
            return None
        parts, imps = [], set()
        for k, x in v.items():
            rk, rx = obj_src(k, depth + 1), obj_src(x, depth + 1)
            if rk is None or rx is None:
                return None
            parts.append("%s: %s" % (rk[0], rx[0]))
            imps |= rk[1] | rx[1]
        return "{%s}" % ", ".join(parts), imps
    fields = None
    if dataclasses.is_dataclass(v) and not isinstance(v, type):
        params = getattr(t, "__dataclass_params__", None)
        fs = dataclasses.fields(v)
        if params is not None and params.eq and all(f.init for f in fs):
            fields = [(f.name, getattr(v, f.name)) for f in fs]
    elif is_pydantic(t):
        fields = [(n, getattr(v, n, None)) for n, _, _ in pydantic_fields(t)]
    if fields is None:
        return None
    ref = class_ref(t)
    if not ref:
        return None
    parts, imps = [], set([ref[1]] if ref[1] else [])
    for name, x in fields:
        r = obj_src(x, depth + 1)
        if r is None:
            return None
        parts.append("%s=%s" % (name, r[0]))
        imps |= r[1]
    return "%s(%s)" % (ref[0], ", ".join(parts)), imps


def machine_specific(v):
    """Whether a value names this machine's paths (the project root, the
    temp cwd, the home directory): never asserted, the tests would break
    in a copy of the project or on another machine."""
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    places = [ROOT, os.getcwd(), os.path.expanduser("~"), tempfile.gettempdir()]
    return any(p and len(p) > 1 and p in v for p in places)


def verified_src(v):
    """obj_src, checked by evaluating it: it must give back an equal value of
    the same type (so `1 == 1.0` or a misleading repr can never slip in)."""
    r = obj_src(v)
    if r is None:
        return None
    src, imps = r
    if type(v) in (bool, int, str, bytes, NoneType):
        return r
    ns = _namespace_for(imps)
    if ns is None:
        return None
    try:
        back = eval(src, ns)
        if type(back) is not type(v) or not (back == v):
            return None
    except Exception:
        return None
    return r


def assertion_lines(call, value):
    """Statements asserting what `call` returned (and their imports)."""
    if value is None:
        return ["assert %s is None" % call], set()
    if isinstance(value, bool):
        return ["assert %s is %r" % (call, value)], set()
    if isinstance(value, float):
        if math.isnan(value):
            return ["assert math.isnan(%s)" % call], {"import math"}
        if math.isinf(value):
            return ["assert %s == %s" % (call, _float_src(value))], set()
        return ["assert %s == pytest.approx(%r)" % (call, value)], {"import pytest"}
    r = verified_src(value)
    if r is not None:
        return ["assert %s == %s" % (call, r[0])], set(r[1])
    lines = ["result = %s" % call]
    imps = set()
    ref = class_ref(type(value))
    if callable(value) and (inspect.isroutine(value) or inspect.isclass(value)):
        lines.append("assert callable(result)")
    elif ref and not inspect.isclass(value):
        lines.append("assert isinstance(result, %s)" % ref[0])
        if ref[1]:
            imps.add(ref[1])
    else:
        lines.append("assert result is not None")
    try:
        # Attributes only of the project's own classes: a framework object's
        # internals are not what the test is about.
        attrs = vars(value) if is_project_file(getattr(sys.modules.get(type(value).__module__), "__file__", None)) else {}
    except TypeError:
        attrs = {}
    n = 0
    for k in sorted(attrs):
        if k.startswith("_") or n >= 6:
            continue
        rv = verified_src(attrs[k]) if not isinstance(attrs[k], float) else (repr(attrs[k]), set())
        if rv is None or (isinstance(attrs[k], float) and not math.isfinite(attrs[k])):
            continue
        if isinstance(attrs[k], float):
            lines.append("assert result.%s == pytest.approx(%s)" % (k, rv[0]))
            imps.add("import pytest")
        else:
            lines.append("assert result.%s == %s" % (k, rv[0]))
            imps |= set(rv[1])
        n += 1
    return lines, imps


def exception_ref(exc):
    """(name, import) of the nearest importable class in the exception's MRO."""
    for cls in type(exc).__mro__:
        if not issubclass(cls, BaseException):
            continue
        ref = class_ref(cls)
        if ref:
            return cls, ref
    return BaseException, ("Exception", None)


def match_arg(exc):
    msg = str(exc)
    if not msg or "\n" in msg or len(msg) > 100 or re.search(r"0x[0-9a-fA-F]{6,}", msg):
        return None
    # re.escape also escapes spaces and quotes: only regex syntax needs it.
    return re.sub(r"([.^$*+?{}\[\]\\|()])", r"\\\1", msg)


def snake(name):
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    return re.sub(r"[^0-9a-zA-Z]+", "_", name).strip("_").lower()


def ident_words(text):
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def const_words(v):
    if isinstance(v, bool) or v is None:
        return str(v).lower()
    if isinstance(v, (int, float)):
        s = ("minus_" if v < 0 else "") + str(abs(v)).replace(".", "_")
        return s
    if isinstance(v, str):
        w = ident_words(v)
        if w:
            return w
        return "empty" if v == "" else "_".join(_SYMBOL_WORDS.get(c, "symbol") for c in v[:3])
    if isinstance(v, bytes):
        return "bytes"
    return "value"


_SYMBOL_WORDS = {"-": "dash", "_": "underscore", "@": "at", ".": "dot", "/": "slash", " ": "space",
                 ",": "comma", ":": "colon", ";": "semicolon", "#": "hash", "+": "plus", "*": "star",
                 "=": "equals", "?": "question_mark", "!": "bang", "&": "ampersand", "%": "percent",
                 "\n": "newline", "\t": "tab", "$": "dollar", "|": "pipe"}

_OP_WORDS = {
    ast.Lt: "less_than", ast.LtE: "at_most", ast.Gt: "greater_than", ast.GtE: "at_least",
    ast.Eq: "is", ast.NotEq: "is_not", ast.In: "in", ast.NotIn: "not_in",
    ast.Is: "is", ast.IsNot: "is_not",
}
_INVERT = {
    ast.Lt: ast.GtE, ast.LtE: ast.Gt, ast.Gt: ast.LtE, ast.GtE: ast.Lt, ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_BINOP_WORDS = {ast.Add: "plus", ast.Sub: "minus", ast.Mult: "times", ast.Div: "over",
                ast.FloorDiv: "over", ast.Mod: "mod"}


def expr_words(node, depth=0):
    if depth > 3:
        return ""
    if isinstance(node, ast.Name):
        return "" if node.id in ("self", "cls") else node.id
    if isinstance(node, ast.Attribute):
        base = expr_words(node.value, depth + 1)
        return "%s_%s" % (base, node.attr) if base else node.attr
    if isinstance(node, ast.Constant):
        return const_words(node.value)
    if isinstance(node, ast.Call):
        f = node.func
        fname = f.attr if isinstance(f, ast.Attribute) else expr_words(f, depth + 1)
        recv = expr_words(f.value, depth + 1) if isinstance(f, ast.Attribute) else ""
        args = [expr_words(a, depth + 1) for a in node.args[:2]]
        words = [w for w in [recv if fname in _STR_METHODS or fname in ("get", "items") else "", fname] + args if w]
        if fname in _STR_METHODS and recv:
            words = [recv]  # `x.lower() in (...)`: about x
        return "_".join(words)
    if isinstance(node, ast.Subscript):
        sl = node.slice
        if isinstance(sl, ast.Index):
            sl = sl.value
        return "_".join(w for w in [expr_words(node.value, depth + 1), expr_words(sl, depth + 1)] if w)
    if isinstance(node, ast.BinOp):
        return "_".join(w for w in [expr_words(node.left, depth + 1), _BINOP_WORDS.get(type(node.op), "op"),
                                    expr_words(node.right, depth + 1)] if w)
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        elts = [expr_words(e, depth + 1) for e in node.elts[:3]]
        return "_".join(w for w in elts if w)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return "minus_" + expr_words(node.operand, depth + 1)
    return ""


def cond_words(node, negate=False):
    """Words for a branch condition as it was decided, e.g. `price < 0` taken
    → 'price_is_negative', not taken → 'price_is_not_negative'."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return cond_words(node.operand, not negate)
    if isinstance(node, ast.Compare) and len(node.ops) == 1:
        op = type(node.ops[0])
        if negate:
            op = _INVERT.get(op, op)
        left, right = node.left, node.comparators[0]
        lw = expr_words(left)
        rv = _literal(right) if isinstance(right, (ast.Constant, ast.UnaryOp)) else _NO
        if rv is None and op in (ast.Is, ast.IsNot, ast.Eq, ast.NotEq):
            return "%s_%s" % (lw, "is_none" if op in (ast.Is, ast.Eq) else "is_not_none")
        if isinstance(rv, (int, float)) and not isinstance(rv, bool) and rv == 0:
            word = {ast.Lt: "is_negative", ast.GtE: "is_not_negative", ast.Gt: "is_positive",
                    ast.LtE: "is_not_positive", ast.Eq: "is_zero", ast.NotEq: "is_not_zero"}.get(op)
            if word:
                return "%s_%s" % (lw, word)
        if isinstance(rv, str) and rv == "" and op in (ast.Eq, ast.NotEq):
            return "%s_%s" % (lw, "is_empty" if op is ast.Eq else "is_not_empty")
        return "_".join(w for w in [lw, _OP_WORDS.get(op, "vs"), expr_words(right)] if w)
    if isinstance(node, ast.Compare) and len(node.ops) == 2 and all(
            isinstance(o, (ast.Lt, ast.LtE)) for o in node.ops):
        mid = expr_words(node.comparators[0])
        lo, hi = expr_words(node.left), expr_words(node.comparators[1])
        return "%s_%sbetween_%s_and_%s" % (mid, "not_" if negate else "", lo, hi)
    if isinstance(node, ast.BoolOp):
        # De Morgan: `a and b` not taken reads `not a or not b`.
        is_and = isinstance(node.op, ast.And) != negate
        joiner = "_and_" if is_and else "_or_"
        parts = []
        for w in (cond_words(v, negate) for v in node.values[:2]):
            if w and w not in parts:
                parts.append(w)
        return joiner.join(parts)
    words = expr_words(node)
    if not words:
        return ""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("any", "all", "isinstance", "callable", "hasattr"):
        return ("not_" if negate else "") + words
    return ("not_" if negate else "") + words if negate else words


def trim_words(text, limit=60):
    text = re.sub(r"_+", "_", text).strip("_")
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind("_")] if "_" in cut else cut


class Decisions:
    """Branch points of a function's source: `if`/`while` tests and `except`
    clauses, to name a test after the last decision its call took."""

    def __init__(self, func_node):
        self.tests = {}     # line -> (test node, first line of the body)
        self.handlers = {}  # line -> handler
        self.branch_lines = set()
        if func_node is None:
            return
        for node in ast.walk(func_node):
            if isinstance(node, (ast.If, ast.While)):
                self.tests[node.lineno] = (node.test, node.body[0].lineno)
                self.branch_lines.add(node.lineno)
            elif isinstance(node, (ast.For, ast.AsyncFor)):
                self.branch_lines.add(node.lineno)
            elif isinstance(node, ast.ExceptHandler):
                self.handlers[node.lineno] = node

    def last(self, order):
        """Words for the last decision in a line trace, or ''."""
        for i in range(len(order) - 1, -1, -1):
            ln = order[i]
            if ln in self.handlers:
                h = self.handlers[ln]
                t = h.type
                names = []
                for e in (t.elts if isinstance(t, ast.Tuple) else [t] if t is not None else []):
                    n = dotted(e)
                    if n:
                        names.append(snake(n.split(".")[-1]))
                return "%s_is_caught" % "_or_".join(names[:2]) if names else "an_error_is_caught"
            if ln in self.tests and i + 1 < len(order):
                test, body_first = self.tests[ln]
                nxt = order[i + 1]
                if nxt == ln:
                    continue
                return cond_words(test, negate=(nxt != body_first))
        return ""


def outcome_words(out, how=""):
    if out.kind == "raise":
        return "raises_" + snake(type(out.exc).__name__)
    if how in ("setter", "deleter"):
        return "sets_value" if how == "setter" else "deletes_value"
    v = out.value
    if how in ("list", "asynclist"):
        return "yields_nothing" if not v else "yields_%d_items" % len(v) if len(v) > 1 else "yields_one_item"
    if v is None:
        return "returns_none"
    if isinstance(v, bool):
        return "returns_%s" % str(v).lower()
    if isinstance(v, (str, bytes, list, dict, tuple, set)) and len(v) == 0:
        return "returns_empty_%s" % type(v).__name__
    return "returns_" + snake(type(v).__name__)


def unique_name(base, used):
    base = re.sub(r"_+", "_", base.lower())[:110].rstrip("_")
    name = base
    n = 2
    while name in used:
        name = "%s_%d" % (base, n)
        n += 1
    used.add(name)
    return name


# ---------------------------------------------------------------------------
# Explorers
# ---------------------------------------------------------------------------


_MUTATING_CALLS = {"append", "add", "update", "clear", "pop", "remove", "insert", "setdefault", "extend",
                   "discard", "popitem", "sort", "reverse", "put", "write", "appendleft", "push"}
_CREATOR = r"(add|create|insert|register|new|put|set|push|append|save|store|make|open|load|post|book|deposit|place)"


def is_mutator(node):
    """Whether a method may change state: it assigns into an attribute or an
    item, deletes one, or calls a mutating method on something of self's.
    Unknown source counts as a mutator."""
    if node is None:
        return True
    for n in own_nodes(node):
        if isinstance(n, (ast.Assign, ast.Delete)):
            if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in n.targets):
                return True
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)):
            if isinstance(n.target, (ast.Attribute, ast.Subscript)):
                return True
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _MUTATING_CALLS:
            root = n.func.value
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "self":
                return True
    return False


_NEEDS_INSTANCE = ("instance", "property", "setter", "deleter")
_UNREADABLE = object()


class Plan:
    """One candidate: how to build the instance, setup calls, target args.
    Parts left None are drawn at run time (after setup, so that ids the setup
    created can be used)."""

    def __init__(self, args=None, ctor=None, steps=None):
        self.args = args
        self.ctor = ctor
        self.steps = steps or []   # [name, Callee, args or None, how]
        self.how = ""

    def key(self):
        if isinstance(self.args, dict) or (self.steps and isinstance(self.steps[0][0], RouteSpec)):
            # a route plan: steps are [spec, request, status, '']
            if self.args is None or any(s[1] is None for s in self.steps):
                return None
            return "|".join("%s %s %r" % (r["method"], r["url"], r["json"])
                            for r in [s[1] for s in self.steps] + [self.args])
        if self.args is None or any(s[2] is None for s in self.steps):
            return None
        parts = [self.ctor.src if self.ctor else ""]
        parts += ["%s(%s)" % (s[0], s[1].render(s[2])) for s in self.steps]
        parts.append(",".join(v.src for v in self.args))
        return "|".join(parts)


class Explorer:
    """The search shared by every kind: plans in, outcomes traced, plans that
    reach new lines/arcs kept, re-run once for determinism, rendered."""

    def __init__(self, req, callsites):
        self.req = req
        self.t = req["target"]
        self.callsites = callsites
        self.max_calls = int(req.get("max_calls") or 400)
        self.budget = float(req.get("budget_s") or 10.0)
        self.call_timeout = float(req.get("call_timeout_s") or 2.0)
        self.allow_unsafe = bool(req.get("allow_unsafe"))
        self.rng = random.Random(int(req.get("seed") if req.get("seed") is not None else ARGS.seed))
        self.lo = int(self.t.get("line") or 1)
        self.hi = int(self.t.get("end_line") or 10 ** 9)
        self.started = time.monotonic()
        self.calls = 0
        # Calls without new coverage after which the search gives up (None:
        # only max_calls); routes set one, each of their calls is costly.
        self.plateau = None
        self.searching = True

    # -- to provide -----------------------------------------------------------
    def prepare(self):
        raise NotImplementedError

    def plans(self):
        raise NotImplementedError

    def run(self, plan):
        raise NotImplementedError

    def render(self, plan, outcome, used):
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------
    def setup_trace(self, func_code, func_node):
        self.filenames = {os.path.abspath(self.t["file"])}
        if func_code is not None:
            self.filenames.add(func_code.co_filename)
        TRACER.configure(self.filenames, self.lo, self.hi)
        start = body_start(func_node) if func_node is not None else self.lo
        self.total = code_lines(func_code, start, self.hi) if func_code is not None else set()
        self.decisions = Decisions(func_node)

    def check_safety(self, func_node, namespace):
        if self.allow_unsafe or func_node is None:
            return
        found = unsafe_calls(func_node, namespace)
        if found:
            raise SkipTarget("calls %s (destructive or external; pass allow_unsafe to explore it)"
                             % ", ".join(found))

    def full(self, lines, arcs):
        if not self.total or not self.total <= lines:
            return False
        succ = collections.defaultdict(set)
        for a, b in arcs:
            succ[a].add(b)
        return all(len(succ[ln]) >= 2 for ln in self.decisions.branch_lines if ln in self.total)

    def guarded(self, plan):
        self.calls += 1
        timeout = self.call_timeout
        if self.searching:
            remaining = self.budget - (time.monotonic() - self.started)
            timeout = max(0.05, min(self.call_timeout, remaining))
        body, box = django_guarded(lambda: self.run(plan))
        status, res = GUARD.run(body, timeout, not self.allow_unsafe)
        if status == "ok":
            res.db = touched_db(box, res)
            return res
        if status == "exit":
            code = getattr(res, "code", None) if isinstance(res, SystemExit) else res.args[0] if res.args else None
            return Outcome("exit", detail=code)
        if status == "raise":
            out = Outcome("raise", exc=res)
            out.db = touched_db(box, out)
            return out
        return Outcome(status, detail=res)

    def explore(self):
        self.prepare()
        seen = set()
        cum_lines, cum_arcs = set(), set()
        kept = []
        completed = timeouts = 0
        unsafe = None
        last_keep = 0
        for plan in self.plans():
            if self.calls >= self.max_calls:
                break
            if self.plateau and self.calls - last_keep >= self.plateau:
                break  # a count, not a time: the same seed stops at the same call
            if time.monotonic() - self.started > self.budget * 0.75:
                break
            if self.full(cum_lines, cum_arcs):
                break
            k = plan.key()
            if k is not None:
                if k in seen:
                    continue
                seen.add(k)
            out = self.guarded(plan)
            if out.kind == "timeout":
                timeouts += 1
                if completed == 0 and timeouts >= 2:
                    break
                continue
            completed += 1
            if out.kind == "exit":
                raise SkipTarget("calls sys.exit (SystemExit: %r)" % (out.detail,))
            if out.kind == "unsafe":
                unsafe = unsafe or out.detail
                continue
            if out.kind not in ("return", "raise"):
                continue
            if out.kind == "raise" and missing_state(out.exc):
                continue  # our object lacked state a real caller sets up first
            if out.db and not DJANGO.db_ok:
                continue  # the database is not usable here (not sqlite)
            new_lines = (out.lines & self.total) - cum_lines
            new_arcs = out.arcs - cum_arcs
            if new_lines or new_arcs:
                cum_lines |= out.lines & self.total
                cum_arcs |= out.arcs
                kept.append((plan, out))
                last_keep = self.calls
        if completed == 0 and timeouts:
            raise SkipTarget("every call ran longer than %g s (infinite loop?)" % self.call_timeout)
        if not kept and unsafe:
            raise SkipTarget("the target tried %s at run time (blocked; pass allow_unsafe to explore it)"
                             % unsafe)
        self.searching = False
        tests = []
        used = set()
        reached = set()
        for plan, out in kept:
            # The Rust side kills a harness at budget_s + 10 s: what is not
            # finished by budget_s + 5 s is left out rather than lost whole.
            elapsed = time.monotonic() - self.started
            if elapsed > self.budget + 5:
                break
            if elapsed < self.budget * 0.9:
                plan, out = self.simplify(plan, out)
            again = self.guarded(plan)
            if again.kind != out.kind or (out.kind == "raise" and type(again.exc) is not type(out.exc)):
                continue
            if (again.lines & self.total) != (out.lines & self.total):
                continue
            rendered = self.render(plan, out, again, used)
            if rendered is not None and (out.db or again.db):
                if again.db and not DJANGO.db_ok:
                    continue
                rendered = with_db_fixture(rendered)
            if rendered is None or not self.self_check(rendered):
                continue
            new = sorted((out.lines & self.total) - reached)
            reached |= out.lines & self.total
            rendered["new_lines"] = new
            tests.append(rendered)
        return {
            "status": "ok",
            "reason": None,
            "calls": self.calls,
            "lines": {"total": sorted(self.total), "reached": sorted(reached)},
            "tests": tests,
        }

    def self_check(self, test):
        """Runs the rendered test once, as written (its imports, its source):
        a test that fails here is dropped rather than handed over broken."""
        ns = {"__name__": "testgen_self_check"}
        for line in test["imports"]:
            try:
                exec(line, ns)
            except ImportError:
                if line == "import pytest":
                    return True  # no pytest here to check with: keep it
                return False
            except Exception:
                return False
        try:
            exec(compile(test["source"], "<generated test>", "exec"), ns)
        except SyntaxError:
            return False
        fn = ns[test["name"]]
        if "db" in test.get("fixtures", ()):
            return self.run_test(lambda: fn(None))
        return self.run_test(fn)

    def run_test(self, fn):
        body, _ = django_guarded(fn)
        status, _ = GUARD.run(body, self.call_timeout * 2, not self.allow_unsafe)
        self.calls += 1
        return status == "ok"

    def outcome_sig(self, out):
        """What a test asserts about an outcome, to compare two runs."""
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        r = obj_src(out.value) if not isinstance(out.value, float) else (repr(out.value), ())
        return ("return", type(out.value), r[0] if r else None)

    def simplify(self, plan, out):
        """Drops setup steps the kept outcome does not depend on (same
        result, same lines and arcs without them), last step first."""
        i = len(plan.steps) - 1
        while i >= 0 and self.calls < self.max_calls + 200:
            trial = Plan(plan.args, plan.ctor, plan.steps[:i] + plan.steps[i + 1:])
            trial.how = plan.how
            o = self.guarded(trial)
            if (o.kind == out.kind and o.lines == out.lines and o.arcs == out.arcs
                    and self.outcome_sig(o) == self.outcome_sig(out)):
                plan, out = trial, o
            i -= 1
        return plan, out

    def name_for(self, target_words, out, how, used):
        words = outcome_words(out, how)
        cond = trim_words(self.decisions.last(out.order))
        base = "test_%s_%s" % (target_words, words)
        if cond:
            base += "_when_" + cond
        return unique_name(base, used)

    def exception_block(self, out, again, call):
        cls, ref = exception_ref(out.exc)
        imps = {"import pytest"}
        if ref[1]:
            imps.add(ref[1])
        m = match_arg(out.exc)
        if m is not None and m == match_arg(again.exc):
            head = "with pytest.raises(%s, match=%s):" % (ref[0], literal_src(m))
        else:
            head = "with pytest.raises(%s):" % ref[0]
        return [head, "    " + call], imps


# ---------------------------------------------------------------------------
# Django: the settings module is found the way Django users configure it and
# django.setup() runs once, before the first project module is imported. A
# file sqlite database is replaced by an in-memory one (tables created with
# `migrate --run-syncdb`), any other engine by Django's dummy backend: the
# harness never writes to the project's real database. Candidates run in a
# transaction rolled back after them; those that touch an unusable database
# are discarded.
# ---------------------------------------------------------------------------


class DjangoState:
    def __init__(self):
        self.tried = False
        self.settings_module = None  # set when the project is a Django project
        self.error = None            # why django.setup() failed
        self.memory = []             # aliases on in-memory sqlite with tables
        self.db_ok = False           # the ORM can run
        self.hits = 0                # connection uses so far
        self.pinned = set()          # project modules django.setup() imported


DJANGO = DjangoState()
_DSM = "DJANGO_SETTINGS_MODULE"


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
                    opts = {_DSM: m2.group(1)} if m2 else {}
            except Exception:
                opts = None
            value = (opts or {}).get(_DSM)
            if isinstance(value, str) and value.strip():
                return value.strip()
            continue
        cp = configparser.ConfigParser(interpolation=None)
        try:
            cp.read_string(text)
        except Exception:
            continue
        if cp.has_section(section):
            value = cp.get(section, _DSM, fallback="").strip()
            if value:
                return value
    return None


def _manage_py_settings_module(dirs):
    """`os.environ.setdefault("DJANGO_SETTINGS_MODULE", "...")` in manage.py."""
    for d in dirs:
        tree = parse_file(os.path.join(d, "manage.py"))
        if tree is None:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "setdefault" and len(node.args) == 2
                    and all(isinstance(a, ast.Constant) and isinstance(a.value, str) for a in node.args)
                    and node.args[0].value == _DSM):
                return node.args[1].value
    return None


def find_settings_module():
    dirs = [ROOT] + [os.path.abspath(p) for p in (ARGS.sys_path if ARGS else [])]
    return os.environ.get(_DSM) or _ini_settings_module(ROOT) or _manage_py_settings_module(dirs)


def _is_memory_sqlite(name):
    name = str(name or "")
    return name in ("", ":memory:") or "mode=memory" in name


def _django_configure():
    import django
    from django.conf import settings
    dbs = settings.DATABASES  # loads the settings module
    for alias, cfg in dbs.items():
        if cfg.get("ENGINE") == "django.db.backends.sqlite3":
            if not _is_memory_sqlite(cfg.get("NAME")):
                cfg["NAME"] = ":memory:"
            DJANGO.memory.append(alias)
        else:
            for key in list(cfg):
                if key != "ENGINE":
                    del cfg[key]
            cfg["ENGINE"] = "django.db.backends.dummy"
    django.setup()
    DJANGO.pinned = {n for n, m in sys.modules.items() if m is not None and is_project_file(_module_path(m))}
    from django.core.management import call_command
    from django.db import connections
    for alias in list(DJANGO.memory):
        try:
            call_command("migrate", run_syncdb=True, verbosity=0, interactive=False, database=alias)
        except Exception as e:
            DJANGO.memory.remove(alias)
            print("testgen: migrate --run-syncdb failed for %s: %s" % (alias, last_line(e)), file=sys.stderr)
    DJANGO.db_ok = bool(DJANGO.memory) and len(DJANGO.memory) == len(dbs)
    for alias in dbs:
        conn = connections[alias]
        for attr in ("ensure_connection", "_cursor", "cursor"):
            orig = getattr(conn, attr, None)
            if orig is None:
                continue

            def counted(*a, _orig=orig, **k):
                DJANGO.hits += 1
                return _orig(*a, **k)
            setattr(conn, attr, counted)


def django_setup():
    """Once per harness: configures Django when the project uses it."""
    if DJANGO.tried:
        return
    DJANGO.tried = True
    mod = find_settings_module()
    if not mod:
        return
    try:
        import importlib.util
        if importlib.util.find_spec("django") is None:
            return
    except (ImportError, ValueError):
        return
    os.environ[_DSM] = mod
    DJANGO.settings_module = mod
    status, res = GUARD.run(_django_configure, 120.0, False)
    if status != "ok":
        DJANGO.error = last_line(res) if isinstance(res, BaseException) else status
        DJANGO.db_ok = False


def django_guarded(fn):
    """fn run in a transaction rolled back after it (every usable alias); the
    number of connection uses it made."""
    if not DJANGO.settings_module or DJANGO.error:
        return fn, None
    box = {}

    def counted():
        # Counted inside the transaction: entering it connects too.
        before = DJANGO.hits
        try:
            return fn()
        finally:
            box["hits"] = DJANGO.hits - before

    def body():
        import contextlib
        if not DJANGO.memory:
            return counted()
        from django.db import transaction
        with contextlib.ExitStack() as stack:
            for alias in DJANGO.memory:
                stack.enter_context(transaction.atomic(using=alias))
            try:
                return counted()
            finally:
                for alias in DJANGO.memory:
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


def import_module(name):
    """Imports the target's module fresh (the project's modules are forgotten
    first, so one request never sees state another left behind). Some
    frameworks refuse a second import (Django's model registry): then the
    modules imported before are put back and used."""
    django_setup()
    saved = forget_project_modules()
    status, res = GUARD.run(lambda: __import__(name) and sys.modules[name], 30.0, False)
    if status == "ok":
        return res
    if name in saved:
        restore_project_modules(saved)
        return saved[name]
    if status == "raise":
        why = last_line(res)
        if DJANGO.error:
            why += " (django.setup() with %s failed: %s)" % (DJANGO.settings_module, DJANGO.error)
        raise SkipTarget("cannot import %s: %s" % (name, why))
    if status == "exit":
        raise SkipTarget("cannot import %s: it calls sys.exit at import time" % name)
    raise SkipTarget("cannot import %s: import took longer than 30 s" % name)


class CallableExplorer(Explorer):
    """Module-level functions and methods of classes."""

    def prepare(self):
        t = self.t
        self.module = import_module(t["module"])
        ns = vars(self.module)
        parts = t["qualname"].split(".")
        self.name = parts[-1]
        self.cls = None
        owner = self.module
        try:
            for p in parts[:-1]:
                owner = getattr(owner, p)
            if isinstance(owner, type):
                self.cls = owner
                raw = None
                for klass in owner.__mro__:
                    if self.name in vars(klass):
                        raw = vars(klass)[self.name]
                        break
                if raw is None:
                    raise AttributeError(self.name)
            else:
                raw = getattr(owner, self.name)
        except AttributeError:
            raise SkipTarget("%s has no attribute %s" % (t["module"], t["qualname"]))
        self.raw = raw
        if self.cls is None:
            self.kind = "function"
            func = raw
        elif self.name == "__init__":
            self.kind = "init"
            func = raw
        elif isinstance(raw, staticmethod):
            self.kind, func = "static", raw.__func__
        elif isinstance(raw, classmethod):
            self.kind, func = "class", raw.__func__
        elif isinstance(raw, property):
            # The accessor whose source is the target's lines: a setter or
            # deleter is a separate def with the same name.
            self.kind, func = "property", raw.fget
            for kind, acc in (("property", raw.fget), ("setter", raw.fset), ("deleter", raw.fdel)):
                code = getattr(inspect.unwrap(acc), "__code__", None) if acc is not None else None
                if code is not None and self.lo <= code.co_firstlineno <= self.hi:
                    self.kind, func = kind, acc
                    break
        elif isinstance(raw, functools.cached_property):
            self.kind, func = "property", raw.func
        else:
            self.kind, func = "instance", raw
        inner = inspect.unwrap(func) if callable(func) else func
        # How a call's result is finished, known before the call (so that a
        # coroutine that raises is still rendered inside asyncio.run).
        self.static_how = ("async" if inspect.iscoroutinefunction(inner) else
                           "list" if inspect.isgeneratorfunction(inner) else
                           "asynclist" if inspect.isasyncgenfunction(inner) else "")
        code = getattr(inner, "__code__", None)
        if code is None:
            raise SkipTarget("%s is not a Python function" % t["qualname"])
        tree = parse_file(t["file"])
        node = find_def(tree, self.name, self.lo, self.hi) if tree is not None else None
        self.check_safety(node, ns)
        self.setup_trace(code, node)
        self.gen = Gen(self.rng, self.callsites, ns)
        facts = FunctionFacts(node, ns)
        self.gen.default_facts = facts
        drop = self.kind in ("instance", "class", "init") or self.kind in _NEEDS_INSTANCE
        self.callee = Callee(func, self.gen, facts, drop_first=drop)
        if self.kind in ("property", "deleter"):
            self.callee.params = []
        self.ref = class_ref(self.cls) if self.cls is not None else None
        if self.cls is not None and self.ref is None:
            self.ref = (self.cls.__name__, "from %s import %s" % (t["module"], self.cls.__name__))
        self.ctors = []
        self.setups = []
        self.corpus = []
        self.corpus_keys = set()
        if self.kind in _NEEDS_INSTANCE:
            self.ctors = self.gen.class_pool(self.cls, 0)
            if not self.ctors:
                raise SkipTarget("cannot construct %s: %s" % (self.cls.__name__, self._ctor_error()))
            self.setups = self._setup_methods(tree, ns)
        self.var = snake(self.cls.__name__) if self.cls is not None else ""
        if self.var in ("result", "pytest", "asyncio", "math", self.name) or not self.var.isidentifier():
            self.var = "obj"

    def _ctor_error(self):
        spec = self.gen.ctor_spec(self.cls)
        if spec is None:
            return "no usable constructor signature"
        val = self.gen._ctor_from(self.cls, class_ref(self.cls) or (self.cls.__name__, None), spec, 0, "base")
        if val is None:
            return "no arguments validate"
        status, res = GUARD.run(val.build, 2.0, True)
        if status == "raise":
            return last_line(res)
        return status

    def _setup_methods(self, tree, ns):
        """Public plain methods that can build state before the target runs."""
        out = []
        names = set()
        for klass in self.cls.__mro__:
            if klass is object or klass.__module__ == "builtins":
                continue
            for name, attr in sorted(vars(klass).items()):
                if name.startswith("_") or name in names or not inspect.isfunction(attr):
                    continue
                names.add(name)
                code = inspect.unwrap(attr).__code__
                node = None
                src_tree = parse_file(code.co_filename)
                if src_tree is not None:
                    node = find_def(src_tree, name, code.co_firstlineno, code.co_firstlineno + 50)
                if node is not None and not self.allow_unsafe and unsafe_calls(node, ns):
                    continue
                if not is_mutator(node):
                    continue  # a query cannot build state
                weight = 3 if re.match(_CREATOR, name) else 1
                callee = Callee(attr, self.gen, FunctionFacts(node, ns), drop_first=True)
                out.append((name, callee, weight))
        out.sort(key=lambda x: x[0])
        return out

    def draw_step(self):
        """A setup call: creators (add_*, create_*...) more often."""
        total = sum(w for _, _, w in self.setups)
        r = self.rng.random() * total
        for name, callee, w in self.setups:
            r -= w
            if r < 0:
                return [name, callee, None, ""]
        name, callee, _ = self.setups[-1]
        return [name, callee, None, ""]

    def plans(self):
        ctor = self.ctors[0] if self.ctors else None
        # 1. calls written in the project (its tests included) and doctests
        for args in self._callsite_args():
            yield Plan(args, ctor)
        # 2. the most typical arguments, then one parameter at a time
        yield Plan(self.callee.base_args(), ctor)
        for args in self.callee.variations():
            yield Plan(args, ctor)
        for c in self.ctors[1:]:
            yield Plan(self.callee.base_args(), c)
        # 3. random: instance variants, setup sequences, drawn arguments.
        # Sequences whose steps all succeeded are kept and extended later
        # (feedback-directed, as Randoop does): add_user then add_task then
        # complete grows one working step at a time.
        rng = self.rng
        while True:
            c = None
            steps = []
            if self.ctors:
                c = self.ctors[0] if rng.random() < 0.7 else self.ctors[rng.randrange(len(self.ctors))]
            if self.setups:
                if self.corpus and rng.random() < 0.6:
                    c, base = self.corpus[rng.randrange(len(self.corpus))]
                    steps = [list(s) for s in base]
                    if rng.random() < 0.7 and len(steps) < 6:
                        steps.append(self.draw_step())
                else:
                    steps = [self.draw_step() for _ in range(rng.choice([0, 1, 1, 2]))]
            yield Plan(None, c, steps)

    def _callsite_args(self):
        out = []
        calls = list(self.callsites.calls(self.name)) if self.name != "__init__" else \
            list(self.callsites.calls(self.cls.__name__))
        doc = inspect.getdoc(self.raw if not isinstance(self.raw, (staticmethod, classmethod)) else self.raw.__func__) or ""
        try:
            for ex in doctest.DocTestParser().get_examples(doc):
                try:
                    tree = ast.parse(ex.source.strip(), mode="eval")
                except SyntaxError:
                    continue
                if isinstance(tree.body, ast.Call):
                    calls.append(tree.body)
        except ValueError:
            pass
        for call in calls:
            f = call.func
            if self.kind == "function" and not isinstance(f, ast.Name) and not isinstance(f, ast.Attribute):
                continue
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name != (self.cls.__name__ if self.kind == "init" else self.name):
                continue
            args = self.callee.from_callsite(call)
            if args is not None:
                out.append(args)
            if len(out) >= 12:
                break
        return out

    # -- running -----------------------------------------------------------------

    def _remember(self, ctor, steps):
        key = ctor.src + "|" + "|".join("%s(%s)" % (s[0], s[1].render(s[2])) for s in steps)
        if key not in self.corpus_keys and len(self.corpus) < 300:
            self.corpus_keys.add(key)
            self.corpus.append((ctor, [list(s) for s in steps]))

    def _target_callable(self, inst):
        if self.kind == "function":
            return getattr(self.module, self.name) if not isinstance(self.raw, types.FunctionType) else self.raw
        if self.kind == "init":
            return self.cls
        if self.kind in ("class", "static"):
            return getattr(self.cls, self.name)
        return getattr(inst, self.name)

    def run(self, plan):
        gen = self.gen
        gen.harvest = []
        inst = None
        try:
            if self.kind in _NEEDS_INSTANCE:
                inst = plan.ctor.build()
            done = []
            for name, callee, args, _ in plan.steps:
                if args is None:
                    args = callee.random_args()
                for v in args:
                    if v is not OMIT:
                        for s in v.scalars():
                            if s not in gen.harvest:
                                gen.harvest.append(s)
                try:
                    a, k = callee.build(args)
                    res, how = finish_call(getattr(inst, name)(*a, **k))
                except Exception:
                    continue
                if how == "asynclist":
                    continue  # not worth a helper in the test: dropped
                harvest_scalars(res, gen.harvest)
                done.append([name, callee, args, how])
            if done and len(done) == len(plan.steps):
                self._remember(plan.ctor, done)
            plan.steps = done
            if plan.args is None:
                plan.args = self.callee.random_args()
            a, k = self.callee.build(plan.args)
        except Exception:
            return Outcome("discard")
        value = exc = None
        how = self.static_how
        with TRACER:
            try:
                if self.kind == "property":
                    value = getattr(inst, self.name)
                elif self.kind == "setter":
                    setattr(inst, self.name, *a)
                elif self.kind == "deleter":
                    delattr(inst, self.name)
                else:
                    value, how = finish_call(self._target_callable(inst)(*a, **k))
            except _Discard:
                return Outcome("discard")
            except Exception as e:
                exc = e
        out = Outcome("raise", exc=exc) if exc is not None else Outcome("return", value=value)
        plan.how = how
        out.traced()
        if self.kind == "setter" and exc is None:
            # What the test can check after the assignment: the value read back.
            try:
                out.value = getattr(inst, self.name)
            except Exception:
                out.value = _UNREADABLE
        if exc is None and self.kind == "instance" and any(n == self.name for n, _, _ in self.setups):
            # The target is a mutator too: its successful call is a setup
            # sequence to extend (complete a task, then complete it again).
            self._remember(plan.ctor, plan.steps + [[self.name, self.callee, plan.args, how]])
        return out

    # -- rendering ---------------------------------------------------------------

    def call_src(self, plan):
        args = self.callee.render(plan.args)
        if self.kind == "function":
            call = "%s(%s)" % (self.t["qualname"], args)
        elif self.kind == "init":
            call = "%s(%s)" % (self.ref[0], args)
        elif self.kind in ("class", "static"):
            call = "%s.%s(%s)" % (self.ref[0], self.name, args)
        elif self.kind == "property":
            call = "%s.%s" % (self.var, self.name)
        elif self.kind == "setter":
            call = "%s.%s = %s" % (self.var, self.name, args)
        elif self.kind == "deleter":
            call = "del %s.%s" % (self.var, self.name)
        else:
            call = "%s.%s(%s)" % (self.var, self.name, args)
        return wrap_how(call, plan.how)

    def target_words(self):
        if self.cls is None:
            return self.name.strip("_") or "call"
        meth = "init" if self.name == "__init__" else self.name.strip("_")
        if self.kind in ("setter", "deleter"):
            meth += "_" + self.kind
        return "%s_%s" % (snake(self.cls.__name__), meth)

    def render(self, plan, out, again, used):
        imports = set()
        body = []
        if self.kind == "function":
            imports.add("from %s import %s" % (self.t["module"], self.t["qualname"].split(".")[0]))
        elif self.ref and self.ref[1]:
            imports.add(self.ref[1])
        if self.kind in _NEEDS_INSTANCE:
            body.append("%s = %s" % (self.var, plan.ctor.src))
            imports |= plan.ctor.imports
            for name, callee, args, how in plan.steps:
                body.append(wrap_how("%s.%s(%s)" % (self.var, name, callee.render(args)), how))
                imports |= callee.imports(args)
                if how:
                    imports |= how_imports(how)
        imports |= self.callee.imports(plan.args)
        call = self.call_src(plan)
        imports |= how_imports(plan.how)
        if plan.how == "asynclist":
            # An async generator is drained by a coroutine defined in the test.
            plan_how, plan.how = plan.how, ""
            raw = self.call_src(plan)
            plan.how = plan_how
            body += ["async def collect():", "    return [item async for item in %s]" % raw]
            call = "asyncio.run(collect())"
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, call)
        elif self.kind in ("setter", "deleter"):
            # An assignment or `del` is a statement: it runs, then (setter)
            # what reading the property gives back is asserted.
            lines, imps = [call], set()
            read = "%s.%s" % (self.var, self.name)
            if self.kind == "setter" and out.value is not _UNREADABLE:
                more, imps = assertion_lines(read, out.value)
                more2, _ = assertion_lines(read, again.value)
                if more == more2 and not more[0].startswith("result = "):
                    lines += more
        else:
            lines, imps = assertion_lines(call, out.value)
            lines2, _ = assertion_lines(call, again.value)
            if lines != lines2:
                lines, imps = weak_assertion(call, out.value, again.value)
        imports |= imps
        body += lines
        name = self.name_for(self.target_words(), out,
                             self.kind if self.kind in ("setter", "deleter") else plan.how, used)
        src = "def %s():\n%s\n" % (name, "\n".join("    " + ln for ln in body))
        return {"name": name, "source": src, "imports": sorted(imports), "fixtures": []}


def with_db_fixture(test):
    """A test that touches the Django database takes the `db` fixture
    (pytest-django's, or the generated conftest's when it is not installed)."""
    head = "def %s():" % test["name"]
    if not test["source"].startswith(head):
        return None
    test = dict(test)
    test["source"] = "def %s(db):" % test["name"] + test["source"][len(head):]
    test["fixtures"] = sorted(set(test.get("fixtures") or []) | {"db"})
    return test


def wrap_how(call, how):
    if how == "async":
        return "asyncio.run(%s)" % call
    if how == "list":
        return "list(%s)" % call
    return call


def how_imports(how):
    return {"import asyncio"} if how in ("async", "asynclist") else set()


def weak_assertion(call, v1, v2):
    """When two runs gave different values: only what both agree on."""
    if type(v1) is type(v2):
        ref = class_ref(type(v1))
        if ref:
            return ["result = %s" % call, "assert isinstance(result, %s)" % ref[0]], set([ref[1]] if ref[1] else [])
    return [call], set()


# ---------------------------------------------------------------------------
# Routes (Flask and FastAPI): requests through the framework's test client
# against a freshly imported application, setup requests first.
# ---------------------------------------------------------------------------

_SKIP_ROUTE_METHODS = {"HEAD", "OPTIONS"}
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class RouteSpec:
    """What one URL rule accepts: methods, path params, query keys, body."""

    def __init__(self, methods, template, framework):
        self.methods = methods          # sorted, HEAD/OPTIONS left out
        self.template = template        # '/tasks/<int:task_id>' or '/orders/{order_id}'
        self.framework = framework
        self.path_params = []           # [(name, type)]
        self.query = []                 # [(name, type, required)]
        self.json_facts = None          # Flask: FunctionFacts of the body's keys
        self.json_var = None
        self.model = None               # FastAPI: the pydantic body model
        self.view_name = ""

    def url(self, path_values, query):
        if self.framework == "flask":
            url = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: urllib.parse.quote(str(path_values[m.group(1)])),
                         self.template)
        else:
            url = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: urllib.parse.quote(str(path_values[m.group(1)])),
                         self.template)
        if query:
            url += "?" + urllib.parse.urlencode(sorted(query.items()))
        return url


def _view_node(func):
    inner = inspect.unwrap(func)
    code = getattr(inner, "__code__", None)
    if code is None:
        return None, None
    tree = parse_file(code.co_filename)
    node = find_def(tree, inner.__name__, code.co_firstlineno, code.co_firstlineno + 30) if tree else None
    return inner, node


def _flask_request_keys(node):
    """Names bound to the JSON body (`data = request.get_json() or {}`) and
    query keys (`request.args.get("k", type=int)`) of a Flask view."""
    json_vars, query = set(), {}
    if node is None:
        return json_vars, []
    for n in ast.walk(node):
        if isinstance(n, ast.Assign):
            src = ast.dump(n.value)
            if ("attr='get_json'" in src or "attr='json'" in src) and "id='request'" in src:
                for t in n.targets:
                    if isinstance(t, ast.Name):
                        json_vars.add(t.id)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args:
            recv = dotted(n.func.value)
            if recv in ("request.args", "request.values") and n.func.attr in ("get", "getlist", "__getitem__"):
                key = _literal(n.args[0])
                if isinstance(key, str):
                    tp = str
                    for kw in n.keywords:
                        if kw.arg == "type" and isinstance(kw.value, ast.Name):
                            tp = {"int": int, "float": float}.get(kw.value.id, str)
                    query.setdefault(key, (tp, False))
        if isinstance(n, ast.Subscript) and dotted(n.value) in ("request.args", "request.values"):
            sl = n.slice.value if isinstance(n.slice, ast.Index) else n.slice
            key = _literal(sl)
            if isinstance(key, str):
                query[key] = (query.get(key, (str, True))[0], True)
    return json_vars, [(k, tp, req) for k, (tp, req) in sorted(query.items())]


_FLASK_CONVERTERS = {"IntegerConverter": int, "FloatConverter": float, "UUIDConverter": "uuid"}


def flask_specs(app):
    """[(view function, RouteSpec)] for every rule of a Flask app."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions.get(rule.endpoint)
        if view is None or rule.endpoint == "static":
            continue
        methods = sorted(set(rule.methods or ["GET"]) - _SKIP_ROUTE_METHODS)
        spec = RouteSpec(methods, rule.rule, "flask")
        for name, conv in sorted(getattr(rule, "_converters", {}).items()):
            spec.path_params.append((name, _FLASK_CONVERTERS.get(type(conv).__name__, str)))
        inner, node = _view_node(view)
        spec.view_name = getattr(inner, "__name__", rule.endpoint)
        json_vars, spec.query = _flask_request_keys(node)
        if json_vars and node is not None:
            spec.json_facts = FunctionFacts(node, getattr(inner, "__globals__", {}), params=json_vars)
            spec.json_var = sorted(json_vars)[0]
        out.append((inner, spec))
    return out


def _is_depends(default):
    return type(default).__name__ in ("Depends", "Security") or hasattr(default, "dependency")


def _fastapi_routes(routes):
    """(path, methods, endpoint) of every API route. Older FastAPI copies
    included routers' routes into app.routes; newer versions keep
    `_IncludedRouter`s that expose `effective_route_contexts()`."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            for ctx in contexts():
                original = getattr(ctx, "original_route", None)
                if type(original).__name__ == "APIRoute":
                    yield ctx.path, getattr(original, "methods", None), ctx.endpoint or original.endpoint
            continue
        if type(route).__name__ == "APIRoute":
            yield route.path, getattr(route, "methods", None), route.endpoint


def fastapi_specs(app):
    out = []
    for path, methods, endpoint in _fastapi_routes(app.routes):
        if endpoint is None or not methods or path is None:
            continue
        spec = RouteSpec(sorted(set(methods) - _SKIP_ROUTE_METHODS), path, "fastapi")
        inner, node = _view_node(endpoint)
        spec.view_name = getattr(inner, "__name__", "")
        path_names = set(re.findall(r"\{(\w+)", path))
        try:
            sig = inspect.signature(endpoint)
            hints = type_hints(inner)
        except (TypeError, ValueError):
            continue
        for p in sig.parameters.values():
            ann = hints.get(p.name, p.annotation)
            if _is_depends(p.default):
                continue
            if isinstance(ann, type) and ann.__module__.split(".")[0] in ("starlette", "fastapi"):
                continue  # Request, Response, BackgroundTasks...
            if p.name in path_names:
                spec.path_params.append((p.name, ann if ann in (int, float, str) else str))
            elif is_pydantic(ann):
                spec.model = ann
            else:
                kind = type(p.default).__name__
                if kind in ("Header", "Cookie", "Body", "Form", "File"):
                    continue
                base = ann
                if typing.get_origin(ann) in _UNION_TYPES:
                    non_none = [a for a in typing.get_args(ann) if a is not NoneType]
                    base = non_none[0] if len(non_none) == 1 else str
                if base not in (int, float, str, bool):
                    base = str
                required = p.default is p.empty or (kind == "Query" and repr(getattr(p.default, "default", None)) == "Ellipsis")
                spec.query.append((p.name, base, required))
        out.append((inner, spec))
    return out


def build_app(app_json):
    ns = {}
    exec(app_json["import"], ns)
    app = eval(app_json["expr"], ns)
    if app_json.get("framework") == "flask":
        app.testing = True
    return app


class RouteExplorer(Explorer):
    """A view function reached through HTTP requests. Each candidate runs on a
    freshly imported application (as the generated conftest's `client` does),
    after a few setup requests (POST/PUT routes) that create state."""

    def prepare(self):
        app_json = self.req.get("app")
        if not app_json:
            raise SkipTarget("a route target needs the application (`app` from find_app)")
        self.app_json = app_json
        self.framework = app_json.get("framework")
        saved = forget_project_modules()
        try:
            status, app = GUARD.run(lambda: build_app(app_json), 60.0, False)
            if status != "ok":
                raise SkipTarget("cannot create the application (%s): %s" % (
                    app_json.get("expr"), last_line(app) if isinstance(app, BaseException) else status))
            specs = flask_specs(app) if self.framework == "flask" else fastapi_specs(app)
        finally:
            restore_project_modules(saved)
        target_file = os.path.abspath(self.t["file"])
        self.targets = []
        view = None
        for inner, spec in specs:
            code = getattr(inner, "__code__", None)
            if code is None or os.path.abspath(code.co_filename) != target_file:
                continue
            if self.lo <= code.co_firstlineno <= self.hi:
                self.targets.append(spec)
                view = inner
        if not self.targets:
            raise SkipTarget("no URL rule of the application has %s as its view" % self.t["qualname"])
        self.setups = [s for _, s in specs if set(s.methods) & {"POST", "PUT"}]
        node = find_def(parse_file(self.t["file"]), view.__name__, self.lo, self.hi)
        ns = getattr(view, "__globals__", {})
        self.check_safety(node, ns)
        self.setup_trace(view.__code__, node)
        self.gen = Gen(self.rng, self.callsites, ns)
        self.module_strs = self._module_strings(self.t["file"])
        self.view_name = view.__name__
        self.plateau = 80
        self.corpus = []
        self.corpus_keys = set()

    def _module_strings(self, path):
        """String constants compared against in the view's module: likely
        query values (`value.lower() in ("1", "true")`)."""
        out = []
        tree = parse_file(path)
        for n in ast.walk(tree) if tree else []:
            if isinstance(n, ast.Compare):
                for side in [n.left] + list(n.comparators):
                    for v in _consts_of(side):
                        if isinstance(v, str) and v not in out and len(out) < 30:
                            out.append(v)
        return out

    # -- requests ----------------------------------------------------------------

    def _value(self, tp, name, base):
        gen, rng = self.gen, self.rng
        ints = [x for x in gen.harvest if type(x) is int]
        strs = [x for x in gen.harvest if type(x) is str]
        if tp is int:
            if base:
                return ints[0] if ints else 1
            if ints and rng.random() < 0.6:
                return ints[rng.randrange(len(ints))]
            return rng.choice([1, 2, 3, 0, -1, 999])
        if tp is float:
            return 1.0 if base else rng.choice([1.0, 0.0, -1.0, 2.5, 100.0])
        if tp is bool:
            return True if base else rng.choice([True, False])
        if tp == "uuid":
            return "00000000-0000-0000-0000-000000000001"
        pool = gen._hinted(name) + self.module_strs + ["abc", "", "1", "0"]
        if base:
            return strs[0] if strs and name and "id" in name.lower() else pool[0]
        if strs and rng.random() < 0.3:
            return strs[rng.randrange(len(strs))]
        return pool[rng.randrange(len(pool))]

    def _body(self, spec, base):
        """The JSON body: a pydantic model's fields, or the keys the view reads."""
        rng, gen = self.rng, self.gen
        if spec.model is not None:
            ref = class_ref(spec.model) or (spec.model.__name__, None)
            ctor_spec = gen.ctor_spec(spec.model)
            if ctor_spec is None:
                return {}
            val = gen._ctor_from(spec.model, ref, ctor_spec, 0, "base" if base else "random",
                                 rng=None if base else rng)
            try:
                inst = val.build() if val is not None else None
            except Exception:
                inst = None
            if inst is None:
                return {}
            if hasattr(inst, "model_dump"):
                return inst.model_dump(mode="json", exclude_unset=True)
            return json.loads(inst.json(exclude_unset=True))
        facts = spec.json_facts
        if facts is None:
            return None
        keys = sorted(facts.keys.get(spec.json_var, {}).items())
        body = {}
        for k, (required, hint) in keys:
            vals = gen._key_values(k, hint, facts)
            if base:
                body[k] = vals[0]
                continue
            if rng.random() < (0.1 if required else 0.2):
                continue
            ints = [x for x in gen.harvest if type(x) is int]
            if ints and hint and hint[0] == "num" and rng.random() < 0.6:
                body[k] = ints[rng.randrange(len(ints))]
            else:
                body[k] = vals[rng.randrange(len(vals))]
        return body

    def draw(self, spec, base=False):
        rng = self.rng
        method = spec.methods[0] if base else spec.methods[rng.randrange(len(spec.methods))]
        path = {name: self._value(tp, name, base) for name, tp in spec.path_params}
        query = {}
        for name, tp, required in spec.query:
            if required or (not base and rng.random() < 0.6):
                query[name] = self._value(tp, name, base)
        body = self._body(spec, base) if method in _BODY_METHODS else None
        return {"method": method, "url": spec.url(path, query), "json": body}

    def plans(self):
        for spec in self.targets:
            yield Plan(self.draw(spec, base=True), None, [])
            for setup in self.setups:
                yield Plan(None, None, [[setup, None, None, ""]])
        rng = self.rng
        while True:
            if self.corpus and rng.random() < 0.6:
                steps = [list(s) for s in self.corpus[rng.randrange(len(self.corpus))]]
                if rng.random() < 0.7 and len(steps) < 6:
                    steps.append([self.setups[rng.randrange(len(self.setups))], None, None, ""])
            else:
                steps = [[self.setups[rng.randrange(len(self.setups))], None, None, ""]
                         for _ in range(rng.choice([0, 1, 1, 2]) if self.setups else 0)]
            yield Plan(None, None, steps)

    # -- running -----------------------------------------------------------------

    def _send(self, client, req):
        method = req["method"].lower()
        kwargs = {"json": req["json"]} if req["json"] is not None else {}
        resp = getattr(client, method)(req["url"], **kwargs)
        if self.framework == "flask":
            data = resp.get_json(silent=True) if resp.is_json else None
        else:
            ctype = resp.headers.get("content-type", "")
            try:
                data = resp.json() if "json" in ctype else None
            except ValueError:
                data = None
        return resp.status_code, data

    @contextlib.contextmanager
    def fresh_client(self, quiet_close):
        """A test client over a freshly imported application, built as the
        generated conftest builds it; the project's modules are restored
        after. After an exception (a timeout may leave the handler spinning
        in a worker thread) a FastAPI client is left open: closing it would
        wait for that thread forever."""
        saved = forget_project_modules()
        try:
            app = build_app(self.app_json)
            if self.framework == "flask":
                yield app.test_client()
                return
            from fastapi.testclient import TestClient
            closing = TestClient(app)
            client = closing.__enter__()
            yield client
            try:
                closing.__exit__(None, None, None)
            except Exception:
                if not quiet_close:
                    raise
        finally:
            restore_project_modules(saved)

    def run(self, plan):
        with self.fresh_client(quiet_close=True) as client:
            gen = self.gen
            gen.harvest = []
            done = []
            for spec, req, _, _ in plan.steps:
                if req is None:
                    req = self.draw(spec)
                try:
                    status, data = self._send(client, req)
                except Exception:
                    continue
                if status >= 400:
                    continue
                harvest_scalars(data, gen.harvest)
                done.append([spec, req, status, ""])
            if done and len(done) == len(plan.steps):
                key = "|".join("%s %s %r" % (s[1]["method"], s[1]["url"], s[1]["json"]) for s in done)
                if key not in self.corpus_keys and len(self.corpus) < 300:
                    self.corpus_keys.add(key)
                    self.corpus.append([list(s) for s in done])
            plan.steps = done
            if plan.args is None:
                spec = self.targets[self.rng.randrange(len(self.targets))]
                plan.args = self.draw(spec)
            value = exc = None
            with TRACER:
                try:
                    value = self._send(client, plan.args)
                except Exception as e:
                    exc = e
            out = Outcome("raise", exc=exc) if exc is not None else Outcome("return", value=value)
            out.traced()
            return out

    # -- rendering ---------------------------------------------------------------

    def outcome_sig(self, out):
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        return ("return", out.value[0], literal_src(out.value[1]) if out.value[1] is not None else None)

    def run_test(self, fn):
        """A route test gets a `client` built as the conftest builds it."""
        def body():
            with self.fresh_client(quiet_close=False) as client:
                fn(client)
        status, _ = GUARD.run(body, self.call_timeout * 2, not self.allow_unsafe)
        self.calls += 1
        return status == "ok"

    def request_src(self, req):
        args = [repr(req["url"])]
        if req["json"] is not None:
            args.append("json=%s" % literal_src(req["json"]))
        return "client.%s(%s)" % (req["method"].lower(), ", ".join(args))

    def render(self, plan, out, again, used):
        body = []
        imports = set()
        for _, req, status, _ in plan.steps:
            body.append("assert %s.status_code == %d" % (self.request_src(req), status))
        call = self.request_src(plan.args)
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, call)
            imports |= imps
            body += lines
            words = "raises_" + snake(type(out.exc).__name__)
        else:
            status, data = out.value
            body.append("response = %s" % call)
            body.append("assert response.status_code == %d" % status)
            if data is not None and again.value[1] == data:
                src = literal_src(data)
                if len(src) <= 1500:
                    getter = "response.get_json()" if self.framework == "flask" else "response.json()"
                    body.append("assert %s == %s" % (getter, src))
            words = "returns_%d" % status
        cond = trim_words(self.decisions.last(out.order))
        base = "test_%s_%s" % (self.view_name.strip("_") or "view", words)
        if cond:
            base += "_when_" + cond
        name = unique_name(base, used)
        src = "def %s(client):\n%s\n" % (name, "\n".join("    " + ln for ln in body))
        return {"name": name, "source": src, "imports": sorted(imports), "fixtures": ["client"]}


# ---------------------------------------------------------------------------
# find_app and the generated conftest
# ---------------------------------------------------------------------------

_FACTORY_NAMES = ("create_app", "make_app", "build_app", "app_factory", "get_app", "create_application",
                  "application_factory", "init_app")


def handle_find_app(req):
    fw = req.get("framework")
    modules = list(req.get("modules") or [])
    if fw == "django":
        django_setup()
        if not DJANGO.settings_module:
            return {"status": "skipped", "reason": "no Django settings module found (%s, pytest's ini "
                    "options, manage.py)" % _DSM}
        return {"status": "ok", "app": {"framework": "django", "settings": DJANGO.settings_module},
                "conftest": django_conftest_source(DJANGO.settings_module)}
    if fw not in ("flask", "fastapi"):
        return {"status": "skipped", "reason": "unknown framework %r" % fw}
    cls_name = "Flask" if fw == "flask" else "FastAPI"
    status, mod = GUARD.run(lambda: __import__(fw), 30.0, False)
    if status != "ok":
        return {"status": "skipped", "reason": "%s is not importable in the project's interpreter" % fw}
    app_cls = getattr(mod, cls_name)
    saved = forget_project_modules()
    errors = []
    found = None
    try:
        factories = []
        for m in modules:
            status, module = GUARD.run(lambda: __import__(m) and sys.modules[m], 30.0, False)
            if status != "ok":
                errors.append("%s: %s" % (m, last_line(module) if isinstance(module, BaseException) else status))
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
                    status, app = GUARD.run(lambda: eval(expr, ns), 30.0, False)
                    if status == "ok" and isinstance(app, app_cls):
                        found = {"framework": fw, "import": "from %s import %s" % (m, name), "expr": expr}
                        break
                if found:
                    break
    finally:
        restore_project_modules(saved)
    if found is None:
        why = "no %s instance or factory in %s" % (cls_name, ", ".join(modules) or "any module")
        if errors:
            why += " (import errors: %s)" % "; ".join(errors)
        return {"status": "skipped", "reason": why}
    return {"status": "ok", "app": found, "conftest": conftest_source(found)}


_CONFTEST = '''"""The `client` fixture of the generated route tests: the real application,
imported afresh for each test (the project's modules are put aside before
and restored after), so module-level state never leaks between tests."""

import os
import sys

import pytest

# This file is <python root>/tests/generated/conftest.py.
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_NOT_PROJECT = {"site-packages", "dist-packages", "node_modules", "__pycache__", "venv", "env"}


def _is_project_module(module):
    path = getattr(module, "__file__", None)
    if not path:
        paths = list(getattr(module, "__path__", None) or [])
        path = paths[0] if paths else None
    if not path:
        return False
    path = os.path.abspath(path)
    if not path.startswith(_ROOT + os.sep):
        return False
    parts = os.path.relpath(path, _ROOT).split(os.sep)
    if any(p in _NOT_PROJECT or p.startswith(".") for p in parts[:-1]):
        return False
    base = parts[-1]
    return not (base == "conftest.py" or base.startswith("test_") or base.endswith("_test.py"))


def _put_aside():
    saved = {n: m for n, m in list(sys.modules.items()) if m is not None and _is_project_module(m)}
    for name in saved:
        del sys.modules[name]
    return saved


def _restore(saved):
    for name, module in list(sys.modules.items()):
        if module is not None and _is_project_module(module):
            del sys.modules[name]
    sys.modules.update(saved)


@pytest.fixture
def client():
    saved = _put_aside()
    try:
%(body)s
    finally:
        _restore(saved)
'''


def conftest_source(app):
    if app["framework"] == "flask":
        body = ["%s" % app["import"],
                "app = %s" % app["expr"],
                "app.testing = True",
                "yield app.test_client()"]
    else:
        body = ["from fastapi.testclient import TestClient",
                "",
                "%s" % app["import"],
                "with TestClient(%s) as test_client:" % app["expr"],
                "    yield test_client"]
    return _CONFTEST % {"body": "\n".join(("        " + ln) if ln else "" for ln in body)}


_DJANGO_CONFTEST = '''"""Django for the generated tests. Configured here only when nothing did it
before (the project's own conftest, pytest-django), the way the project does:
settings %(settings)r, a file sqlite database replaced by an in-memory one
with its tables created, so tests never write to the project's database.
Without pytest-django, `db` runs a test in a transaction rolled back after it."""

import os
import sys

import pytest

_SETTINGS = %(settings)r
_PYTEST_DJANGO = "pytest_django" in sys.modules


def _setup():
    import django
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", _SETTINGS)
    if _PYTEST_DJANGO:
        django.setup()  # pytest-django's test database does the rest
        return
    from django.conf import settings

    memory = []
    for alias, db in settings.DATABASES.items():
        if db.get("ENGINE") == "django.db.backends.sqlite3":
            name = str(db.get("NAME") or "")
            if name not in ("", ":memory:") and "mode=memory" not in name:
                db["NAME"] = ":memory:"
            memory.append(alias)
    django.setup()
    from django.core.management import call_command

    for alias in memory:
        call_command("migrate", run_syncdb=True, verbosity=0, interactive=False, database=alias)


_setup()

if not _PYTEST_DJANGO:

    @pytest.fixture
    def db():
        from contextlib import ExitStack

        from django.conf import settings
        from django.db import transaction

        aliases = [a for a, d in settings.DATABASES.items() if d.get("ENGINE") == "django.db.backends.sqlite3"]
        with ExitStack() as stack:
            for alias in aliases:
                stack.enter_context(transaction.atomic(using=alias))
            yield
            for alias in aliases:
                transaction.set_rollback(True, using=alias)
'''


def django_conftest_source(settings_module):
    return _DJANGO_CONFTEST % {"settings": settings_module}


# ---------------------------------------------------------------------------
# Requests
# ---------------------------------------------------------------------------

ARGS = None
CALLSITES = None


def handle_explore(req):
    started = time.monotonic()
    _EVAL_NS_CACHE.clear()  # the project's modules are imported afresh
    kind = req.get("target", {}).get("kind")
    try:
        if kind == "route":
            explorer = RouteExplorer(req, CALLSITES)
        elif kind in ("function", "method"):
            explorer = CallableExplorer(req, CALLSITES)
        else:
            raise SkipTarget("unknown target kind %r" % kind)
        resp = explorer.explore()
    except SkipTarget as e:
        resp = {"status": "skipped", "reason": str(e), "calls": 0, "tests": []}
    resp["elapsed_s"] = round(time.monotonic() - started, 3)
    return resp


def handle(req):
    op = req.get("op")
    if op == "explore":
        resp = handle_explore(req)
    elif op == "find_app":
        resp = handle_find_app(req)
    else:
        resp = {"status": "error", "reason": "unknown op %r" % op}
    out = {"id": req.get("id")}
    out.update(resp)
    return out


def main(argv=None):
    global ARGS, ROOT, CALLSITES
    parser = argparse.ArgumentParser(description="testgen explore harness")
    parser.add_argument("--root", required=True)
    parser.add_argument("--sys-path", action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    ARGS = parser.parse_args(argv)
    ROOT = os.path.abspath(ARGS.root)
    _take_protocol_fds()
    # The script's own directory must not shadow the project's modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    for p in reversed(ARGS.sys_path or [ROOT]):
        sys.path.insert(0, os.path.abspath(p))
    sys.dont_write_bytecode = True
    GUARD.install()
    threading.settrace(_thread_trace)
    CALLSITES = CallSites(ROOT)
    send({"ready": True, "python": platform.python_version(), "harness": PROTOCOL})
    for line in _PROTO_IN:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            send({"id": None, "status": "error", "reason": "bad request: %s" % e})
            continue
        if req.get("op") == "shutdown":
            break
        try:
            resp = handle(req)
        except BaseException as e:  # a harness bug must not lose the protocol
            traceback.print_exc()
            resp = {"id": req.get("id"), "status": "error", "reason": last_line(e), "tests": []}
        send(resp)
    _PROTO_OUT.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
