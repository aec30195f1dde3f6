"""Django views (functions and class-based views' methods), called through
Django's test client at URLs reversed from the project's URL patterns, on
the in-memory database (each candidate in a transaction rolled back after
it), after setup steps that create the models the view uses with valid field
values. What the view reads (GET/POST keys, a Django form's fields, headers,
cookies) becomes the request's data."""

import ast
import importlib
import inspect
import json

from ..execution import Outcome
from ..naming import snake, trim_words, unique_name
from ..protocol import last_line
from ..safety import SkipTarget
from ..search import Explorer, Plan
from ..source import consts_of, dotted, find_def, literal_value
from ..values import literal_src
from .django import django_setup
from .djangomodels import (ModelBuilder, Ref, Skip, change_lines, create, field_changes, field_state, is_model,
                           models_in, step_src, value_src, with_related)


_SOURCES = {"GET": "query", "POST": "form", "headers": "headers", "COOKIES": "cookies", "META": "meta"}
_ID_LIKE = ("pk", "id")
_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


def _source_of(node):
    """'query'|'form'|... for `request.GET`, `self.request.POST`..."""
    d = dotted(node) or ""
    parts = d.split(".")
    if len(parts) >= 2 and parts[-2] == "request":
        return _SOURCES.get(parts[-1])
    return None


def _form_fields(form_cls):
    out = []
    for name, field in getattr(form_cls, "base_fields", {}).items():
        kind = type(field).__name__
        tp = int if kind == "IntegerField" else "decimal" if kind in ("DecimalField", "FloatField") else \
            bool if kind == "BooleanField" else str
        out.append((name, tp, bool(field.required)))
    return out


def view_inputs(node, namespace):
    """{'query'|'form'|'headers'|'cookies': {key: (type, required)}}."""
    found = {k: {} for k in ("query", "form", "headers", "cookies")}

    def add(where, key, tp=str, required=False):
        if where == "meta":
            if not key.startswith("HTTP_"):
                return
            where, key = "headers", key[5:].replace("_", "-").title()
        if where in found:
            old = found[where].get(key)
            found[where][key] = (old[0] if old and tp is str else tp, required or bool(old and old[1]))

    for n in ast.walk(node) if node is not None else ():
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.args:
            where = _source_of(n.func.value)
            key = literal_value(n.args[0])
            if where and n.func.attr in ("get", "getlist") and isinstance(key, str):
                add(where, key)
        if isinstance(n, ast.Call):
            # `SearchForm(request.GET)`: the form's fields are the keys
            args = list(n.args[:1]) + [k.value for k in n.keywords if k.arg == "data"]
            where = _source_of(args[0]) if args else None
            cls = namespace.get(n.func.id) if isinstance(n.func, ast.Name) else None
            if where and inspect.isclass(cls) and hasattr(cls, "base_fields"):
                for name, tp, req in _form_fields(cls):
                    add(where, name, tp, req)
        if isinstance(n, ast.Subscript):
            where = _source_of(n.value)
            sl = n.slice.value if isinstance(n.slice, ast.Index) else n.slice
            key = literal_value(sl)
            if where and isinstance(key, str):
                add(where, key, str, True)
        if isinstance(n, ast.Compare) and n.comparators and isinstance(n.ops[0], (ast.In, ast.NotIn)):
            where = _source_of(n.comparators[0])
            key = literal_value(n.left)
            if where and isinstance(key, str):
                add(where, key)
    return {k: sorted((key, tp, req) for key, (tp, req) in v.items()) for k, v in found.items()}


def _walk(patterns, ns, prefix):
    from django.urls import URLPattern, URLResolver
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from _walk(p.url_patterns, ns + [p.namespace] if p.namespace else ns, prefix + [p.pattern])
        elif isinstance(p, URLPattern):
            yield p, ns, prefix + [p.pattern]


def _params(patterns):
    out = []
    for pat in patterns:
        convs = getattr(pat, "converters", None)
        if convs is not None:
            for name, conv in convs.items():
                out.append((name, int if type(conv).__name__ == "IntConverter" else str))
        else:
            regex = getattr(pat, "regex", None)
            for name in (regex.groupindex if regex is not None else {}):
                out.append((name, str))
    return out


