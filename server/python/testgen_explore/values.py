"""Values: each generated argument knows how to build a fresh object and how
to write itself as source, with the imports that source needs."""

import builtins
import copy
import enum
import math
import sys


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


def float_src(v):
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
        return float_src(v)
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
