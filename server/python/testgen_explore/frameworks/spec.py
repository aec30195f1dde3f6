"""What one URL rule of a Flask or FastAPI application accepts (RouteSpec),
and the source of a view function."""

import inspect
import re
import urllib.parse

from ..source import find_def


SKIP_ROUTE_METHODS = {"HEAD", "OPTIONS"}
BODY_METHODS = {"POST", "PUT", "PATCH"}


class RouteSpec:
    """What one URL rule accepts: methods, path params, query keys, body."""

    def __init__(self, methods, template, framework):
        self.methods = methods          # sorted, HEAD/OPTIONS left out
        self.template = template        # '/tasks/<int:task_id>' or '/orders/{order_id}'
        self.framework = framework
        self.path_params = []           # [(name, type)]
        self.query = []                 # [(name, type, required)]
        self.json_facts = None          # Flask: FunctionFacts of the body's keys
        self.json_var = None
        self.model = None               # FastAPI: the pydantic body model
        # Form fields, headers and cookies the view reads: [(name, type, required)]
        self.form = []
        self.headers = []
        self.cookies = []
        self.depends = []               # FastAPI: [Dependency], in the order FastAPI solves them
        self.read_by = {}               # FastAPI: {(kind, name): label of the dependency reading it}
        self.view_name = ""

    def url(self, path_values, query):
        if self.framework == "flask":
            url = re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: urllib.parse.quote(str(path_values[m.group(1)])),
                         self.template)
        else:
            url = re.sub(r"\{(\w+)(?::[^}]*)?\}", lambda m: urllib.parse.quote(str(path_values[m.group(1)])),
                         self.template)
        if query:
            url += "?" + urllib.parse.urlencode(sorted(query.items()))
        return url


def request_key(r):
    """What makes two requests the same: method, URL, body, form, headers."""
    return "%s %s %r %r %r" % (r["method"], r["url"], r["json"], sorted((r.get("form") or {}).items()),
                               sorted((r.get("headers") or {}).items()))


def view_node(ctx, func):
    inner = inspect.unwrap(func)
    code = getattr(inner, "__code__", None)
    if code is None:
        return None, None
    tree = ctx.parse(code.co_filename)
    node = find_def(tree, inner.__name__, code.co_firstlineno, code.co_firstlineno + 30) if tree else None
    return inner, node
