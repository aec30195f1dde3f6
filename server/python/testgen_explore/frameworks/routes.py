"""Routes (Flask and FastAPI): a view function reached through HTTP requests
via the framework's test client, against a freshly imported application,
setup requests (POST/PUT routes) first."""

import ast
import contextlib
import json
import os
import shutil

from ..execution import Outcome, harvest_scalars
from ..generation import Gen
from ..isolation import forget_project_modules, restore_project_modules
from ..naming import snake, trim_words, unique_name
from ..protocol import last_line
from ..safety import SkipTarget
from ..search import Explorer, Plan
from ..source import consts_of, find_def
from ..values import class_ref, literal_src
from .appdir import app_workdir, enter_workdir, leave_workdir
from .depends import DependencyPolicy, Overrides
from .fastapi import fastapi_specs
from .flask import flask_specs
from .flaskapp import build_flask, new_instance_dir
from .logins import Auth, credential
from .spec import BODY_METHODS, request_key


def build_app(app_json, instances=None):
    """The application as the generated conftest builds it; a Flask app's
    instance folder is a new temporary directory, added to `instances`."""
    if app_json.get("framework") == "flask":
        instance = new_instance_dir()
        if instances is not None:
            instances.append(os.path.dirname(instance))
        return build_flask(app_json, instance)
    ns = {}
    exec(app_json["import"], ns)
    return eval(app_json["expr"], ns)


