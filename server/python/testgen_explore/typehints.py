"""Type hints: annotations evaluated without relying on the running Python's
`X | Y` support, and the fields of pydantic models (v2, else v1)."""

import ast
import sys
import types
import typing

from .source import dotted, resolve


NoneType = type(None)
UNION_TYPES = (typing.Union,) + ((types.UnionType,) if hasattr(types, "UnionType") else ())


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
            return resolve(dotted(n), ns)
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