class ViewRoute:
    """One URL pattern reaching the view."""

    def __init__(self, name, params, methods):
        self.name = name          # 'shop:product-detail'
        self.params = params      # [(name, type)]
        self.methods = methods


def view_routes(func=None, cls=None):
    from django.urls import get_resolver
    out = []
    for p, ns, chain in _walk(get_resolver().url_patterns, [], []):
        cb = p.callback
        view_class = getattr(cb, "view_class", None)
        if cls is not None:
            hit = view_class is not None and (view_class.__module__, view_class.__qualname__) == (
                cls.__module__, cls.__qualname__)
        else:
            inner = inspect.unwrap(cb)
            hit = view_class is None and (getattr(inner, "__module__", None), getattr(inner, "__qualname__", None)) \
                == (func.__module__, func.__qualname__)
        if hit and p.name:
            out.append(ViewRoute(":".join(ns + [p.name]), _params(chain), None))
    return out


class DjangoPlan(Plan):
    def key(self):
        if self.args is None:
            return None
        return repr([(s["model"].__name__, s["var"], sorted(s["values"].items())) for s in self.steps]) + \
            json.dumps(self.args, sort_keys=True, default=repr)


class DjangoViewExplorer(Explorer):
    """A Django view (function, or a method of a class-based view) reached
    through `django.test.Client` requests."""

    def prepare(self):
        django_setup(self.ctx)
        dj = self.ctx.django
        if not dj.settings_module or dj.error:
            raise SkipTarget("Django is not set up: %s" % (dj.error or "no settings module"))
        status, module = self.ctx.guard.run(lambda: importlib.import_module(self.t["module"]), 30.0,
                                            self.ctx.enforce_imports)
        if status != "ok":
            raise SkipTarget("cannot import %s: %s" % (self.t["module"], last_line(module)
                                                       if isinstance(module, BaseException) else status))
        parts = self.t["qualname"].split(".")
        obj = getattr(module, parts[0], None)
        if inspect.isclass(obj):
            cls, func = obj, getattr(obj, parts[-1], None) if len(parts) > 1 else None
            routes = view_routes(cls=cls)
            methods = [m.upper() for m in cls.http_method_names if m not in ("options", "head") and hasattr(cls, m)]
            cls_node = find_def(self.ctx.parse(self.t["file"]), parts[0], 1, 10 ** 9)
            scope = cls_node
        else:
            cls, func = None, obj
            routes = view_routes(func=func) if func is not None else []
            scope = None
        if func is None or not hasattr(inspect.unwrap(func), "__code__"):
            raise SkipTarget("%s is not a view function or method" % self.t["qualname"])
        func = inspect.unwrap(func)
        if not routes:
            raise SkipTarget("no named URL pattern of the project routes to %s (reverse() needs a name)"
                             % self.t["qualname"])
        node = find_def(self.ctx.parse(self.t["file"]), func.__name__, self.lo, self.hi)
        scope = scope or node
        ns = getattr(func, "__globals__", {})
        if cls is None:
            consts = {v for n in ast.walk(node) for v in consts_of(n)} if node is not None else set()
            methods = ["GET"] + [m for m in ("POST", "PUT", "PATCH", "DELETE") if m in consts]
            if "POST" not in methods and ("request.POST" in ast.unparse(node) if node is not None else False):
                methods.append("POST")
        for r in routes:
            r.methods = methods
        self.own_method = parts[-1].upper() if cls is not None and parts[-1].upper() in methods else None
        self.check_safety(node, ns)
        self.setup_trace(func.__code__, node)
        self.routes = routes
        self.inputs = view_inputs(scope, ns)
        self.strings = self._strings(scope)
        models = models_in(scope, ns)
        if cls is not None and is_model(getattr(cls, "model", None)) and cls.model not in models:
            models.insert(0, cls.model)
        self.direct = list(models)  # what a bare `pk` most likely names
        self.models = []
        self.builder = ModelBuilder(self.rng, self.strings)
        for m in with_related(models):
            try:
                self.builder.steps(m, True, [])
                self.models.append(m)
            except Skip:
                pass
        self.view_name = snake(self.t["qualname"].replace(".", "_"))
        self.plateau = 80
        # The methods of one class-based view (get_queryset, get_context_data,
        # render_to_response) answer the same requests: each gets tests of its
        # own, never the request a test of another method already makes.
        self.written = dj.view_keys.setdefault((cls.__module__, cls.__qualname__), set()) \
            if cls is not None else set()

    def known_keys(self):
        return set(self.written)

    def _strings(self, scope):
        out = []
        for n in ast.walk(scope) if scope is not None else ():
            if isinstance(n, ast.Compare):
                for side in [n.left] + list(n.comparators):
                    for v in consts_of(side):
                        # `request.method == "POST"` names no value a field takes
                        if v in _METHODS:
                            continue
                        if isinstance(v, str) and v not in out and len(out) < 30:
                            out.append(v)
        return out

    # -- candidates ----------------------------------------------------------------

    def _steps(self, base):
        steps = []
        if base:
            models = self.models
        else:
            models = [self.models[self.rng.randrange(len(self.models))]
                      for _ in range(self.rng.choice([0, 1, 1, 2, 2, 3]))] if self.models else []
        for m in models:
            try:
                steps += self.builder.steps(m, base, steps)
            except Skip:
                pass
        return steps

    def _value(self, tp, name, base):
        rng = self.rng
        if tp is int:
            pool = [1, 0, 2, 3, -1, 10, 999]
        elif tp == "decimal":
            pool = ["1", "0", "2.50", "-1", "abc", "100"]
        elif tp is bool:
            pool = ["on", ""]
        else:
            pool = self.strings + ["abc", "", "1", "a longer title", "ab"]
        return str(pool[0] if base else pool[rng.randrange(len(pool))])

    def _path_value(self, name, tp, steps, base):
        """A created object's pk for `pk`/`<model>_id` parameters (a missing
        one now and then, for the 404 branch)."""
        low = name.lower()
        if tp is int and (low in _ID_LIKE or low.endswith("_id") or low.endswith("_pk")):
            stem = low.rsplit("_", 1)[0] if "_" in low else ""
            fit = [s for s in steps if snake(s["model"].__name__) == stem] or \
                [s for s in steps if s["model"] in self.direct[:1]] or \
                [s for s in steps if s["model"] in self.direct] or steps
            if fit and (base or self.rng.random() < 0.85):
                return Ref(fit[0 if base else self.rng.randrange(len(fit))]["var"])
        return 1 if tp is int and base else int(self._value(int, name, base)) if tp is int else \
            self._value(str, name, base)

    def draw(self, steps, base=False):
        rng = self.rng
        route = self.routes[0] if base else self.routes[rng.randrange(len(self.routes))]
        methods = route.methods
        if self.own_method and (base or rng.random() < 0.7):
            method = self.own_method
        else:
            method = methods[0] if base else methods[rng.randrange(len(methods))]
        path = {name: self._path_value(name, tp, steps, base) for name, tp in route.params}
        data = {}
        source = self.inputs["query"] if method == "GET" else self.inputs["form"] + self.inputs["query"]
        for name, tp, required in source:
            if required or (not base and rng.random() < 0.6):
                data[name] = self._value(tp, name, base)
        headers = {}
        for name, tp, required in self.inputs["headers"]:
            if required or (not base and rng.random() < 0.6):
                headers[name] = self._value(tp, name, base)
        cookies = {}
        for name, tp, required in self.inputs["cookies"]:
            if required or (not base and rng.random() < 0.6):
                cookies[name] = self._value(tp, name, base)
        if cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in sorted(cookies.items()))
        return {"method": method, "route": route.name, "path": path, "data": data, "headers": headers}

    def plans(self):
        steps = self._steps(True)
        yield DjangoPlan(self.draw(steps, base=True), None, steps)
        for method in self.routes[0].methods:
            req = self.draw(steps, base=True)
            req["method"] = method
            yield DjangoPlan(req, None, steps)
        while True:
            steps = self._steps(False)
            yield DjangoPlan(self.draw(steps), None, steps)

    # -- running -------------------------------------------------------------------

    def run(self, plan):
        from django.test import Client
        from django.urls import reverse
        objects = {}
        for step in plan.steps:
            create(step, objects)
        before = {var: field_state(obj) for var, obj in objects.items()}
        req = plan.args
        kwargs = {k: objects[v.var].pk if isinstance(v, Ref) else v for k, v in req["path"].items()}
        url = reverse(req["route"], kwargs=kwargs or None)
        client = Client()
        value = exc = None
        with self.ctx.tracer:
            try:
                resp = getattr(client, req["method"].lower())(url, req["data"], headers=req["headers"] or None)
            except Exception as e:
                exc = e
        if exc is not None:
            return Outcome("raise", exc=exc).traced(self.ctx.tracer)
        value = (resp.status_code, self._body(resp), field_changes(objects, before))
        return Outcome("return", value=value).traced(self.ctx.tracer)

    def _body(self, resp):
        ctype = resp.get("Content-Type", "") or ""
        if getattr(resp, "streaming", False):
            return None
        if "json" in ctype:
            try:
                return ("json", json.loads(resp.content))
            except ValueError:
                return None
        if 300 <= resp.status_code < 400 and resp.get("Location"):
            return ("location", resp["Location"])
        if ctype.startswith("text/") and len(resp.content) <= 200 and b"<" not in resp.content:
            return ("content", bytes(resp.content))
        return None

    # -- rendering -----------------------------------------------------------------

    def outcome_sig(self, out):
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        return ("return", repr(out.value))

    def run_test(self, fn):
        from .django import django_guarded
        body, _ = django_guarded(self.ctx.django, fn)
        status, _ = self.ctx.guard.run(body, self.call_timeout * 2, not self.allow_unsafe)
        self.calls += 1
        return status == "ok"

    def request_src(self, req, plan):
        kw = ", ".join("%r: %s" % (k, value_src(v)[0] + (".pk" if isinstance(v, Ref) else ""))
                       for k, v in sorted(req["path"].items()))
        url = "reverse(%r, kwargs={%s})" % (req["route"], kw) if kw else "reverse(%r)" % req["route"]
        args = [url]
        if req["data"]:
            args.append(literal_src(dict(sorted(req["data"].items()))))
        if req["headers"]:
            args.append("headers=%s" % literal_src(dict(sorted(req["headers"].items()))))
        return "Client().%s(%s)" % (req["method"].lower(), ", ".join(args))

    def render(self, plan, out, again, used):
        body = []
        imports = {"from django.test import Client", "from django.urls import reverse"}
        pks = {}
        for step in plan.steps:
            line, imps = step_src(step)
            body.append(line)
            imports |= imps
        call = self.request_src(plan.args, plan)
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, call)
            imports |= imps
            body += lines
            words = "raises_" + snake(type(out.exc).__name__)
        else:
            status, payload, changes = out.value
            same = again.kind == "return" and again.value == out.value
            body.append("response = %s" % call)
            body.append("assert response.status_code == %d" % status)
            if same and payload is not None:
                body += self._payload_lines(payload, plan, pks)
            if same:
                imports |= change_lines(plan.steps, changes, body)
            words = "returns_%d" % status
        cond = trim_words(self.decisions.last(out.order))
        method = plan.args["method"].lower()
        view = self.view_name or "view"
        base = "test_%s_%s" % (view if view.endswith("_" + method) else "%s_%s" % (view, method), words)
        if cond:
            base += "_when_" + cond
        name = unique_name(base, used)
        src = "def %s():\n%s\n" % (name, "\n".join("    " + ln for ln in body))
        key = DjangoPlan.key(plan)  # simplify() hands back a plain Plan
        if key is not None:
            self.written.add(key)
        return {"name": name, "source": src, "imports": sorted(imports), "fixtures": []}

    def _payload_lines(self, payload, plan, pks):
        kind, data = payload
        if kind == "location":
            return ["assert response['Location'] == %s" % literal_src(data)]
        if kind == "content":
            return ["assert response.content == %r" % data]
        if isinstance(data, dict) and any(self._id_key(k, v) for k, v in data.items()):
            # ids the database assigned: equal to a created object's pk, or
            # only an int (another suite's rows may come first)
            lines = ["data = response.json()"]
            for k, v in data.items():
                if self._id_key(k, v):
                    lines.append("assert isinstance(data[%r], int)" % k)
                else:
                    lines.append("assert data[%r] == %s" % (k, literal_src(v)))
            return lines
        src = literal_src(data)
        return ["assert response.json() == %s" % src] if len(src) <= 1500 else []

    @staticmethod
    def _id_key(k, v):
        return isinstance(v, int) and not isinstance(v, bool) and (k in _ID_LIKE or str(k).endswith("_id"))
