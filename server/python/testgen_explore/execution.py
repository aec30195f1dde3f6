"""Execution: a callable's parameters and their pools (Callee), what one call
did (Outcome, with the lines and arcs the tracer saw), finishing coroutines
and generators, and the ids and keys a setup call's result holds."""

import asyncio
import enum
import inspect
import itertools

from .astnodes import visited_class
from .builders import contract_order, static_breach
from .contract import uses
from .paths import PathVal, is_file_contract, names_descriptor
from .recorders import Recorder, called_params, wants_recorder
from .typehints import type_hints
from .values import OMIT, Lit, SeqVal


POS_ONLY = inspect.Parameter.POSITIONAL_ONLY
KW_ONLY = inspect.Parameter.KEYWORD_ONLY
VAR_POS = inspect.Parameter.VAR_POSITIONAL
_STAR_SIZES = (2, 1, 3, 0, 2, 4)


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
                if p.kind == p.VAR_KEYWORD:
                    self.params += self._keyword_params(p.name)
                    continue
                ann = hints.get(p.name, p.annotation)
                if p.kind == p.VAR_POSITIONAL:
                    # `*entries: Entry`: a few values of the element type,
                    # passed spread; only typed ones (an untyped *args is
                    # usually forwarded, not used).
                    if ann is not inspect.Parameter.empty:
                        self.params.append(Param(p.name, p.kind, ann, True))
                    continue
                if ann is inspect.Parameter.empty and p.default is not p.empty and p.default is not None:
                    ann = type(p.default)
                if ann is inspect.Parameter.empty and not self.params and p.default is p.empty:
                    ann = visited_class(raw) or ann
                self.params.append(Param(p.name, p.kind, ann, p.default is not p.empty))

        node = getattr(facts, "node", None)
        self.called = called_params(node, {p.name for p in self.params}) if node is not None else {}
        # The evident use of each parameter: part of its contract (contract.py).
        self.uses = uses(node, {p.name for p in self.params})
        usage = getattr(facts, "usage", None) or {}
        self.file_params = {p.name for p in self.params
                            if p.kind != VAR_POS and is_file_contract(p.name, p.ann, usage.get(p.name, ()))}

    def _keyword_params(self, name):
        """`def grid(**interface)` reading `interface["statement"]`: each key
        the body looks up becomes a keyword argument of the call."""
        keys = getattr(self.facts, "keys", {}).get(name) or {}
        out = []
        for key, (required, hint) in sorted(keys.items()):
            if not isinstance(key, str) or not key.isidentifier() or key in {p.name for p in self.params}:
                continue
            param = Param(key, KW_ONLY, inspect.Parameter.empty, not required)
            vals = [Lit(v) for v in self.gen._key_values(key, hint, self.facts)]
            param.pool = ([OMIT] if not required else []) + vals
            out.append(param)
        return out

    def pool(self, param):
        if param.pool is None:
            if param.kind == VAR_POS:
                param.pool = self.star_pool(param)
                return param.pool
            vals = self.gen.pool(param.ann, self.facts, param.name)
            if param.name in self.called and wants_recorder(param.ann):
                vals = [Recorder(param.name, self.called[param.name])] + list(vals or [])
            if param.name in self.file_params:
                vals = [v for v in vals if not names_descriptor(v)]
                if not any(isinstance(v, PathVal) for v in vals):
                    vals = [PathVal(param.name)] + vals
            if not vals:
                vals = [Lit(None)]
            if param.has_default and param.kind != POS_ONLY:
                vals = [OMIT] + vals
            param.pool = contract_order(self.gen, param, self.uses.get(param.name), vals)
        return param.pool

    def star_pool(self, param):
        """Values of `*args`: tuples of 0-4 elements, spread in the call."""
        elems = self.gen.pool(param.ann, self.facts, None) or [Lit(None)]
        out = [SeqVal("star", [])]
        for n in (2, 1, 3):
            for start in range(min(len(elems), 4)):
                items = [elems[(start + i) % len(elems)] for i in range(n)]
                out.append(SeqVal("star", items))
        return out

    def star_random(self, param):
        elems = self.gen.pool(param.ann, self.facts, None) or [Lit(None)]
        rng = self.gen.rng
        n = _STAR_SIZES[rng.randrange(len(_STAR_SIZES))]
        items = []
        for _ in range(n):
            items.append(elems[rng.randrange(len(elems))] if rng.random() < 0.6
                         else self.gen.random_val(param.ann, self.facts, None))
        return SeqVal("star", items)

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
            if p.kind == VAR_POS:
                out.append(self.star_random(p))
            elif p.has_default and p.kind != POS_ONLY and rng.random() < 0.3:
                out.append(OMIT)
            else:
                v = self.gen.random_val(p.ann, self.facts, p.name)
                if static_breach(p, self.uses.get(p.name), v) or (
                        p.name in self.file_params and names_descriptor(v)):
                    # a draw that breaks the contract, or a number open()
                    # takes for a descriptor: one of the pool instead
                    pool = self.pool(p)
                    v = pool[rng.randrange(len(pool))]
                out.append(v)
        return out

    def split(self, vals):
        """(positional Vals, [(name, Val)]): required params positionally,
        optional ones by keyword (readable, and robust to omitted ones)."""
        args, kwargs = [], []
        positional = True
        for p, v in zip(self.params, vals):
            if p.kind == VAR_POS:
                # spread after the positional ones; with an earlier
                # optional one omitted or passed by name it cannot be
                if positional and isinstance(v, SeqVal):
                    args.extend(v.items)
                positional = False
                continue
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

    def named(self, vals, args, kwargs):
        """[(Param, built value)] of a call built from `vals`: which object
        went to which parameter (a spread `*args`: the tuple of its items)."""
        pos, kw = self.split(vals)
        by_val = {id(v): b for v, b in zip(pos, args)}
        by_val.update({id(v): kwargs[k] for k, v in kw if k in kwargs})
        out = []
        for p, v in zip(self.params, vals or []):
            if p.kind == VAR_POS and isinstance(v, SeqVal):
                out.append((p, tuple(by_val[id(i)] for i in v.items if id(i) in by_val)))
            elif v is not OMIT and id(v) in by_val:
                out.append((p, by_val[id(v)]))
        return out

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
        star = next((i for i, p in enumerate(self.params) if p.kind == VAR_POS), None)
        if len(call.args) > len(self.params) and star is None:
            return None
        for i, a in enumerate(call.args):
            v = self.gen.literal_val(a)
            if v is None:
                return None
            if star is not None and i >= star:
                if vals[star] is None:
                    vals[star] = SeqVal("star", [])
                vals[star].items.append(v)
                continue
            vals[i] = v
        if star is not None and vals[star] is not None:
            vals[star] = SeqVal("star", vals[star].items)  # its source again, with the items
        for k in call.keywords:
            if k.arg is None or k.arg not in names:
                return None
            v = self.gen.literal_val(k.value)
            if v is None:
                return None
            vals[names.index(k.arg)] = v
        for i, p in enumerate(self.params):
            if vals[i] is None:
                if p.kind == VAR_POS:
                    vals[i] = SeqVal("star", [])
                elif p.has_default and p.kind != POS_ONLY:
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

    def traced(self, tracer):
        self.lines = set(tracer.lines)
        self.arcs = set(tracer.arcs)
        self.order = list(tracer.order)
        return self


def finish_call(result):
    """Awaits coroutines and drains generators (inside the trace), returning
    (value, how) where how is '', 'async' or 'list'."""
    if inspect.iscoroutine(result):
        return asyncio.run(result), "async"
    if inspect.isgenerator(result):
        items = list(itertools.islice(result, 1001))
        if len(items) > 1000:
            raise Discard("generator yields more than 1000 items")
        return items, "list"
    if inspect.isasyncgen(result):
        async def drain():
            out = []
            async for x in result:
                out.append(x)
                if len(out) > 1000:
                    raise Discard("async generator yields more than 1000 items")
            return out
        return asyncio.run(drain()), "asynclist"
    return result, ""


class Discard(Exception):
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
