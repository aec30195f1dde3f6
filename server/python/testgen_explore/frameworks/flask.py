"""Flask: the route specs of an application (its URL map, converters, the
JSON body keys and query keys its views read)."""

import ast

from ..source import FunctionFacts, dotted, literal_value
from .spec import SKIP_ROUTE_METHODS, RouteSpec, view_node


_SOURCES = {"request.args": "query", "request.values": "query", "request.form": "form",
            "request.headers": "headers", "request.cookies": "cookies"}


def _typed(n):
    for kw in n.keywords:
        if kw.arg == "type" and isinstance(kw.value, ast.Name):
            return {"int": int, "float": float}.get(kw.value.id, str)
    return str


def flask_inputs(node):
    """{'query'|'form'|'headers'|'cookies': [(key, type, required)]}: what a
    view reads from the request besides its JSON body (`.get` optional,
    `[...]` required)."""
    found = {k: {} for k in ("query", "form", "headers", "cookies")}
    if node is None:
        return {k: [] for k in found}
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args:
            where = _SOURCES.get(dotted(n.func.value))
            if where and n.func.attr in ("get", "getlist"):
                key = literal_value(n.args[0])
                if isinstance(key, str):
                    found[where].setdefault(key, (_typed(n), False))
        if isinstance(n, ast.Subscript):
            where = _SOURCES.get(dotted(n.value))
            sl = n.slice.value if isinstance(n.slice, ast.Index) else n.slice
            key = literal_value(sl)
            if where and isinstance(key, str):
                found[where][key] = (found[where].get(key, (str, True))[0], True)
        if isinstance(n, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops):
            where = _SOURCES.get(dotted(n.comparators[0])) if n.comparators else None
            key = literal_value(n.left)
            if where and isinstance(key, str):
                found[where].setdefault(key, (str, False))
    return {k: [(key, tp, req) for key, (tp, req) in sorted(v.items())] for k, v in found.items()}


def _flask_request_keys(node):
    """Names bound to the JSON body (`data = request.get_json() or {}`) and
    query keys (`request.args.get("k", type=int)`) of a Flask view."""
    json_vars, query = set(), {}
    if node is None:
        return json_vars, []
    for n in ast.walk(node):
        if isinstance(n, ast.Assign):
            src = ast.dump(n.value)
            if ("attr='get_json'" in src or "attr='json'" in src) and "id='request'" in src:
                for t in n.targets:
                    if isinstance(t, ast.Name):
                        json_vars.add(t.id)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args:
            recv = dotted(n.func.value)
            if recv in ("request.args", "request.values") and n.func.attr in ("get", "getlist", "__getitem__"):
                key = literal_value(n.args[0])
                if isinstance(key, str):
                    tp = str
                    for kw in n.keywords:
                        if kw.arg == "type" and isinstance(kw.value, ast.Name):
                            tp = {"int": int, "float": float}.get(kw.value.id, str)
                    query.setdefault(key, (tp, False))
        if isinstance(n, ast.Subscript) and dotted(n.value) in ("request.args", "request.values"):
            sl = n.slice.value if isinstance(n.slice, ast.Index) else n.slice
            key = literal_value(sl)
            if isinstance(key, str):
                query[key] = (query.get(key, (str, True))[0], True)
    return json_vars, [(k, tp, req) for k, (tp, req) in sorted(query.items())]


_FLASK_CONVERTERS = {"IntegerConverter": int, "FloatConverter": float, "UUIDConverter": "uuid"}


def flask_specs(ctx, app):
    """[(view function, RouteSpec)] for every rule of a Flask app."""
    out = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint)):
        view = app.view_functions.get(rule.endpoint)
        if view is None or rule.endpoint == "static":
            continue
        methods = sorted(set(rule.methods or ["GET"]) - SKIP_ROUTE_METHODS)
        spec = RouteSpec(methods, rule.rule, "flask")
        for name, conv in sorted(getattr(rule, "_converters", {}).items()):
            spec.path_params.append((name, _FLASK_CONVERTERS.get(type(conv).__name__, str)))
        inner, node = view_node(ctx, view)
        spec.view_name = getattr(inner, "__name__", rule.endpoint)
        json_vars, _ = _flask_request_keys(node)
        inputs = flask_inputs(node)
        spec.query, spec.form = inputs["query"], inputs["form"]
        spec.headers, spec.cookies = inputs["headers"], inputs["cookies"]
        if json_vars and node is not None:
            spec.json_facts = FunctionFacts(node, getattr(inner, "__globals__", {}), params=json_vars)
            spec.json_var = sorted(json_vars)[0]
        out.append((inner, spec))
    return out
