"""FastAPI: the route specs of an application (path parameters, query
parameters, the pydantic body model), routers included."""

import inspect
import re
import typing

from ..typehints import NoneType, UNION_TYPES, is_pydantic, type_hints
from .spec import SKIP_ROUTE_METHODS, RouteSpec, view_node


def _is_depends(default):
    return type(default).__name__ in ("Depends", "Security") or hasattr(default, "dependency")


def _fastapi_routes(routes):
    """(path, methods, endpoint) of every API route. Older FastAPI copies
    included routers' routes into app.routes; newer versions keep
    `_IncludedRouter`s that expose `effective_route_contexts()`."""
    for route in routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if callable(contexts):
            for ctx in contexts():
                original = getattr(ctx, "original_route", None)
                if type(original).__name__ == "APIRoute":
                    yield ctx.path, getattr(original, "methods", None), ctx.endpoint or original.endpoint
            continue
        if type(route).__name__ == "APIRoute":
            yield route.path, getattr(route, "methods", None), route.endpoint


def fastapi_specs(ctx, app):
    out = []
    for path, methods, endpoint in _fastapi_routes(app.routes):
        if endpoint is None or not methods or path is None:
            continue
        spec = RouteSpec(sorted(set(methods) - SKIP_ROUTE_METHODS), path, "fastapi")
        inner, node = view_node(ctx, endpoint)
        spec.view_name = getattr(inner, "__name__", "")
        path_names = set(re.findall(r"\{(\w+)", path))
        try:
            sig = inspect.signature(endpoint)
            hints = type_hints(inner)
        except (TypeError, ValueError):
            continue
        for p in sig.parameters.values():
            ann = hints.get(p.name, p.annotation)
            if _is_depends(p.default):
                continue
            if isinstance(ann, type) and ann.__module__.split(".")[0] in ("starlette", "fastapi"):
                continue  # Request, Response, BackgroundTasks...
            if p.name in path_names:
                spec.path_params.append((p.name, ann if ann in (int, float, str) else str))
            elif is_pydantic(ann):
                spec.model = ann
            else:
                kind = type(p.default).__name__
                if kind in ("Header", "Cookie", "Body", "Form", "File"):
                    continue
                base = ann
                if typing.get_origin(ann) in UNION_TYPES:
                    non_none = [a for a in typing.get_args(ann) if a is not NoneType]
                    base = non_none[0] if len(non_none) == 1 else str
                if base not in (int, float, str, bool):
                    base = str
                required = p.default is p.empty or (kind == "Query" and repr(getattr(p.default, "default", None)) == "Ellipsis")
                spec.query.append((p.name, base, required))
        out.append((inner, spec))
    return out
