"""Project objects for parameters whose use says what they must be: the
project's classes that have the attributes and methods the body reads,
built through their constructor or, when it refuses, a factory
(`Cls.of(...)`, `Cls.from_*`, `create`, `build`, `parse`, `make`); and
the reason an object could not be built, for the target's report."""

import ast
import copy
import dataclasses
import inspect
import re
import sys
import typing

from .contract import broken_use, fits, uses
from .source import STR_METHODS, find_def
from .protocol import last_line
from .typeforms import dataclass_pool, type_of_typevar, typeform_pool
from .values import OMIT, ExprVal, Lit, class_ref

_FUNCTION_ATTRS = set(dir(lambda: None))
_FACTORY = re.compile(r"^(of|from_\w+|create\w*|build\w*|parse\w*|make\w*|new)$")


class Builders:
    """Per request: the project's classes, what each has, and why a class
    could not be built."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._classes = None
        self._attrs = {}
        self.errors = {}   # class -> why no instance could be built
        self._init_uses = {}
        self._assigned_by_file = {}

    def project_classes(self):
        """Classes defined in the project's imported modules, in a stable order."""
        if self._classes is None:
            out = []
            for name, mod in sorted(sys.modules.items()):
                path = getattr(mod, "__file__", None)
                if not path or not self.ctx.is_project_file(path):
                    continue
                for obj in list(vars(mod).values()):
                    if isinstance(obj, type) and obj.__module__ == name and not issubclass(obj, BaseException):
                        out.append(obj)
            self._classes = sorted(set(out), key=lambda c: (c.__module__, c.__qualname__))
        return self._classes

    def attrs_of(self, cls):
        """Names an instance has: class members, annotated and dataclass
        fields, slots, and `self.X = ...` of its methods."""
        if cls in self._attrs:
            return self._attrs[cls]
        names = set(dir(cls))
        for klass in cls.__mro__:
            names |= set(getattr(klass, "__annotations__", {}) or {})
            slots = getattr(klass, "__slots__", ())
            names |= {slots} if isinstance(slots, str) else set(slots or ())
            names |= self._assigned(klass)
        if dataclasses.is_dataclass(cls):
            names |= {f.name for f in dataclasses.fields(cls)}
        self._attrs[cls] = names
        return names

    def _assigned(self, klass):
        mod = sys.modules.get(getattr(klass, "__module__", "") or "")
        path = getattr(mod, "__file__", None)
        if not path:
            return set()
        if path not in self._assigned_by_file:
            self._assigned_by_file[path] = _self_attributes(self.ctx.parse(path))
        return self._assigned_by_file[path].get(klass.__name__, set())

    def classes_for(self, use, ann=None, namespace=None):
        """Project classes with every attribute and method the use reads,
        those of the target's module first."""
        need = use.attrs | use.methods
        if not need:
            return []
        home = (namespace or {}).get("__name__")
        found = [c for c in self.project_classes() if need <= self.attrs_of(c)
                 and not inspect.isabstract(c) and class_ref(c) is not None]
        found.sort(key=lambda c: (c.__module__ != home, len(self.attrs_of(c)), c.__qualname__))
        return found[:3]

    def init_uses(self, cls):
        """{param: Use} of the class's own `__init__` (its fields' contract)."""
        if cls in self._init_uses:
            return self._init_uses[cls]
        self._init_uses[cls] = {}
        init = inspect.unwrap(getattr(cls, "__init__", None))
        code = getattr(init, "__code__", None)
        tree = self.ctx.parse(code.co_filename) if code is not None else None
        if tree is not None:
            node = find_def(tree, "__init__", code.co_firstlineno, code.co_firstlineno + 20)
            if node is not None:
                a = node.args
                names = {x.arg for x in a.posonlyargs + a.args + a.kwonlyargs}
                self._init_uses[cls] = uses(node, names)
        return self._init_uses[cls]

    def field_pool(self, gen, cls, name, ann, optional, pool):
        """A constructor argument's pool ordered by the constructor's use of it."""
        use = self.init_uses(cls).get(name)
        if use is None or not use.shaped():
            return pool
        from .execution import Param
        param = Param(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, ann, optional)
        return contract_order(gen, param, use, pool) or pool

    def note(self, cls, why):
        self.errors.setdefault(cls, why)

    def why_not(self, cls, gen):
        """Why no instance of a class could be built (a sentence)."""
        if cls in self.errors:
            return "could not build a `%s`: %s" % (cls.__name__, self.errors[cls])
        spec = gen.ctor_spec(cls)
        if spec is None:
            return "could not build a `%s`: no usable constructor signature" % cls.__name__
        ref = class_ref(cls) or (cls.__name__, None)
        val = gen._ctor_from(cls, ref, spec, 0, "base")
        if val is None:
            return "could not build a `%s`: no constructor arguments validate" % cls.__name__
        status, res = self.ctx.guard.run(val.build, 2.0, True)
        if status == "raise":
            return "could not build a `%s`: its constructor raised %s" % (cls.__name__, last_line(res))
        return "could not build a `%s`: its constructor %s" % (cls.__name__, status)


