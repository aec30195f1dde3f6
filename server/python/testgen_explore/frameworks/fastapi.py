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
            if typing.get_origin(p.annotation) is typing.Annotated:
                ann = p.annotation  # get_type_hints drops the metadata
            marker = p.default
            if typing.get_origin(ann) is typing.Annotated:
                # `x: Annotated[str, Header()]`: the marker rides in the metadata
                args = typing.get_args(ann)
                ann = args[0]
                for extra in args[1:]:
                    if type(extra).__name__ in ("Header", "Cookie", "Query", "Body", "Form", "Depends", "Path"):
                        marker = extra
            if _is_depends(marker):
                continue
            if isinstance(ann, type) and ann.__module__.split(".")[0] in ("starlette", "fastapi"):
                continue  # Request, Response, BackgroundTasks...
            if p.name in path_names:
                spec.path_params.append((p.name, ann if ann in (int, float, str) else str))
            elif is_pydantic(ann):
                spec.model = ann
            else:
                kind = type(marker).__name__
                if kind in ("Header", "Cookie"):
                    alias = getattr(marker, "alias", None)
                    if not alias:
                        convert = kind == "Header" and getattr(marker, "convert_underscores", True)
                        alias = p.name.replace("_", "-") if convert else p.name
                    default = getattr(marker, "default", None)
                    req = p.default is p.empty and marker is p.default or repr(default) in ("Ellipsis", "PydanticUndefined")
                    (spec.headers if kind == "Header" else spec.cookies).append((alias, str, bool(req)))
                    continue
                if kind in ("Body", "Form", "File"):
                    continue
                base = ann
                if typing.get_origin(ann) in UNION_TYPES:
                    non_none = [a for a in typing.get_args(ann) if a is not NoneType]
                    base = non_none[0] if len(non_none) == 1 else str
                if base not in (int, float, str, bool):
                    base = str
                required = (p.default is p.empty and marker is p.empty) or (
                    kind == "Query" and repr(getattr(marker, "default", None)) in ("Ellipsis", "PydanticUndefined"))
                spec.query.append((p.name, base, required))
        out.append((inner, spec))
    return out
