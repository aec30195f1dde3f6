"""FastAPI's `Depends(...)`: which dependencies of a route cannot run in a
test (they fail on every request the search sends: a token checked against
a secret the test has not got, a database that is not there), values of
their type put in `app.dependency_overrides` instead, and the source of
those overrides in a generated test."""

import collections
import inspect
import sys
import typing
import collections.abc as cabc

from ..typehints import NoneType, type_hints

_GENERATORS = (cabc.Iterator, cabc.Generator, cabc.Iterable, cabc.AsyncIterator, cabc.AsyncGenerator,
               cabc.AsyncIterable)
_NO_TYPE = (None, inspect.Parameter.empty, typing.Any, object)


def _locate(call, owner):
    """(module, name) by which `call` is importable, or None: a module-level
    function or class, else a module-level instance (a security scheme such
    as `oauth2_scheme`) of the endpoint's module."""
    mod, qual = getattr(call, "__module__", None), getattr(call, "__qualname__", None)
    if (inspect.isfunction(call) or isinstance(call, type)) and mod and qual and "." not in qual:
        if getattr(sys.modules.get(mod), qual, None) is call:
            return mod, qual
    ns = getattr(owner, "__globals__", None) or {}
    for name, value in sorted(ns.items()):
        if value is call and not name.startswith("__"):
            return ns.get("__name__"), name
    return None


def _value_type(call, ann):
    """The type of what the dependency gives: the parameter's annotation,
    else the dependency's return annotation (a generator's item type), else
    the class itself for a class dependency."""
    if ann not in _NO_TYPE:
        return ann
    if isinstance(call, type):
        return call
    func = call if inspect.isfunction(call) else getattr(type(call), "__call__", None)
    ret = type_hints(func).get("return") if func is not None else None
    if typing.get_origin(ret) in _GENERATORS:
        args = typing.get_args(ret)
        ret = args[0] if args else None
    return None if ret in _NO_TYPE else ret


def _code_of(call):
    if inspect.isfunction(call):
        return getattr(inspect.unwrap(call), "__code__", None)
    if isinstance(call, type):
        return getattr(getattr(call, "__init__", None), "__code__", None)
    return getattr(getattr(type(call), "__call__", None), "__code__", None)


class Dependency:
    """One dependency of a route: the callable, where it is importable from
    (the key of an override must be the freshly imported module's object),
    the type of its value (None: not overridable), the endpoint parameter."""

    def __init__(self, call, where, ann, param):
        self.call = call
        self.where = where
        self.ann = ann
        self.param = param

    @classmethod
    def of(cls, call, ann, param, owner):
        where = _locate(call, owner)
        return cls(call, where, _value_type(call, ann) if where else None, param)

    @property
    def label(self):
        return "%s.%s" % self.where if self.where else repr(self.call)

    def overridable(self):
        return self.where is not None and self.ann is not None

    def resolve(self):
        """The dependency as the application imported afresh knows it."""
        if self.where is None:
            return self.call
        return getattr(sys.modules.get(self.where[0]), self.where[1], None) or self.call

    def fresh_ann(self):
        """The value's class as the application imported afresh knows it
        (a project class is importable by name only from the module now in
        sys.modules)."""
        ann = self.ann
        mod, qual = getattr(ann, "__module__", None), getattr(ann, "__qualname__", None)
        if isinstance(ann, type) and mod in sys.modules and qual and "<locals>" not in qual:
            obj = sys.modules[mod]
            for part in qual.split("."):
                obj = getattr(obj, part, None)
            if isinstance(obj, type):
                return obj
        return ann

    def code(self):
        return _code_of(self.resolve())


class Overrides:
    """The dependency overrides of one plan: [(Dependency, Val)], by label."""

    def __init__(self, items=()):
        self.items = sorted(items, key=lambda dv: dv[0].label)

    def key(self):
        return ";".join("%s=%s" % (d.label, v.src) for d, v in self.items)

    def labels(self):
        return {d.label for d, _ in self.items}

    def apply(self, app):
        overrides = getattr(app, "dependency_overrides", None)
        if overrides is None:
            return
        for dep, val in self.items:
            overrides[dep.resolve()] = (lambda v=val: v.build())

    def wrap(self, body, client="client"):
        """The test's lines around `body`: the dependencies' modules imported
        inside the test (the `client` fixture imports the application afresh:
        the key must be its function), overrides set, restored after."""
        if not self.items:
            return body
        names = collections.defaultdict(set)
        other = set()
        for dep, val in self.items:
            names[dep.where[0]].add(dep.where[1])
            for line in val.imports:
                parts = line.split()
                if len(parts) == 4 and parts[0] == "from" and parts[2] == "import" and "," not in line:
                    names[parts[1]].add(parts[3])
                else:
                    other.add(line)
        lines = ["# imported here, after the `%s` fixture imported the application afresh" % client]
        lines += sorted(other) + ["from %s import %s" % (m, ", ".join(sorted(n))) for m, n in sorted(names.items())]
        lines.append("")
        for dep, val in self.items:
            lines.append("%s.app.dependency_overrides[%s] = lambda: %s" % (client, dep.where[1], val.src))
        lines.append("try:")
        lines += ["    " + ln for ln in body]
        lines.append("finally:")
        for dep, _ in self.items:
            lines.append("    %s.app.dependency_overrides.pop(%s, None)" % (client, dep.where[1]))
        return lines


class DependencyPolicy:
    """Which dependencies to override, learnt from the requests sent with
    each as it is: one that returned at least once stays as it is (its
    inputs reach the route); one that failed twice (raised, or never ran
    while an earlier one failed) on requests FastAPI did not reject as
    invalid, and never returned, is overridden in most later plans."""

    def __init__(self):
        self.returned = collections.Counter()
        self.failed = collections.Counter()

    def chance(self, dep):
        if not dep.overridable() or self.returned[dep.label]:
            return 0.0
        return 0.85 if self.failed[dep.label] >= 2 else 0.0

    def observe(self, deps, overridden, returned, raised, status):
        """After a request: `deps` in the order FastAPI solves them,
        `returned`/`raised` the labels the tracer saw end so."""
        for dep in deps:
            if dep.label in overridden:
                continue
            if dep.label in returned and dep.label not in raised:
                self.returned[dep.label] += 1
                continue
            if status != 422:
                self.failed[dep.label] += 1
            return

    def draw(self, rng, gen, deps):
        """The overrides of one plan, each dependency drawn on its chance."""
        items = []
        seen = set()
        for dep in deps:
            if dep.label in seen:
                continue
            seen.add(dep.label)
            p = self.chance(dep)
            if p and rng.random() < p:
                if dep.ann is NoneType:
                    from ..values import Lit
                    val = Lit(None)
                else:
                    val = gen.random_val(dep.fresh_ann(), None, dep.param)
                items.append((dep, val))
        return Overrides(items)