def _self_attributes(tree):
    """{class name: names its methods assign on `self`} of a module."""
    out = {}
    if tree is None:
        return out
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            names = out.setdefault(node.name, set())
            for n in ast.walk(node):
                if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Store) \
                        and isinstance(n.value, ast.Name) and n.value.id == "self":
                    names.add(n.attr)
    return out


def factory_vals(gen, cls, ref, depth):
    """Instances from a class's factory classmethods and staticmethods,
    those whose result is an instance of the class."""
    from .execution import Callee
    from .source import FunctionFacts
    out = []
    for name, raw in sorted(vars(cls).items()):
        if not _FACTORY.match(name) or not isinstance(raw, (classmethod, staticmethod)):
            continue
        func = raw.__func__
        callee = Callee(func, gen, FunctionFacts(None, gen.namespace), drop_first=isinstance(raw, classmethod))
        tries = [callee.base_args()] + list(callee.variations())[:6]
        for args in tries:
            val = _factory_val(cls, ref, name, callee, args)
            status, res = gen.guard.run(val.build, 1.0, True)
            if status == "ok" and isinstance(res, cls):
                out.append(val)
                if len(out) >= 3:
                    return out
            elif status == "raise" and gen.builders is not None:
                gen.builders.note(cls, "its factory %s.%s raised %s" % (cls.__name__, name, last_line(res)))
    return out


def module_instances(gen, cls):
    """Copies of the instances of a class that its own module keeps at
    module level (`settings = Settings(DEFAULTS)`): the state the project
    itself builds, when its constructor cannot be called from outside. A
    copy, so no test changes the module's object for the next."""
    mod = sys.modules.get(getattr(cls, "__module__", "") or "")
    out = []
    for name, obj in sorted(vars(mod).items()) if mod is not None else []:
        if type(obj) is not cls or name.startswith("__"):
            continue
        val = ExprVal("copy.deepcopy(%s)" % name, lambda obj=obj: copy.deepcopy(obj),
                      ["import copy", "from %s import %s" % (cls.__module__, name)])
        if gen.guard.run(val.build, 1.0, True)[0] == "ok":
            out.append(val)
        if len(out) >= 2:
            break
    return out


def _factory_val(cls, ref, name, callee, args):
    src = "%s.%s(%s)" % (ref[0], name, callee.render(args))

    def build():
        a, k = callee.build(args)
        return getattr(cls, name)(*a, **k)

    return ExprVal(src, build, set([ref[1]] if ref[1] else []) | callee.imports(args))


def static_breach(param, use, val):
    """Whether a pool value breaks its parameter's contract, judged without
    running project code: True, False, or None when it cannot be told."""
    if val is OMIT:
        return False
    if use is not None and use.dataclass and isinstance(getattr(val, "cls", None), type):
        return not dataclasses.is_dataclass(val.cls)
    if isinstance(val, Lit):
        v = val.value
        if v is None and param.has_default:
            return False
        if not fits(param.ann, v):
            return True
        return broken_use(use, v) is not None
    return None


def _untyped(ann):
    return ann is None or ann is inspect.Parameter.empty or ann is object or isinstance(ann, str) \
        or getattr(ann, "_name", None) == "Any" or repr(ann) == "typing.Any"


