"""Flask: the route specs of an application (its URL map, converters, the
JSON body keys and query keys its views read)."""

import ast

from ..source import FunctionFacts, dotted, literal_value
from .spec import SKIP_ROUTE_METHODS, RouteSpec, view_node


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
        json_vars, spec.query = _flask_request_keys(node)
        if json_vars and node is not None:
            spec.json_facts = FunctionFacts(node, getattr(inner, "__globals__", {}), params=json_vars)
            spec.json_var = sorted(json_vars)[0]
        out.append((inner, spec))
    return out
