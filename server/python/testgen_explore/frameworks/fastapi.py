"""FastAPI: the route specs of an application (path parameters, query
parameters, headers, cookies, form fields, the pydantic body model, the
`Depends(...)` dependencies and what their own parameters read), routers
included."""

import inspect
import re
import typing

from ..typehints import NoneType, UNION_TYPES, is_pydantic, pydantic_fields, type_hints
from .depends import Dependency
from .spec import SKIP_ROUTE_METHODS, RouteSpec, view_node

_MARKERS = ("Header", "Cookie", "Query", "Body", "Form", "File", "Depends", "Security", "Path")


def _is_depends(default):
    return type(default).__name__ in ("Depends", "Security") or hasattr(default, "dependency")


def fastapi_routes(routes):
    """(path, methods, endpoint, dependencies) of every API route. Older
    FastAPI copies included routers' routes into app.routes; newer versions
    keep `_IncludedRouter`s that expose `effective_route_contexts()`, whose
    dependencies are the app's and every router's on the way (the original
    route has only its own router's)."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            for ctx in contexts():
                original = getattr(ctx, "original_route", None)
                if type(original).__name__ == "APIRoute":
                    deps = getattr(ctx, "dependencies", None)
                    yield (ctx.path, getattr(original, "methods", None), ctx.endpoint or original.endpoint,
                           original.dependencies if deps is None else deps)
            continue
        if type(route).__name__ == "APIRoute":
            yield route.path, getattr(route, "methods", None), route.endpoint, route.dependencies


def _undefined(value):
    return repr(value) in ("Ellipsis", "PydanticUndefined")


def _scalar(ann):
    """int, float, str or bool: what a query/form value is sent as."""
    base = ann
    if typing.get_origin(ann) in UNION_TYPES:
        non_none = [a for a in typing.get_args(ann) if a is not NoneType]
        base = non_none[0] if len(non_none) == 1 else str
    return base if base in (int, float, str, bool) else str


def _unannotated(ann, marker):
    """(annotation, marker) of a parameter: `x: Annotated[str, Header()]`
    carries its marker in the metadata."""
    if typing.get_origin(ann) is typing.Annotated:
        args = typing.get_args(ann)
        ann = args[0]
        for extra in args[1:]:
            if type(extra).__name__ in _MARKERS:
                marker = extra
    return ann, marker


def _required(p, marker):
    """No default: `x: int`, `x: Annotated[str, Form()]`, `x: str = Query(...)`."""
    if marker is p.default and hasattr(marker, "default"):
        return _undefined(marker.default)
    return p.default is p.empty


def _add(spec, kind, name, tp, required, dep):
    fields = getattr(spec, kind)
    label = dep.label if dep is not None else None
    if name not in [f[0] for f in fields]:
        fields.append((name, tp, required))
        if label is not None:
            spec.read_by[(kind, name)] = label
    elif spec.read_by.get((kind, name)) != label:
        spec.read_by.pop((kind, name), None)  # read by more than one


def _collect(spec, func, path_names, depth=0, owner=None, dep=None):
    """Adds what `func`'s parameters read from a request to `spec`: the
    endpoint itself (depth 0) or one of its dependencies (`dep`, the
    endpoint's dependency it is or is under: an input only it reads is not
    sent while it is overridden)."""
    inner = inspect.unwrap(func) if inspect.isfunction(func) else func
    try:
        sig = inspect.signature(func)
        hints = type_hints(inner) if inspect.isfunction(inner) else type_hints(
            getattr(inner, "__init__", None) if isinstance(inner, type) else getattr(type(inner), "__call__", None))
    except (TypeError, ValueError):
        return False
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        ann = hints.get(p.name, p.annotation)
        if typing.get_origin(p.annotation) is typing.Annotated:
            ann = p.annotation  # get_type_hints drops the metadata
        ann, marker = _unannotated(ann, p.default)
        if _is_depends(marker):
            call = getattr(marker, "dependency", None)
            if call is None and isinstance(ann, type):
                call = ann  # `commons: Params = Depends()`
            if call is None:
                continue
            top = dep
            if depth == 0:
                top = Dependency.of(call, ann, p.name, owner)
                spec.depends.append(top)
            if depth < 3:
                _collect(spec, call, path_names, depth + 1, owner, top)
            continue
        if isinstance(ann, type) and ann.__module__.split(".")[0] in ("starlette", "fastapi"):
            continue  # Request, Response, BackgroundTasks, security credentials...
        kind = type(marker).__name__
        if p.name in path_names:
            if p.name not in [n for n, _ in spec.path_params]:
                spec.path_params.append((p.name, ann if ann in (int, float, str) else str))
        elif kind == "Form":
            alias = getattr(marker, "alias", None) or p.name
            if is_pydantic(ann):  # `form: Annotated[Login, Form()]`: the model's fields
                for name, fann, freq in pydantic_fields(ann):
                    _add(spec, "form", name, _scalar(fann), freq, dep)
                continue
            _add(spec, "form", alias, _scalar(ann), _required(p, marker), dep)
        elif is_pydantic(ann):
            if spec.model is None:
                spec.model = ann
        elif kind in ("Header", "Cookie"):
            alias = getattr(marker, "alias", None)
            if not alias:
                convert = kind == "Header" and getattr(marker, "convert_underscores", True)
                alias = p.name.replace("_", "-") if convert else p.name
            default = getattr(marker, "default", None)
            req = p.default is p.empty and marker is p.default or _undefined(default)
            _add(spec, "headers" if kind == "Header" else "cookies", alias, str, bool(req), dep)
        elif kind in ("Body", "File"):
            continue
        else:
            _add(spec, "query", getattr(marker, "alias", None) or p.name, _scalar(ann), _required(p, marker), dep)
    return True


def fastapi_specs(ctx, app):
    out = []
    for path, methods, endpoint, dependencies in fastapi_routes(app.routes):
        if endpoint is None or not methods or path is None:
            continue
        spec = RouteSpec(sorted(set(methods) - SKIP_ROUTE_METHODS), path, "fastapi")
        inner, node = view_node(ctx, endpoint)
        spec.view_name = getattr(inner, "__name__", "")
        path_names = set(re.findall(r"\{(\w+)", path))
        # `dependencies=[Depends(check_key)]` on the route or its routers:
        # run for their effect (their value unused), before the endpoint's.
        for d in dependencies or []:
            call = getattr(d, "dependency", None)
            if call is not None:
                dep = Dependency.of(call, NoneType, None, inner)
                spec.depends.append(dep)
                _collect(spec, call, path_names, 1, inner, dep)
        if not _collect(spec, endpoint, path_names, owner=inner):
            continue
        out.append((inner, spec))
    return out
