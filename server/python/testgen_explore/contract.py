"""A parameter's contract, and where an exception came from.

The contract is what a real caller must pass: the annotation (project
classes, Optional, unions, generics, Callable, Literal, enums), the
default's type (Callee turns it into the annotation) and the evident use
in the body: attributes read (`p.amount`), methods called (`p.items()`),
subscripts, iteration, `len`, `with`, `await`, calls, arithmetic on
numbers, `int(p)`. A call that breaks it and then dies on an interpreter
error (not on a `raise` of the project) pins the harness's misuse, not
the code's behaviour: search.py discards it, and generation prefers
values that keep it (builders.py builds project objects that do)."""

import ast
import collections.abc as cabc
import inspect
import linecache
import re
import typing

from .source import own_nodes
from .typehints import NoneType, UNION_TYPES
from .values import OMIT, Lit

# Exceptions the interpreter raises by itself (a C builtin, an attribute
# look-up, a subscript, an operator): the types a crash on a wrong-shaped
# argument shows up as.
INTERPRETER_ERRORS = (TypeError, AttributeError, KeyError, IndexError, ValueError,
                      ZeroDivisionError, UnboundLocalError, NameError, RecursionError,
                      OverflowError)

_NUMBER_OPS = (ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Pow, ast.Add, ast.Mod)


class Use:
    """What the body does with one parameter."""

    def __init__(self):
        self.attrs = set()      # read: p.amount
        self.methods = set()    # called: p.items()
        self.keys = set()       # required string keys: p["name"]
        self.index = -1         # the largest constant int index read: p[2]
        self.subscript = False
        self.stored = False     # p[k] = v
        self.iterated = False
        self.sized = False
        self.entered = False    # with p / async with p
        self.awaited = False
        self.called = False
        self.number = False     # p - 1, p * 2.5, p < 10
        self.numstr = False     # int(p), float(p)
        self.mapping = False    # x.update(p), config.from_mapping(p), dict(p), f(**p)
        self.dataclass = False  # fields(p), asdict(p), astuple(p), replace(p)
        self.typeform = False   # p.__origin__, p.__args__, get_origin(p), get_args(p)
        self.guarded = False    # isinstance/hasattr/callable/`is None`/try: the body checks the shape
        self.rebound = False    # assigned in the body: the uses may be of another value
        self.elem = None        # the use of its items, when a loop names them: for e in p
        self.fields = {}        # attribute -> the use of its value: p.amount < 0

    def shaped(self):
        """Whether the use says anything about the value's shape."""
        return bool(self.elem is not None or any(f.shaped() for f in self.fields.values())
                    or self.attrs or self.methods or self.keys or self.subscript or self.stored
                    or self.iterated or self.sized or self.entered or self.awaited or self.called
                    or self.number or self.numstr or self.mapping or self.dataclass or self.typeform)


