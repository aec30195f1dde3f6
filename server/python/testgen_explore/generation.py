"""Value generation: ordered pools of candidate values for an annotation
(the first the most typical) and random draws, guided by what the function's
source says (FunctionFacts), the project's call sites and values harvested
from earlier setup calls."""

import ast
import collections.abc as cabc
import dataclasses
import enum
import inspect
import itertools
import math
import re
import typing

from .astnodes import node_pool
from .builders import factory_vals, module_instances
from .inputs import structured_ints, structured_strings
from .paths import PathVal, is_path_name
from .source import dotted, literal_value, resolve
from .typeforms import sample_dataclass, type_of_typevar
from .typehints import NoneType, UNION_TYPES, eval_annotation, is_pydantic, pydantic_fields, type_hints
from .values import OMIT, CtorVal, EnumVal, ExprVal, Lit, SeqVal, as_val, class_ref

KW_ONLY = inspect.Parameter.KEYWORD_ONLY


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


def subclasses_of(cls):
    """Subclasses (transitively) from the same top-level package, by name."""
    top = (getattr(cls, "__module__", "") or "").split(".")[0]
    if not top or top in ("builtins", "typing", "abc", "enum"):
        return []
    seen, stack, out = set(), [cls], []
    while stack:
        c = stack.pop()
        try:
            subs = c.__subclasses__()
        except TypeError:
            continue
        for sub in subs:
            if sub in seen:
                continue
            seen.add(sub)
            stack.append(sub)
            if (sub.__module__ or "").split(".")[0] == top and "<locals>" not in sub.__qualname__:
                out.append(sub)
    return sorted(out, key=lambda c: (c.__module__, c.__qualname__))


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

    def __init__(self, rng, callsites, namespace, guard):
        self.rng = rng
        self.guard = guard
        self.callsites = callsites
        self.namespace = namespace
        self.harvest = []          # scalars seen in earlier setup calls/responses
        self.default_facts = None  # the target's facts, for nested values
        self._pool_cache = {}
        self._ctor_cache = {}
        self._structured = {}
        # The project's classes by what they have, and why one could not be
        # built (builders.py); set by the explorer that has a context.
        self.builders = None

    # -- primitives ---------------------------------------------------------

    def _hinted(self, name):
        out = []
        low = (name or "").lower()
        for keys, vals in _NAME_HINTS:
            if any(k in low for k in keys):
                out += vals
        return out

    def structured(self, facts):
        """(strings, ints) derived from the function's regexes and checks
        (inputs.py), once per function."""
        if facts is None or facts.node is None:
            return [], []
        key = id(facts.node)
        if key not in self._structured:
            try:
                self._structured[key] = (structured_strings(facts.node, facts.namespace),
                                         structured_ints(facts.node))
            except Exception:  # an odd pattern must not end the search
                self._structured[key] = ([], [])
        return self._structured[key]

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
        s_strs, s_ints = self.structured(facts or self.default_facts)
        if tp is int:
            vals = [_INT_POOL[0]] + [int(v) for v in pc + gc if isinstance(v, (int, float)) and not isinstance(v, bool)
                                     and math.isfinite(v)] + _INT_POOL + s_ints
            vals += [int(x) for x in self.harvest if isinstance(x, int)][:6]
            return _dedup((Lit(v) for v in vals), limit=30)
        if tp is float:
            vals = [_FLOAT_POOL[0]] + [float(v) for v in pc + gc if isinstance(v, (int, float)) and not isinstance(v, bool)] + _FLOAT_POOL
            return _dedup(Lit(v) for v in vals)
        if tp is str:
            hinted = self._hinted(name)
            lens = ["x" * n for n in (facts.len_consts.get(name, []) if facts and name else []) if 0 <= n <= 200]
            vals = hinted + [_STR_POOL[0]] + [v for v in pc if isinstance(v, str)] + s_strs[:12] + lens
            vals += [v for v in gc if isinstance(v, str)] + _STR_POOL
            vals += [x for x in self.harvest if isinstance(x, str)][:6] + s_strs[12:]
            out = _dedup((Lit(v) for v in vals), limit=36)
            if is_path_name(name) and facts is not None:
                out.insert(0, PathVal(name))
            return out
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
        if origin in UNION_TYPES:
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
            # Type[X]: the class itself, then its subclasses of the same package
            target = args[0] if args else None
            if isinstance(target, typing.TypeVar):
                target = type_of_typevar(target, self.namespace)
            target = target if isinstance(target, type) else None
            out = []
            for c in ([target] + subclasses_of(target)) if target is not None else []:
                ref = class_ref(c)
                if ref:
                    out.append(ExprVal(ref[0], (lambda c=c: c), [ref[1]] if ref[1] else []))
                    out[-1].cls = c  # what static_breach may judge it by
            if target is None or target.__module__ != "builtins":
                # a class of the kind, of the caller's making: a dataclass
                sample = sample_dataclass(target if target is not object else None)
                out += [sample] if sample is not None else []
            return out or [Lit(None)]
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
        nodes = node_pool(cls)
        if nodes:
            self._pool_cache[key] = nodes
            return nodes
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
            if not out:
                # The constructor refused every attempt: its factories may not.
                out += factory_vals(self, cls, ref, depth) or module_instances(self, cls)
        if depth < 2:
            # Subclasses of the same package stand in for their base (a
            # `Field` parameter gets a `String()` and an `Integer()` too),
            # each with its plainest instance, interleaved after the base's.
            subs = []
            for sub in subclasses_of(cls)[:10]:
                sref = class_ref(sub)
                sspec = self.ctor_spec(sub) if sref else None
                if sspec is None or inspect.isabstract(sub):
                    continue
                val = self._ctor_from(sub, sref, sspec, depth + 1, "base")
                if val is not None and self._constructs(val):
                    subs.append(val)
            mixed = []
            for pair in itertools.zip_longest(out[:6], subs):
                mixed += [v for v in pair if v is not None]
            out = mixed + out[6:]
        out = _dedup(out, limit=16)
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
                spec = self._params_spec(cls.__init__, type_hints(cls.__init__))
            elif cls.__init__ is object.__init__ and inspect.isfunction(getattr(cls, "__new__", None)):
                # NamedTuples and other classes built by `__new__`: its
                # parameters, typed by the class's field annotations.
                spec = self._params_spec(cls.__new__, {**type_hints(cls), **type_hints(cls.__new__)})
            elif cls.__init__ is object.__init__:
                spec = []
        except (TypeError, ValueError):
            spec = None
        self._ctor_cache[cls] = spec
        return spec

    @staticmethod
    def _params_spec(func, hints):
        """[(name, annotation, required, kw_only)] of a constructor function
        (`self`/`cls` left out)."""
        spec = []
        for p in list(inspect.signature(func).parameters.values())[1:]:
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                continue
            spec.append((p.name, hints.get(p.name, p.annotation), p.default is p.empty, p.kind == KW_ONLY))
        return spec

    def _ctor_from(self, cls, ref, spec, depth, mode, rng=None):
        """One constructor call: 'base' takes each field's first value,
        (field, j) takes value j for that field, `rng` draws every field. Pydantic
        validation errors are repaired by moving the failing fields on."""
        pools = []
        for name, ann, required, _ in spec:
            p = self.pool(ann, None, name, depth + 1)
            if self.builders is not None:
                # the constructor's own body says what the field must be
                p = self.builders.field_pool(self, cls, name, ann, not required, p)
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
            res = self.guard.run(val.build, 1.0, True)
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
        v = literal_value(node)
        if v is not None or (isinstance(node, ast.Constant) and node.value is None):
            return Lit(v)
        name = dotted(node)
        if name and "." in name:
            try:
                obj = resolve(name, self.namespace)
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
                obj = resolve(fname, self.namespace) if fname else None
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
        if typing.get_origin(tp) in UNION_TYPES:
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