class RouteExplorer(Explorer):
    """A view function reached through HTTP requests. Each candidate runs on a
    freshly imported application (as the generated conftest's `client` does),
    after a few setup requests (POST/PUT routes) that create state."""

    def prepare(self):
        app_json = self.req.get("app")
        if not app_json:
            raise SkipTarget("a route target needs the application (`app` from find_app)")
        self.framework = app_json.get("framework")
        self.instances = []  # temporary instance folders and working directories, removed after the search
        candidates = [app_json] + [dict(o, framework=self.framework) for o in app_json.get("others") or []]
        failures = []
        for cand in candidates:
            specs, why = self._specs(cand)
            if why is not None:
                failures.append(why)
                continue
            if self._pick_targets(specs):
                self.app_json = {k: v for k, v in cand.items() if k not in ("others", "fixture")}
                self.client_name = cand.get("fixture") or "client"
                break
        else:
            if failures and len(failures) == len(candidates):
                raise SkipTarget(failures[0])
            raise SkipTarget("no URL rule of the application%s has %s as its view%s" % (
                "s" if len(candidates) > 1 else "", self.t["qualname"],
                " (%s)" % "; ".join(failures) if failures else ""))
        view = self.view
        specs = self.specs
        self.setups = [s for _, s in specs if set(s.methods) & {"POST", "PUT"}]
        # Flask keeps a login in the session cookie of its test client.
        self.auth = Auth([s for _, s in specs] if self.framework == "flask" else [])
        self.policy = DependencyPolicy()
        self.overridden = set()  # the labels the running plan overrides
        self.deps = [d for s in self.targets + self.setups for d in s.depends]
        node = find_def(self.ctx.parse(self.t["file"]), view.__name__, self.lo, self.hi)
        ns = getattr(view, "__globals__", {})
        self.check_safety(node, ns)
        self.setup_trace(view.__code__, node)
        self.gen = Gen(self.rng, self.callsites, ns, self.ctx.guard)
        self.module_strs = self._module_strings(self.t["file"])
        self.dep_consts = self._dependency_constants()
        self.view_name = view.__name__
        self.plateau = 80
        self.corpus = []
        self.corpus_keys = set()

    def _specs(self, app_json):
        """(the route specs of the application `app_json` names, None), or
        (None, why it could not be built)."""
        saved = forget_project_modules(self.ctx)
        try:
            status, app = self.ctx.guard.run(lambda: build_app(app_json, self.instances), 60.0,
                                             self.ctx.enforce_imports)
            if status != "ok":
                return None, "cannot create the application (%s): %s" % (
                    app_json.get("expr"), last_line(app) if isinstance(app, BaseException)
                    else "refused %s" % app if status == "unsafe" else status)
            return (flask_specs(self.ctx, app) if self.framework == "flask" else fastapi_specs(self.ctx, app)), None
        finally:
            restore_project_modules(self.ctx, saved)

    def _pick_targets(self, specs):
        """The routes of `specs` whose view is the target (self.targets,
        self.view); False when there is none."""
        target_file = os.path.abspath(self.t["file"])
        self.targets, self.view = [], None
        for inner, spec in specs:
            code = getattr(inner, "__code__", None)
            if code is None or os.path.abspath(code.co_filename) != target_file:
                continue
            if self.lo <= code.co_firstlineno <= self.hi:
                self.targets.append(spec)
                self.view = inner
        self.specs = specs
        return bool(self.targets)

    def _module_strings(self, path):
        """String constants compared against in the view's module: likely
        query values (`value.lower() in ("1", "true")`), and the keys of a
        module-level table a path parameter is looked up in (`if item_id not
        in fake_items_db: raise HTTPException(404)`)."""
        out = []
        tree = self.ctx.parse(path)
        tables = {}
        for n in tree.body if tree else []:
            if isinstance(n, ast.Assign) and isinstance(n.value, (ast.Dict, ast.List, ast.Set, ast.Tuple)):
                for t in n.targets:
                    if isinstance(t, ast.Name):
                        tables[t.id] = n.value
        for n in ast.walk(tree) if tree else []:
            if isinstance(n, ast.Compare):
                sides = [n.left] + list(n.comparators)
                sides += [tables[x.id] for x in n.comparators if isinstance(x, ast.Name) and x.id in tables
                          and any(isinstance(op, (ast.In, ast.NotIn)) for op in n.ops)]
                for side in sides:
                    for v in consts_of(side):
                        if isinstance(v, str) and v not in out and len(out) < 30:
                            out.append(v)
        return out

    def _dependency_constants(self):
        """{input name: [str constants]} a dependency compares its own
        parameter against (`if x_token != "fake-super-secret-token": raise
        HTTPException(400)`): the value a real client sends, by the name the
        request carries it under (a header's `x-token` too)."""
        out = {}
        for dep in self.deps:
            code = dep.code()
            if code is None:
                continue
            tree = self.ctx.parse(code.co_filename)
            node = find_def(tree, code.co_name, code.co_firstlineno, code.co_firstlineno + 10000) if tree else None
            if node is None:
                continue
            params = {a.arg for a in node.args.args + node.args.kwonlyargs}
            for n in ast.walk(node):
                if not isinstance(n, ast.Compare):
                    continue
                sides = [n.left] + list(n.comparators)
                names = [x.id for x in sides if isinstance(x, ast.Name) and x.id in params]
                consts = [v for x in sides for v in consts_of(x) if isinstance(v, str)]
                for name in names:
                    for key in (name, name.replace("_", "-")):
                        bucket = out.setdefault(key, [])
                        bucket += [c for c in consts if c not in bucket]
        return out

    def explore(self):
        try:
            return super().explore()
        finally:
            # outside any guarded call: the guard refuses removals
            for d in getattr(self, "instances", []):
                shutil.rmtree(d, ignore_errors=True)

    # -- requests ----------------------------------------------------------------

    def _value(self, tp, name, base):
        gen, rng = self.gen, self.rng
        ints = [x for x in gen.harvest if type(x) is int]
        strs = [x for x in gen.harvest if type(x) is str]
        if tp is int:
            if base:
                return ints[0] if ints else 1
            if ints and rng.random() < 0.6:
                return ints[rng.randrange(len(ints))]
            return rng.choice([1, 2, 3, 0, -1, 999])
        if tp is float:
            return 1.0 if base else rng.choice([1.0, 0.0, -1.0, 2.5, 100.0])
        if tp is bool:
            return True if base else rng.choice([True, False])
        if tp == "uuid":
            return "00000000-0000-0000-0000-000000000001"
        cred = credential(name) if self.auth.login is not None else None
        if cred is not None and (base or rng.random() < 0.7):
            return cred  # the account a prelude registers and logs in with
        consts = self.dep_consts.get(name)
        if consts and (base or rng.random() < 0.8):
            return consts[0] if base else consts[rng.randrange(len(consts))]
        pool = gen._hinted(name) + self.module_strs + ["abc", "", "1", "0"]
        if base:
            return strs[0] if strs and name and "id" in name.lower() else pool[0]
        if strs and rng.random() < 0.3:
            return strs[rng.randrange(len(strs))]
        return pool[rng.randrange(len(pool))]

    def _body(self, spec, base):
        """The JSON body: a pydantic model's fields, or the keys the view reads."""
        rng, gen = self.rng, self.gen
        if spec.model is not None:
            ref = class_ref(spec.model) or (spec.model.__name__, None)
            ctor_spec = gen.ctor_spec(spec.model)
            if ctor_spec is None:
                return {}
            val = gen._ctor_from(spec.model, ref, ctor_spec, 0, "base" if base else "random",
                                 rng=None if base else rng)
            try:
                inst = val.build() if val is not None else None
            except Exception:
                inst = None
            if inst is None:
                return {}
            if hasattr(inst, "model_dump"):
                return inst.model_dump(mode="json", exclude_unset=True)
            return json.loads(inst.json(exclude_unset=True))
        facts = spec.json_facts
        if facts is None:
            return None
        keys = sorted(facts.keys.get(spec.json_var, {}).items())
        body = {}
        for k, (required, hint) in keys:
            vals = gen._key_values(k, hint, facts)
            cred = credential(k) if self.auth.login is not None else None
            if cred is not None and (base or rng.random() < 0.7):
                body[k] = cred
                continue
            if base:
                body[k] = vals[0]
                continue
            if rng.random() < (0.1 if required else 0.2):
                continue
            ints = [x for x in gen.harvest if type(x) is int]
            if ints and hint and hint[0] == "num" and rng.random() < 0.6:
                body[k] = ints[rng.randrange(len(ints))]
            else:
                body[k] = vals[rng.randrange(len(vals))]
        return body

    def draw(self, spec, base=False, method=None):
        rng = self.rng
        if method not in spec.methods:
            method = spec.methods[0] if base else spec.methods[rng.randrange(len(spec.methods))]
        path = {name: self._value(tp, name, base) for name, tp in spec.path_params}
        query = {}
        for name, tp, required in self._inputs(spec, "query"):
            if required or (not base and rng.random() < 0.6):
                query[name] = self._value(tp, name, base)
        body = self._body(spec, base) if method in BODY_METHODS else None
        form = None
        if method in BODY_METHODS and spec.form and (body is None or not body or rng.random() < 0.5):
            form, body = self._fields(self._inputs(spec, "form"), base, blank=" "), None
        req = {"method": method, "url": spec.url(path, query), "json": body, "spec": spec}
        if form is not None:
            req["form"] = form
        headers = self._fields(self._inputs(spec, "headers"), base)
        cookies = self._fields(self._inputs(spec, "cookies"), base)
        if cookies:
            headers["Cookie"] = "; ".join("%s=%s" % kv for kv in sorted(cookies.items()))
        if headers:
            req["headers"] = headers
        return req

    def _inputs(self, spec, kind):
        """The query keys, form fields, headers or cookies of a route, less
        those only an overridden dependency reads."""
        return [f for f in getattr(spec, kind) if spec.read_by.get((kind, f[0])) not in self.overridden]

    def _fields(self, fields, base, blank=None):
        """Form fields, headers or cookies: the required ones, and (drawn)
        each optional one seven times in ten, as strings. FastAPI takes an
        empty form field for a missing one: `blank` stands in for it."""
        out = {}
        for name, tp, required in fields:
            if required or base or self.rng.random() < 0.7:
                value = self._value(tp, name, base)
                text = ("true" if value else "false") if tp is bool else str(value)
                out[name] = blank if text == "" and blank is not None and self.framework == "fastapi" else text
        return out

    def _prelude(self):
        """Register, then log in (when the app has such routes): the steps
        that put a logged-in session into the test client."""
        return [[spec, req, None, ""] for spec, req in self.auth.prelude(self.draw)]

    def plans(self):
        prelude = self._prelude()
        for spec in self.targets:
            # the dependencies as they are first: overrides only for those
            # that fail (DependencyPolicy)
            yield Plan(self.draw(spec, base=True), Overrides(), [])
        for spec in self.targets if prelude else []:
            # logged in: each method as it is, and after each kind of object
            # a logged-in user can create; the latter first when the URL
            # names an object (`/<int:id>/update`), which must exist
            plain = [Plan(self.draw(spec, base=True, method=m), None, [list(s) for s in prelude])
                     for m in spec.methods]
            made = []
            for setup in self.setups:
                if setup not in (self.auth.login, self.auth.register):
                    step = [setup, self.draw(setup, base=True, method="POST"), None, ""]
                    made += [Plan(self.draw(spec, base=True, method=m), None,
                                  [list(s) for s in prelude] + [list(step)]) for m in spec.methods]
            yield from (made + plain) if spec.path_params else (plain + made)
        for _ in self.targets:
            for setup in self.setups:
                yield Plan(None, None, [[setup, None, None, ""]])
        rng = self.rng
        while True:
            if self.corpus and rng.random() < 0.6:
                steps = [list(s) for s in self.corpus[rng.randrange(len(self.corpus))]]
                if rng.random() < 0.7 and len(steps) < 6:
                    steps.append([self.setups[rng.randrange(len(self.setups))], None, None, ""])
            else:
                steps = [[self.setups[rng.randrange(len(self.setups))], None, None, ""]
                         for _ in range(rng.choice([0, 1, 1, 2]) if self.setups else 0)]
                if prelude and rng.random() < 0.5:
                    steps = [list(s) for s in prelude] + steps
            yield Plan(None, None, steps)

    # -- running -----------------------------------------------------------------

    def _send(self, client, req):
        method = req["method"].lower()
        kwargs = {"json": req["json"]} if req["json"] is not None else {}
        if req.get("form") is not None:
            kwargs["data"] = req["form"]
        if req.get("headers"):
            kwargs["headers"] = req["headers"]
        resp = getattr(client, method)(req["url"], **kwargs)
        if self.framework == "flask":
            data = resp.get_json(silent=True) if resp.is_json else None
        else:
            ctype = resp.headers.get("content-type", "")
            try:
                data = resp.json() if "json" in ctype else None
            except ValueError:
                data = None
        return resp.status_code, data

    @contextlib.contextmanager
    def fresh_client(self, quiet_close):
        """A test client over a freshly imported application, built as the
        generated conftest builds it; the project's modules are restored
        after. After an exception (a timeout may leave the handler spinning
        in a worker thread) a FastAPI client is left open: closing it would
        wait for that thread forever."""
        saved = forget_project_modules(self.ctx)
        workdir = None
        try:
            if self.framework == "fastapi":
                workdir = app_workdir(self.ctx.root)
                self.instances.append(workdir)
                moved = enter_workdir(workdir)
            app = build_app(self.app_json, self.instances)
            if self.framework == "flask":
                yield app.test_client()
                return
            from fastapi.testclient import TestClient
            closing = TestClient(app)
            client = closing.__enter__()
            yield client
            try:
                closing.__exit__(None, None, None)
            except Exception:
                if not quiet_close:
                    raise
        finally:
            if workdir is not None:
                leave_workdir(moved)
            restore_project_modules(self.ctx, saved)

    def _overrides(self, plan, client):
        """The plan's dependency overrides (drawn on the first run, with the
        types of the application just imported), set on its application."""
        if self.framework != "fastapi":
            return Overrides()
        if plan.ctor is None:
            plan.ctor = self.policy.draw(self.rng, self.gen, self.deps)
        plan.ctor.apply(client.app)
        return plan.ctor

    def _send_target(self, client, req, overridden):
        """The target request, traced; each dependency of its route watched
        for how it ends, for the DependencyPolicy."""
        spec = req.get("spec")
        deps = spec.depends if spec is not None else []
        tracer = self.ctx.tracer
        tracer.watch = {}
        for d in deps:
            code = d.code()
            if code is not None and d.label not in overridden:
                tracer.watch[code] = d.label
        value = exc = None
        try:
            with tracer:
                try:
                    value = self._send(client, req)
                except Exception as e:
                    exc = e
        finally:
            tracer.watch = {}
        if deps:
            self.policy.observe(deps, overridden, tracer.returned, tracer.raised,
                                value[0] if value is not None else None)
        return value, exc

    def run(self, plan):
        with self.fresh_client(quiet_close=True) as client:
            gen = self.gen
            gen.harvest = []
            overridden = self.overridden = self._overrides(plan, client).labels()
            done = []
            for spec, req, _, _ in plan.steps:
                if req is None:
                    req = self.draw(spec)
                try:
                    status, data = self._send(client, req)
                except Exception:
                    continue
                if status >= 400:
                    continue
                harvest_scalars(data, gen.harvest)
                done.append([spec, req, status, ""])
            if done and len(done) == len(plan.steps):
                key = "|".join(request_key(s[1]) for s in done)
                if key not in self.corpus_keys and len(self.corpus) < 300:
                    self.corpus_keys.add(key)
                    self.corpus.append([list(s) for s in done])
            plan.steps = done
            if plan.args is None:
                spec = self.targets[self.rng.randrange(len(self.targets))]
                plan.args = self.draw(spec)
            value, exc = self._send_target(client, plan.args, overridden)
            out = Outcome("raise", exc=exc) if exc is not None else Outcome("return", value=value)
            out.traced(self.ctx.tracer)
            return out

    # -- rendering ---------------------------------------------------------------

    def outcome_sig(self, out):
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        return ("return", out.value[0], literal_src(out.value[1]) if out.value[1] is not None else None)

    def run_test(self, fn):
        """A route test gets a `client` built as the conftest builds it."""
        def body():
            with self.fresh_client(quiet_close=False) as client:
                fn(client)
        status, _ = self.ctx.guard.run(body, self.call_timeout * 2, not self.allow_unsafe)
        self.calls += 1
        return status == "ok"

    def request_src(self, req):
        args = [repr(req["url"])]
        if req["json"] is not None:
            args.append("json=%s" % literal_src(req["json"]))
        if req.get("form") is not None:
            args.append("data=%s" % literal_src(req["form"]))
        if req.get("headers"):
            args.append("headers=%s" % literal_src(req["headers"]))
        return "%s.%s(%s)" % (self.client_name, req["method"].lower(), ", ".join(args))

    def render(self, plan, out, again, used):
        body = []
        imports = set()
        for _, req, status, _ in plan.steps:
            body.append("assert %s.status_code == %d" % (self.request_src(req), status))
        call = self.request_src(plan.args)
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, call)
            imports |= imps
            body += lines
            words = "raises_" + snake(type(out.exc).__name__)
        else:
            status, data = out.value
            body.append("response = %s" % call)
            body.append("assert response.status_code == %d" % status)
            if data is not None and again.value[1] == data:
                src = literal_src(data)
                if len(src) <= 1500:
                    getter = "response.get_json()" if self.framework == "flask" else "response.json()"
                    body.append("assert %s == %s" % (getter, src))
            words = "returns_%d" % status
        if isinstance(plan.ctor, Overrides):
            body = plan.ctor.wrap(body, self.client_name)
        cond = trim_words(self.decisions.last(out.order))
        base = "test_%s_%s" % (self.view_name.strip("_") or "view", words)
        if cond:
            base += "_when_" + cond
        name = unique_name(base, used)
        src = "def %s(%s):\n%s\n" % (name, self.client_name, "\n".join(("    " + ln) if ln else "" for ln in body))
        return {"name": name, "source": src, "imports": sorted(imports), "fixtures": [self.client_name]}