def uses(func_node, names, items=True):
    """{param: Use} for the named parameters, from the function's own body
    (with `items`, the use of the items a loop over one takes)."""
    out = {n: Use() for n in names}
    if func_node is None or not names:
        return out
    nodes = list(own_nodes(func_node))
    parents = {}
    for n in nodes:
        for c in ast.iter_child_nodes(n):
            parents[c] = n

    fields = {}
    numeric = _numeric_names(nodes)

    def param(n):
        """The key of a parameter (`p`) or of an attribute of one (`p.amount`)."""
        if isinstance(n, ast.Name) and n.id in out:
            return n.id
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and isinstance(n.value, ast.Name) \
                and n.value.id in out:
            key = n.value.id + "." + n.attr
            if key not in fields:
                fields[key] = Use()
            return key
        return None

    def at(key):
        return out[key] if key in out else fields[key]

    for n in nodes:
        if isinstance(n, ast.Name) and n.id in out and isinstance(n.ctx, ast.Store):
            out[n.id].rebound = True
        elif isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load):
            p = param(n.value)
            if p:
                parent = parents.get(n)
                if isinstance(parent, ast.Call) and parent.func is n:
                    at(p).methods.add(n.attr)
                else:
                    at(p).attrs.add(n.attr)
                    at(p).typeform |= n.attr in _TYPEFORM_ATTRS
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Store):
            p = param(n.value)
            if p:
                at(p).stored = True
        elif isinstance(n, ast.Subscript) and isinstance(n.ctx, ast.Load):
            p = param(n.value)
            if p:
                u = at(p)
                u.subscript = True
                idx = n.slice.value if isinstance(n.slice, getattr(ast, "Index", ())) else n.slice
                if isinstance(idx, ast.Constant) and isinstance(idx.value, str):
                    u.keys.add(idx.value)
                elif isinstance(idx, ast.Constant) and type(idx.value) is int:
                    u.index = max(u.index, idx.value)
        elif isinstance(n, (ast.For, ast.AsyncFor, ast.comprehension)):
            p = param(n.iter)
            if p:
                at(p).iterated = True
                if isinstance(n.target, ast.Name) and n.target.id not in out and items and p in out:
                    elem = uses(func_node, {n.target.id}, items=False)[n.target.id]
                    elem.rebound = False  # the loop's own binding
                    if elem.shaped() and out[p].elem is None:
                        out[p].elem = elem
        elif isinstance(n, (ast.With, ast.AsyncWith)):
            for item in n.items:
                p = param(item.context_expr)
                if p:
                    at(p).entered = True
        elif isinstance(n, ast.Await):
            p = param(n.value)
            if p:
                at(p).awaited = True
        elif isinstance(n, ast.Call):
            _call_use(n, at, param)
        elif isinstance(n, ast.BinOp) and isinstance(n.op, _NUMBER_OPS):
            for side, other in ((n.left, n.right), (n.right, n.left)):
                p = param(side)
                if not p or not isinstance(other, ast.Constant) or type(other.value) not in (int, float):
                    continue
                # `s * 3` repeats a sequence and `fmt % 2` formats: numbers
                # only when the operator says so for any operand.
                if isinstance(n.op, ast.Mult) and type(other.value) is int:
                    continue
                if isinstance(n.op, ast.Mod) and side is n.left:
                    continue
                at(p).number = True
        elif isinstance(n, ast.Compare):
            sides = [n.left] + list(n.comparators)
            for i, op in enumerate(n.ops):
                a, b = sides[i], sides[i + 1]
                for side, other in ((a, b), (b, a)):
                    p = param(side)
                    if not p:
                        continue
                    if isinstance(op, (ast.Is, ast.IsNot)) or (
                            isinstance(other, ast.Constant) and other.value is None):
                        at(p).guarded = True
                    elif isinstance(op, (ast.Lt, ast.LtE, ast.Gt, ast.GtE)) and \
                            isinstance(other, ast.Constant) and type(other.value) in (int, float):
                        at(p).number = True
        elif isinstance(n, ast.AugAssign) and isinstance(n.op, _NUMBER_OPS) \
                and isinstance(n.target, ast.Name) and n.target.id in numeric:
            p = param(n.value)
            if p:
                at(p).number = True
        elif isinstance(n, ast.Try):
            for h in n.handlers:
                if h.type is None or _names_interpreter_error(h.type):
                    for p in out:
                        at(p).guarded = True
    for key, use in fields.items():
        name, attr = key.split(".", 1)
        out[name].fields[attr] = use
    return out


# Functions of `dataclasses` whose first argument is a dataclass (or one's
# instance); `is_dataclass` checks, so it says nothing.
_DATACLASS_FUNCS = ("fields", "asdict", "astuple", "replace")
_TYPEFORM_ATTRS = {"__origin__", "__args__", "__parameters__"}

# Methods whose one argument is a mapping: a dict's, a Flask config's.
_MAPPING_METHODS = ("update", "from_mapping")


