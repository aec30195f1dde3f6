"""Values for parameters that hold a type, not an instance: typing forms for
code that inspects annotations (`p.__origin__`, `get_args(p)`), dataclass
types for code that reads a dataclass's fields (`fields(cls)`,
`asdict(obj)`), and classes for `Type[A]` where `A` is a TypeVar.

The sample dataclass is written in the test as the `make_dataclass` call
that makes it, so the test needs no class of its own."""

import dataclasses
import sys
import typing

from .values import ExprVal, class_ref

# Forms of the kinds such code branches on: a collection, a mapping, an
# optional, a tuple, a union, nested.
_FORMS = [
    "typing.List[int]", "typing.Dict[str, int]", "typing.Optional[str]", "typing.Tuple[int, str]",
    "typing.Union[int, str]", "typing.Set[str]", "typing.Mapping[str, typing.List[int]]",
]
_FIELDS = "[('name', str), ('count', int)]"


def typeform_pool():
    return [ExprVal(src, lambda src=src: eval(src, {"typing": typing}), ["import typing"]) for src in _FORMS]


def sample_dataclass(base=None):
    """A small dataclass type (subclassing `base` when given), or None when
    `base` cannot be named in a test or refuses to be a base."""
    imports = {"import dataclasses"}
    ns = {"dataclasses": dataclasses}
    bases = ""
    if base is not None:
        ref = class_ref(base)
        if ref is None or ref[0] in ns:
            return None
        bases = ", bases=(%s,)" % ref[0]
        ns[ref[0].split(".")[0]] = _top(base, ref[0])
        if ref[1]:
            imports.add(ref[1])
    src = "dataclasses.make_dataclass('Sample', %s%s)" % (_FIELDS, bases)
    try:
        eval(src, dict(ns))
    except Exception:
        return None
    return ExprVal(src, lambda: eval(src, dict(ns)), imports)


def _top(cls, qual):
    """The object the first part of a class's qualified name names."""
    return getattr(sys.modules[cls.__module__], qual.split(".")[0])


def dataclass_pool(gen, base=None, instances=True):
    """Dataclass types, the project's own first, then the sample; with
    `instances`, an instance of the sample after them (`asdict(obj)` wants one)."""
    types_ = []
    if gen.builders is not None:
        for cls in gen.builders.project_classes():
            ref = class_ref(cls)
            if dataclasses.is_dataclass(cls) and ref is not None and (base is None or issubclass(cls, base)):
                types_.append(ExprVal(ref[0], lambda c=cls: c, [ref[1]] if ref[1] else []))
            if len(types_) >= 2:
                break
    sample = sample_dataclass(base)
    if sample is not None:
        types_.append(sample)
    made = []
    for t in types_ if instances else ():
        if t.src.startswith("dataclasses.make_dataclass("):
            made.append(ExprVal(t.src + "('Ada', 1)", lambda t=t: t.build()("Ada", 1), t.imports))
    return types_ + made


def type_of_typevar(tv, namespace):
    """The class a `Type[A]` stands for: A's bound (a forward reference is
    looked up in the module), or None for an unbound TypeVar."""
    bound = getattr(tv, "__bound__", None)
    if isinstance(bound, typing.ForwardRef):
        bound = bound.__forward_arg__
    if isinstance(bound, str):
        bound = (namespace or {}).get(bound)
    return bound if isinstance(bound, type) else None