def project_objects(gen, param, use):
    """Values of project classes that have what the use reads: instances
    for `p.amount`, lists of them for `for e in p: e.amount`."""
    if gen.builders is None or use is None or use.rebound:
        return []
    if use.dataclass:
        a_type = typing.get_origin(param.ann) is type
        base = typing.get_args(param.ann)[0] if a_type else None
        if isinstance(base, typing.TypeVar):
            base = type_of_typevar(base, gen.namespace)
        return dataclass_pool(gen, base if isinstance(base, type) and base is not object else None,
                              instances=not a_type)
    if not _untyped(param.ann):
        return []
    from .values import SeqVal
    if use.typeform:
        return typeform_pool()
    if use.attrs or use.methods:
        out = []
        for cls in gen.builders.classes_for(use, param.ann, gen.namespace):
            out += hinted_ctors(gen, cls, use) + gen.class_pool(cls, 1)[:4]
        if not out and (use.attrs | use.methods) <= _FUNCTION_ATTRS:
            # `func.__get__(obj)`, `f.__name__`: a plain function keeps it
            out.append(ExprVal("lambda *args, **kwargs: args[0] if args else None",
                               lambda: (lambda *a, **k: a[0] if a else None)))
        if not out and use.attrs and not use.methods:
            out += namespace_vals(gen, use)
        return out
    if use.elem is not None and (use.elem.attrs or use.elem.methods):
        items = []
        for cls in gen.builders.classes_for(use.elem, None, gen.namespace):
            items += hinted_ctors(gen, cls, use.elem)[:2] + gen.class_pool(cls, 1)[:3]
        if not items:
            return []
        return [SeqVal("list", items[:1]), SeqVal("list", items[:3]), Lit([])]
    return []


def namespace_vals(gen, use):
    """An object with just the attributes the body reads (`options.select`,
    an argparse Namespace no project class describes), each of the kind its
    use asks for: the plainest, then one attribute at a time varied."""
    names = sorted(a for a in use.attrs if a.isidentifier() and not a.startswith("__"))
    if not names or len(names) > 12:
        return []
    pools = []
    for name in names:
        field = use.fields.get(name)
        tp = _field_type(field)
        if tp is None and field is not None and (field.iterated or field.sized):
            pool = [Lit(["abc"]), Lit([]), Lit(["abc", "xyz"])]
        else:
            pool = gen.prim_pool(tp or str, None, name)[:3]
        pools.append(pool or [Lit(None)])
    out = []
    for vary in [None] + [(i, j) for j in (1, 2) for i in range(len(names))]:
        idx = [0] * len(names)
        if vary is not None:
            if vary[1] >= len(pools[vary[0]]):
                continue
            idx[vary[0]] = vary[1]
        out.append(_namespace_val(names, [pools[i][k] for i, k in enumerate(idx)]))
        if len(out) >= 6:
            break
    return out


def _namespace_val(names, vals):
    src = "types.SimpleNamespace(%s)" % ", ".join("%s=%s" % (n, v.src) for n, v in zip(names, vals))
    imports = {"import types"}
    for v in vals:
        imports |= v.imports

    def build():
        import types
        return types.SimpleNamespace(**{n: v.build() for n, v in zip(names, vals)})

    return ExprVal(src, build, imports)


def contract_order(gen, param, use, vals):
    """A parameter's pool with the values that keep its contract first,
    project objects built for its use before them, and values that break
    it left out when the body does not check the shape itself (and
    something else is left to pass)."""
    if use is None:
        return vals
    made = project_objects(gen, param, use)
    head = [v for v in vals if v is OMIT]
    good, broken = list(made), []
    for v in vals:
        if v is not OMIT:
            (broken if static_breach(param, use, v) else good).append(v)
    if broken and (use.guarded or not good):
        good += broken
    return head + good


def _field_type(use):
    """The primitive type an attribute's use asks for (None: any)."""
    if use is None or use.guarded:
        return None
    if use.number:
        return int
    if use.numstr or (use.methods and use.methods <= STR_METHODS):
        return str
    return None


def hinted_ctors(gen, cls, use):
    """Instances whose constructor arguments named like the attributes the
    use reads get values of the kind that use wants (`e.amount < 0`: an
    int for `amount`), the base one then each such field varied."""
    spec = gen.ctor_spec(cls)
    ref = class_ref(cls)
    if not spec or ref is None:
        return []
    pools, hinted = [], []
    for i, (name, ann, required, _) in enumerate(spec):
        tp = _field_type(use.fields.get(name)) if _untyped(ann) else None
        if tp is not None:
            pools.append(gen.prim_pool(tp, None, name) or [Lit(None)])
            hinted.append(i)
            continue
        pool = gen.pool(ann, None, name, 2) or [Lit(None)]
        pools.append(pool if required else [OMIT] + pool)
    if not hinted:
        return []
    modes = [None] + [(i, j) for j in (1, 2, 3) for i in hinted]
    out = []
    for mode in modes:
        idx = [0] * len(pools)
        if mode is not None:
            if mode[1] >= len(pools[mode[0]]):
                continue
            idx[mode[0]] = mode[1]
        val = gen._make_ctor(cls, ref, spec, pools, idx)
        if gen._constructs(val):
            out.append(val)
    return out