def _call_use(n, at, param):
    f = n.func
    p = param(f)
    if p:
        at(p).called = True
    mapped = [kw.value for kw in n.keywords if kw.arg is None]
    if isinstance(f, ast.Attribute) and f.attr in _MAPPING_METHODS and len(n.args) == 1 and not n.keywords:
        mapped.append(n.args[0])
    if isinstance(f, ast.Name) and f.id == "dict" and len(n.args) == 1:
        mapped.append(n.args[0])
    for arg in mapped:
        p = param(arg)
        if p:
            at(p).mapping = True
    fname = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
    first = param(n.args[0]) if n.args else None
    if first and "." not in first and fname in _DATACLASS_FUNCS:
        at(first).dataclass = True
    elif first and "." not in first and fname in ("get_origin", "get_args"):
        at(first).typeform = True
    if isinstance(f, ast.Name):
        args = [param(a) for a in n.args]
        if f.id in ("isinstance", "hasattr", "callable", "type", "getattr") and args and args[0]:
            at(args[0]).guarded = True
        elif f.id == "len" and args and args[0]:
            at(args[0]).sized = True
        elif f.id in ("int", "float") and len(n.args) == 1 and args[0]:
            at(args[0]).numstr = True


def _numeric_names(nodes):
    """Local names bound to a number literal (`total = 0`): what is added
    to them is a number."""
    out = set()
    for n in nodes:
        if isinstance(n, ast.Assign) and isinstance(n.value, ast.Constant) \
                and type(n.value.value) in (int, float):
            out |= {t.id for t in n.targets if isinstance(t, ast.Name)}
    return out


def _names_interpreter_error(node):
    names = [node] if not isinstance(node, ast.Tuple) else list(node.elts)
    known = {c.__name__ for c in INTERPRETER_ERRORS} | {"Exception", "BaseException"}
    return any(isinstance(x, ast.Name) and x.id in known for x in names)


# ---------------------------------------------------------------------------
# Does a value keep the contract?
# ---------------------------------------------------------------------------


