"""Rendering: expected values as source (checked by evaluating them back),
the assertions on a call's result or exception, and the small rewrites of
a rendered test (async and generator calls, the Django `db` fixture)."""

import dataclasses
import enum
import inspect
import math
import os
import re
import sys
import tempfile

from .typehints import NoneType, is_pydantic, pydantic_fields
from .values import class_ref, float_src


def _namespace_for(cache, imports):
    ns = {}
    for line in sorted(imports):
        if line not in cache:
            d = {}
            try:
                exec(line, d)
            except Exception:
                d = None
            cache[line] = d
        d = cache[line]
        if d is None:
            return None
        ns.update({k: v for k, v in d.items() if k != "__builtins__"})
    return ns


def obj_src(ctx, v, depth=0):
    """(source, imports) that evaluates back to a value equal to v, or None."""
    if depth > 6:
        return None
    if isinstance(v, enum.Enum):  # before str/int: `class Status(str, Enum)`
        ref = class_ref(type(v))
        if not ref:
            return None
        return "%s.%s" % (ref[0], v.name), set([ref[1]] if ref[1] else [])
    if isinstance(v, int) and not isinstance(v, bool) and v in process_ids():
        return None
    if v is None or isinstance(v, (bool, int)):
        return repr(v), set()
    if isinstance(v, float):
        return (repr(v), set()) if math.isfinite(v) else None
    if isinstance(v, (str, bytes)):
        return (repr(v), set()) if len(v) <= 2000 and not machine_specific(ctx.root, v) else None
    t = type(v)
    if t in (list, tuple, set, frozenset):
        if len(v) > 50:
            return None
        parts, imps = [], set()
        for x in v:
            r = obj_src(ctx, x, depth + 1)
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
            rk, rx = obj_src(ctx, k, depth + 1), obj_src(ctx, x, depth + 1)
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
        r = obj_src(ctx, x, depth + 1)
        if r is None:
            return None
        parts.append("%s=%s" % (name, r[0]))
        imps |= r[1]
    return "%s(%s)" % (ref[0], ", ".join(parts)), imps


def machine_specific(root, v):
    """Whether a value names this machine's paths (the project root, the
    temp cwd, the home directory) or looks like a credential: never
    asserted, the tests would break in a copy of the project or on another
    machine, or put a secret into the repository."""
    if isinstance(v, bytes):
        v = v.decode("latin-1")
    places = [root, os.getcwd(), os.path.expanduser("~"), tempfile.gettempdir()]
    return any(p and len(p) > 1 and p in v for p in places) or looks_secret(v)


def process_ids():
    """This process's id and its parent's: a value equal to one is the
    run's, never asserted (the next run has other ids). Ids below 300 are
    left out: small numbers are more often a result than a process."""
    return {p for p in (os.getpid(), os.getppid()) if p >= 300}


# Well-known key formats (the Rust side checks every written test again,
# also against the values of testgen's own environment).
_SECRET_SHAPES = re.compile(
    r"(sk-[A-Za-z0-9_-]{20,}|gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,}"
    r"|xox[abpr]-[A-Za-z0-9-]{20,}|A[KS]IA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,})")


def looks_secret(v):
    return any(any(c.isdigit() for c in m.group(0)) for m in _SECRET_SHAPES.finditer(v))


def verified_src(ctx, v):
    """obj_src, checked by evaluating it: it must give back an equal value of
    the same type (so `1 == 1.0` or a misleading repr can never slip in)."""
    r = obj_src(ctx, v)
    if r is None:
        return None
    src, imps = r
    if type(v) in (bool, int, str, bytes, NoneType):
        return r
    ns = _namespace_for(ctx.eval_namespaces, imps)
    if ns is None:
        return None
    try:
        back = eval(src, ns)
        if type(back) is not type(v) or not (back == v):
            return None
    except Exception:
        return None
    return r


def assertion_lines(ctx, call, value):
    """Statements asserting what `call` returned (and their imports)."""
    if value is None:
        return ["assert %s is None" % call], set()
    if isinstance(value, bool):
        return ["assert %s is %r" % (call, value)], set()
    if isinstance(value, float):
        if math.isnan(value):
            return ["assert math.isnan(%s)" % call], {"import math"}
        if math.isinf(value):
            return ["assert %s == %s" % (call, float_src(value))], set()
        return ["assert %s == pytest.approx(%r)" % (call, value)], {"import pytest"}
    r = verified_src(ctx, value)
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
        attrs = vars(value) if ctx.is_project_file(getattr(sys.modules.get(type(value).__module__), "__file__", None)) else {}
    except TypeError:
        attrs = {}
    n = 0
    for k in sorted(attrs):
        if k.startswith("_") or n >= 6:
            continue
        rv = verified_src(ctx, attrs[k]) if not isinstance(attrs[k], float) else (repr(attrs[k]), set())
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