def fits(ann, value):
    """Whether a value fits an annotation; what cannot be checked fits."""
    if ann is None or ann is inspect.Parameter.empty or ann is typing.Any or isinstance(ann, str):
        return True
    if ann is NoneType:
        return value is None
    if isinstance(ann, typing.TypeVar) or hasattr(ann, "__supertype__"):
        return True
    origin = typing.get_origin(ann)
    args = typing.get_args(ann)
    if origin in UNION_TYPES:
        return any(fits(a, value) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is typing.Annotated:
        return fits(args[0], value)
    if origin is cabc.Callable or ann in (typing.Callable, cabc.Callable, callable):
        return callable(value)
    target = origin if isinstance(origin, type) else ann
    if not isinstance(target, type):
        return True
    if getattr(target, "_is_protocol", False):
        return True  # structural: its members are what the use checks
    if target is float and isinstance(value, int) and not isinstance(value, bool):
        return True  # PEP 484's numeric tower
    if target is complex and isinstance(value, (int, float)) and not isinstance(value, bool):
        return True
    try:
        return isinstance(value, target)
    except TypeError:
        return True


def _static_has(value, name):
    if isinstance(value, type):
        return hasattr(value, name)
    try:
        inspect.getattr_static(value, name)
        return True
    except AttributeError:
        pass
    # A __getattr__ answers names it was not given: trust it.
    return inspect.getattr_static(type(value), "__getattr__", None) is not None


_ABSENT = object()


def _instance_value(value, attr):
    """An attribute's value held by the instance itself (no property run)."""
    try:
        return vars(value).get(attr, _ABSENT)
    except TypeError:
        return _ABSENT


def _type_has(value, *dunders):
    return any(getattr(type(value), d, None) is not None for d in dunders)


def _numeric_text(value):
    if type(value) not in (str, bytes):
        return False
    try:
        float(value)
        return True
    except (TypeError, ValueError):
        return False


def broken_use(use, value):
    """Why a value breaks the evident use of its parameter, or None."""
    if use is None or use.rebound or not use.shaped():
        return None
    if value is None:
        return None if use.guarded else "None, used as a value"
    missing = sorted(a for a in use.attrs | use.methods if not _static_has(value, a))
    if missing:
        return "%s without .%s" % (type(value).__name__, missing[0])
    if type(value).__module__ == "builtins":
        # `doc.title` read as data from a str: a method, not the field meant
        methods = sorted(a for a in use.attrs if callable(getattr(type(value), a, None)))
        if methods:
            return "%s, whose .%s is a method" % (type(value).__name__, methods[0])
    for attr, fu in sorted(use.fields.items()):
        inner = _instance_value(value, attr)
        if inner is not _ABSENT and fu.shaped():
            why = broken_use(fu, inner)
            if why:
                return "%s whose .%s is %s" % (type(value).__name__, attr, why)
    if use.subscript and not (_type_has(value, "__getitem__") or isinstance(value, type)):
        return "%s, subscripted" % type(value).__name__
    if use.stored and not _type_has(value, "__setitem__"):
        return "%s, assigned into" % type(value).__name__
    # (only the builtin containers are looked into: a project's own would
    # run its code here, outside the guard)
    if use.keys and type(value) is dict:
        absent = sorted(k for k in use.keys if k not in value)
        if absent:
            return "a mapping without the key %r" % absent[0]
    if use.index >= 0 and type(value) in (list, tuple):
        if len(value) <= use.index:
            return "a sequence of %d items, indexed at %d" % (len(value), use.index)
    if use.iterated and not _type_has(value, "__iter__", "__getitem__"):
        return "%s, iterated" % type(value).__name__
    if use.elem is not None and type(value) in (list, tuple, set, frozenset):
        for item in value:
            why = broken_use(use.elem, item)
            if why:
                return "an item %s" % why
    if use.sized and not _type_has(value, "__len__"):
        return "%s, given to len()" % type(value).__name__
    if use.entered and not _type_has(value, "__enter__", "__aenter__"):
        return "%s, used in a with" % type(value).__name__
    if use.awaited and not _type_has(value, "__await__"):
        return "%s, awaited" % type(value).__name__
    if use.called and not callable(value):
        return "%s, called" % type(value).__name__
    if use.mapping and not (_type_has(value, "keys") or type(value) in (list, tuple)):
        return "%s, given where a mapping belongs" % type(value).__name__
    if use.numstr and not (isinstance(value, (int, float)) or _numeric_text(value)):
        return "%r, given to int()/float()" % (value,)
    if use.number and not use.guarded and (isinstance(value, (str, bytes, list, tuple, dict, set))
                                           or isinstance(value, bool)):
        return "%s, used as a number" % type(value).__name__
    return None


def param_breach(param, use, value):
    """Why one argument breaks its parameter's contract, or None."""
    if param.kind == param.kind.VAR_POSITIONAL:
        items = value if isinstance(value, tuple) else ()
        for item in items:
            if not fits(param.ann, item):
                return "%s: %s is not %s" % (param.name, type(item).__name__, _ann_name(param.ann))
        return None
    if value is None and not param.has_default and param.ann not in (None, inspect.Parameter.empty) \
            and not fits(param.ann, None):
        return "%s: None where %s belongs" % (param.name, _ann_name(param.ann))
    if not fits(param.ann, value):
        return "%s: %s where %s belongs" % (param.name, type(value).__name__, _ann_name(param.ann))
    why = broken_use(use, value)
    return "%s: %s" % (param.name, why) if why else None


def _ann_name(ann):
    return getattr(ann, "__name__", None) or str(ann).replace("typing.", "")


def breach(callee, built):
    """The first argument of a call that breaks its parameter's contract,
    as text; None when all keep it. `built` pairs each parameter with the
    object the call got (nothing is built here: that would run project
    code outside the guard)."""
    use_of = getattr(callee, "uses", None) or {}
    for p, value in built or ():
        why = param_breach(p, use_of.get(p.name), value)
        if why:
            return why
    return None


def static_step_breach(callee, vals):
    """A setup step's literal argument that breaks its contract, or None."""
    use_of = getattr(callee, "uses", None) or {}
    for p, v in zip(callee.params, vals or []):
        if isinstance(v, Lit) and v is not OMIT and p.kind != p.kind.VAR_POSITIONAL:
            why = param_breach(p, use_of.get(p.name), v.value)
            if why:
                return why
    return None


# ---------------------------------------------------------------------------
# Where an exception came from
# ---------------------------------------------------------------------------


def _statement_at(tree, lineno):
    """The innermost statement of a module spanning a line."""
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or node.lineno):
            if best is None or node.lineno >= best.lineno:
                best = node
    return best


def is_raise_line(ctx, path, lineno):
    """Whether the line is (part of) a `raise` or `assert` statement."""
    tree = ctx.parse(path) if ctx is not None else None
    if tree is not None:
        stmt = _statement_at(tree, lineno)
        if stmt is not None:
            return isinstance(stmt, (ast.Raise, ast.Assert))
    text = linecache.getline(path, lineno).strip()
    return text.startswith("raise") or text.startswith("assert")


def origin(ctx, exc):
    """'project' (a raise of the project's code), 'library' (a raise of code
    outside it) or 'interpreter' (no raise statement: a builtin, an
    operator, a look-up)."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb
        tb = tb.tb_next
    if last is None:
        return "interpreter"
    path = last.tb_frame.f_code.co_filename
    if not is_raise_line(ctx, path, last.tb_lineno):
        # a class of its own raised from C (json's decoder) is a library's check
        return "interpreter" if type(exc).__module__ == "builtins" else "library"
    return "project" if ctx.is_project_file(path) else "library"


def interpreter_error(ctx, exc):
    """An error of the interpreter's kinds that no `raise` of the project
    threw (a library's own check on a wrong-shaped value counts too)."""
    return isinstance(exc, INTERPRETER_ERRORS) and origin(ctx, exc) != "project"


def _holds(value, obj):
    if value is obj:
        return True
    if type(value) in (list, tuple, set, frozenset):
        return any(x is obj for x in value)
    if type(value) is dict:
        return any(x is obj for x in value.values())
    return False


def outside_contract(ctx, exc, callees_vals, built=()):
    """Why a call that raised `exc` broke its arguments' contract, or None
    when the exception is the project's own or the arguments keep it.
    `callees_vals`: the target's (callee, Vals) first, then the setup
    steps'. `built` pairs each parameter of the target with the object
    passed (checked against the contract); an AttributeError
    on an untyped parameter's value (or one of its items) is the value's
    shape, not the code's fault, even when a helper did the look-up."""
    if not interpreter_error(ctx, exc):
        return None
    head = "%s: %s" % (type(exc).__name__, str(exc)[:100])
    steps = list(callees_vals)
    if steps:
        why = breach(steps[0][0], built)
        if why:
            return "%s, with %s" % (head, why)
    for callee, vals in steps[1:]:
        why = static_step_breach(callee, vals)
        if why:
            return "%s, with %s" % (head, why)
    # (`obj` is set by the interpreter from Python 3.10; None is an object too)
    obj = getattr(exc, "obj", _ABSENT) if isinstance(exc, AttributeError) else _ABSENT
    for p, value in built or ():
        if not _untyped(p.ann):
            continue
        if obj is not _ABSENT and _holds(value, obj):
            return "%s, on the untyped `%s`" % (head, p.name)
        if isinstance(exc, TypeError) and _names_type(str(exc), value):
            return "%s, on the untyped `%s`" % (head, p.name)
    return None


def _untyped(ann):
    return ann is None or ann is inspect.Parameter.empty or ann is typing.Any or ann is object \
        or isinstance(ann, str)


def _names_type(message, value):
    """A TypeError about a value of this type, or of one of its items
    (`'NoneType' object is not subscriptable`, `unsupported operand
    type(s) for +: 'int' and 'str'`, `expected str, ..., not NoneType`)."""
    types = {type(value)}
    if type(value) in (list, tuple, set, frozenset):
        types |= {type(x) for x in list(value)[:10]}
    for t in types:
        name = t.__name__
        if ("'%s'" % name) in message or ('"%s"' % name) in message or \
                re.search(r"\bnot %s\b" % re.escape(name), message):
            return True
    return False
