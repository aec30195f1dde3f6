"""Django code the generic explorer cannot call sensibly, each called the way
Django calls it: a registered ModelAdmin's methods (an admin action gets a
request and a queryset of model instances created with valid field values,
`ProductAdmin(Product, admin.site)` as its receiver), a form's clean_*
methods (reached through `form.is_valid()` with data for every field), and
the conventional manage.py `main()` (run with `sys.argv` patched to the
harmless `check` command, never a command of the project's)."""

import ast
import contextlib
import inspect
import io
import os
import sys
from unittest import mock

from ..execution import Outcome
from ..naming import snake, trim_words, unique_name
from ..protocol import last_line
from ..render import machine_specific
from ..safety import SkipTarget
from ..search import Explorer, Plan
from ..source import consts_of, find_def
from ..values import class_ref, literal_src
from .django import django_setup
from .djangomodels import (ModelBuilder, Ref, Skip, assertable, change_lines, create, field_changes, field_state,
                           is_model, step_src, value_src, with_related)
from .djangoviews import DjangoPlan


def django_unit_explorer(ctx, req):
    """The explorer for a Django admin method, form clean method, a model's
    own method called bare, or manage.py main(); None when the target is
    none of them."""
    t = req.get("target") or {}
    kind, qual = t.get("kind"), t.get("qualname") or ""
    parts = qual.split(".")
    if kind == "function" and qual == "main" and os.path.basename(t.get("file") or "") == "manage.py":
        return ManageMainExplorer(ctx, req) if is_manage_main(ctx.parse(t["file"])) else None
    if kind != "method" or len(parts) != 2:
        return None
    django_setup(ctx)
    if not ctx.django.settings_module or ctx.django.error:
        return None
    from ..callables import import_module
    try:
        module = import_module(ctx, t["module"])
    except SkipTarget:
        return None  # the generic explorer says why
    cls = getattr(module, parts[0], None)
    func = inspect.unwrap(vars(cls).get(parts[1])) if inspect.isclass(cls) and parts[1] in vars(cls) else None
    if not inspect.isfunction(func):
        return None
    if _registered_model(cls) is not None and _admin_params(func) is not None:
        return AdminMethodExplorer(ctx, req, module, cls, func)
    if _is_form(cls) and (parts[1] == "clean" or parts[1][6:] in getattr(cls, "base_fields", {})) \
            and parts[1].startswith("clean"):
        return FormCleanExplorer(ctx, req, module, cls, func)
    from .djangomethods import ModelMethodExplorer, bare_method  # it builds on this module
    if is_model(cls) and bare_method(func):
        return ModelMethodExplorer(ctx, req, module, cls, func)
    return None


def _strings(node):
    """String constants of a def's body (not of its decorators)."""
    out = []
    for n in (x for stmt in (node.body if node is not None else ()) for x in ast.walk(stmt)):
        for v in consts_of(n):
            if isinstance(v, str) and v not in out and len(out) < 30:
                out.append(v)
    return out


def _imports_of(steps):
    out = set()
    for step in steps:
        out |= step_src(step)[1]
    return out


class _ModelSteps:
    """Creation steps of model instances for the setup of a test."""

    def _init_models(self, models, strings):
        self.builder = ModelBuilder(self.rng, strings)
        self.models = []
        for m in with_related(models):
            try:
                self.builder.steps(m, True, [])
                self.models.append(m)
            except Skip:
                pass

    def _steps(self, models, base, count=None):
        steps = []
        if count is None:
            count = self.rng.choice([0, 1, 1, 2, 3])
        for m in models * (count if not base else 1):
            try:
                steps += self.builder.steps(m, base, steps)
            except Skip:
                pass
        return steps

    def _create(self, plan):
        objects = {}
        try:
            for step in plan.steps:
                create(step, objects)
        except Exception:
            return None
        return objects

    def _change_lines(self, plan, changes):
        body = []
        return body, change_lines(plan.steps, changes, body)

    def _finish(self, plan, out, body, imports, words, used):
        cond = trim_words(self.decisions.last(out.order))
        base = "test_%s_%s" % (self.words, words)
        if cond:
            base += "_when_" + cond
        name = unique_name(base, used)
        src = "def %s():\n%s\n" % (name, "\n".join("    " + ln for ln in body))
        return {"name": name, "source": src, "imports": sorted(imports), "fixtures": []}


# -- ModelAdmin methods ---------------------------------------------------------------

def _registered_model(cls):
    try:
        from django.contrib import admin
    except ImportError:
        return None
    if not (inspect.isclass(cls) and issubclass(cls, admin.ModelAdmin)):
        return None
    for model, model_admin in admin.site._registry.items():
        if type(model_admin) is cls:
            return model
    return None


_QUERYSETS = ("queryset", "qs")
_OBJECTS = ("obj", "instance")


def _admin_params(func):
    """The parameters after self when the method takes only a request, a
    queryset and/or an object (an action, a display or permission method)."""
    try:
        params = list(inspect.signature(func).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    out = []
    for p in params:
        if p.name in ("request",) + _QUERYSETS + _OBJECTS:
            out.append(p.name)
        elif p.default is p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            return None
    return out or None


class AdminMethodExplorer(_ModelSteps, Explorer):
    def __init__(self, ctx, req, module, cls, func):
        super().__init__(ctx, req)
        self.module, self.cls, self.func = module, cls, func

    def prepare(self):
        self.name = self.t["qualname"].split(".")[-1]
        self.model = _registered_model(self.cls)
        self.params = _admin_params(self.func)
        node = find_def(self.ctx.parse(self.t["file"]), self.name, self.lo, self.hi)
        self.check_safety(node, vars(self.module))
        self.setup_trace(self.func.__code__, node)
        self._init_models([self.model], _strings(node))
        if self.model not in self.models:
            raise SkipTarget("no valid field values for %s" % self.model.__name__)
        src = ast.unparse(node) if node is not None else ""
        self.messages = "message_user" in src or "messages." in src
        self.var = snake(self.cls.__name__) or "model_admin"
        self.words = "%s_%s" % (self.var, self.name.strip("_"))
        self.plateau = 60

    def plans(self):
        yield DjangoPlan({"obj": 0}, None, self._steps([self.model], True))
        yield DjangoPlan({"obj": None}, None, [])
        while True:
            steps = self._steps([self.model], False)
            mine = [i for i, s in enumerate(steps) if s["model"] is self.model]
            pick = mine[self.rng.randrange(len(mine))] if mine and self.rng.random() < 0.8 else None
            yield DjangoPlan({"obj": pick}, None, steps)

    def _obj_var(self, plan):
        i = plan.args.get("obj")
        return plan.steps[i]["var"] if i is not None and i < len(plan.steps) else None

    def run(self, plan):
        from django.contrib import admin
        from django.test import RequestFactory
        objects = self._create(plan)
        if objects is None:
            return Outcome("discard")
        before = {var: field_state(obj) for var, obj in objects.items()}
        from django.contrib.auth.models import AnonymousUser
        request = RequestFactory().post("/admin/")
        request.user = AnonymousUser()  # as AuthenticationMiddleware sets it (the admin needs auth)
        if self.messages:
            from django.contrib.messages.storage.fallback import FallbackStorage
            request.session = {}
            request._messages = FallbackStorage(request)
        obj = objects.get(self._obj_var(plan))
        mine = [o.pk for o in objects.values() if type(o) is self.model]
        args = [request if p == "request" else self.model._default_manager.filter(pk__in=mine)
                if p in _QUERYSETS else obj for p in self.params]
        model_admin = self.cls(self.model, admin.site)
        value = exc = None
        with self.ctx.tracer:
            try:
                value = getattr(model_admin, self.name)(*args)
            except Exception as e:
                exc = e
        if exc is not None:
            return Outcome("raise", exc=exc).traced(self.ctx.tracer)
        msgs = []
        if self.messages:
            from django.contrib.messages import get_messages
            msgs = [str(m) for m in get_messages(request)]
        shown = value if assertable(value) else ("type", type(value).__name__)
        return Outcome("return", value=(shown, field_changes(objects, before), msgs)).traced(self.ctx.tracer)

    def outcome_sig(self, out):
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        return ("return", repr(out.value))

    def render(self, plan, out, again, used):
        body = [step_src(s)[0] for s in plan.steps]
        imports = _imports_of(plan.steps) | {"from django.contrib import admin",
                                             "from django.test import RequestFactory"}
        for cls in (self.cls, self.model):
            ref = class_ref(cls)
            if ref is None:
                return None
            if ref[1]:
                imports.add(ref[1])
        body.append("%s = %s(%s, admin.site)" % (self.var, class_ref(self.cls)[0], class_ref(self.model)[0]))
        body += ["request = RequestFactory().post('/admin/')", "request.user = AnonymousUser()"]
        imports.add("from django.contrib.auth.models import AnonymousUser")
        if self.messages:
            body += ["request.session = {}", "request._messages = FallbackStorage(request)"]
            imports |= {"from django.contrib.messages.storage.fallback import FallbackStorage",
                        "from django.contrib.messages import get_messages"}
        obj = self._obj_var(plan) or "None"
        model = class_ref(self.model)[0]
        # the rows selected in the changelist: the test's own, never others
        mine = ", ".join("%s.pk" % st["var"] for st in plan.steps if st["model"] is self.model)
        manager = "objects" if hasattr(self.model, "objects") else "_default_manager"
        queryset = "%s.%s.filter(pk__in=[%s])" % (model, manager, mine) if mine else \
            "%s.%s.none()" % (model, manager)
        args = ["request" if p == "request" else queryset if p in _QUERYSETS else obj for p in self.params]
        call = "%s.%s(%s)" % (self.var, self.name, ", ".join(args))
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, call)
            return self._finish(plan, out, body + lines, imports | imps,
                                "raises_" + snake(type(out.exc).__name__), used)
        shown, changes, msgs = out.value
        same = again.kind == "return" and again.value == out.value
        if same and shown is not None and not isinstance(shown, tuple):
            src, imps = value_src(shown)
            imports |= imps
            op = "is" if isinstance(shown, bool) else "=="
            body.append("assert %s %s %s" % (call, op, src))
            words = "returns_%s" % snake(str(shown))[:20] if isinstance(shown, (bool, int)) else "returns_value"
        else:
            body.append(call)
            words = "runs"
        if same:
            more, imps = self._change_lines(plan, changes)
            body += more
            imports |= imps
            if self.messages:
                body.append("assert [str(m) for m in get_messages(request)] == %s" % literal_src(msgs))
            if changes:
                words = "updates_" + "_".join(sorted({a for _, a, _ in changes if a}))[:40] or words
        return self._finish(plan, out, body, imports, words, used)


# -- form clean methods -----------------------------------------------------------------

def _is_form(cls):
    try:
        from django import forms
    except ImportError:
        return False
    return inspect.isclass(cls) and issubclass(cls, forms.BaseForm)


def _variants(strings):
    out = []
    for s in strings:
        for v in (s, s.upper(), "  %s " % s, s.capitalize()):
            if v not in out:
                out.append(v)
    return out


class FormCleanExplorer(_ModelSteps, Explorer):
    def __init__(self, ctx, req, module, cls, func):
        super().__init__(ctx, req)
        self.module, self.cls, self.func = module, cls, func

    def prepare(self):
        self.name = self.t["qualname"].split(".")[-1]
        self.field = self.name[6:] if self.name.startswith("clean_") else None
        node = find_def(self.ctx.parse(self.t["file"]), self.name, self.lo, self.hi)
        self.check_safety(node, vars(self.module))
        self.setup_trace(self.func.__code__, node)
        self.fields = dict(self.cls.base_fields)
        self.strings = _variants(_strings(node))
        related = [f.queryset.model for f in self.fields.values() if hasattr(f, "queryset")]
        self._init_models(related, self.strings)
        self.var = "form"
        self.words = "%s_%s" % (snake(self.cls.__name__), self.name.strip("_"))
        self.plateau = 60

    def _pool(self, name, field, steps):
        kind = type(field).__name__
        if hasattr(field, "queryset"):
            fit = [s["var"] for s in steps if s["model"] is field.queryset.model]
            one = [Ref(v) for v in fit] + ["999"]
            return [[x] for x in one] if "Multiple" in kind else one
        choices = [k for k, _ in getattr(field, "choices", ()) or () if k not in ("", None)]
        if choices and not isinstance(choices[0], (list, tuple)):
            return [str(c) for c in choices] + ["not-a-choice"]
        if kind == "BooleanField":
            return ["on", ""]
        if "Integer" in kind:
            return ["1", "0", "-1", "abc"]
        if kind in ("DecimalField", "FloatField"):
            return ["10.00", "0", "-1", "abc"]
        if kind == "EmailField":
            return ["user@example.com", "not-an-email"]
        if kind == "URLField":
            return ["https://example.com/", "not a url"]
        if kind == "DateField":
            return ["2024-01-02", "not a date"]
        if kind == "DateTimeField":
            return ["2024-01-02 03:04:05", "not a date"]
        strings = self.strings if name == self.field or self.field is None else []
        return ["Desk lamp"] + strings + ["abc", ""]

    def _data(self, steps, base, target_value=None):
        data = {}
        for name, field in self.fields.items():
            pool = self._pool(name, field, steps)
            if name == self.field and target_value is not None:
                data[name] = target_value
            elif base or field.required and self.rng.random() < 0.85:
                data[name] = pool[0]
            elif self.rng.random() < 0.6:
                data[name] = pool[self.rng.randrange(len(pool))]
        return data

    def plans(self):
        steps = self._steps(self.models, True)
        yield DjangoPlan(self._data(steps, True), None, steps)
        for s in self.strings:
            yield DjangoPlan(self._data(steps, True, s), None, steps)
        while True:
            steps = self._steps(self.models, False, self.rng.choice([1, 1, 2]))
            yield DjangoPlan(self._data(steps, False), None, steps)

    @staticmethod
    def _resolve(v, objects):
        if isinstance(v, Ref):
            return objects[v.var].pk
        if isinstance(v, list):
            return [FormCleanExplorer._resolve(x, objects) for x in v]
        return v

    def run(self, plan):
        objects = self._create(plan)
        if objects is None:
            return Outcome("discard")
        try:
            data = {k: self._resolve(v, objects) for k, v in plan.args.items()}
        except KeyError:
            return Outcome("discard")
        try:
            form = self.cls(data=data)
        except Exception:
            return Outcome("discard")  # a form whose constructor wants more than data
        with self.ctx.tracer:
            try:
                valid = form.is_valid()
            except Exception as e:
                return Outcome("raise", exc=e).traced(self.ctx.tracer)
        errors = {k: [str(m) for m in v] for k, v in form.errors.items()}
        cleaned = None
        if valid and self.field is not None:
            cleaned = form.cleaned_data.get(self.field)
            cleaned = cleaned if assertable(cleaned) else ("type", type(cleaned).__name__)
        return Outcome("return", value=(valid, errors, cleaned)).traced(self.ctx.tracer)

    def outcome_sig(self, out):
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        return ("return", repr(out.value))

    def _data_src(self, data):
        def src(v):
            if isinstance(v, Ref):
                return "%s.pk" % v.var
            if isinstance(v, list):
                return "[%s]" % ", ".join(src(x) for x in v)
            return literal_src(v)
        return "{%s}" % ", ".join("%r: %s" % (k, src(v)) for k, v in plan_items(data))

    def render(self, plan, out, again, used):
        body = [step_src(s)[0] for s in plan.steps]
        imports = _imports_of(plan.steps)
        ref = class_ref(self.cls)
        if ref is None:
            return None
        if ref[1]:
            imports.add(ref[1])
        body.append("form = %s(data=%s)" % (ref[0], self._data_src(plan.args)))
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, "form.is_valid()")
            return self._finish(plan, out, body + lines, imports | imps,
                                "raises_" + snake(type(out.exc).__name__), used)
        valid, errors, cleaned = out.value
        same = again.kind == "return" and again.value == out.value
        body.append("assert form.is_valid() is %r" % valid)
        if same and not valid:
            body.append("assert form.errors == %s" % literal_src(errors))
        if same and valid and self.field is not None and not isinstance(cleaned, tuple):
            src, imps = value_src(cleaned)
            imports |= imps
            body.append("assert form.cleaned_data[%r] == %s" % (self.field, src))
        words = "accepts" if valid else "rejects_" + "_".join(sorted(errors))[:40]
        return self._finish(plan, out, body, imports, words, used)


def plan_items(data):
    return sorted(data.items())


# -- manage.py main() -------------------------------------------------------------------

def is_manage_main(tree):
    """Django's manage.py: main() sets DJANGO_SETTINGS_MODULE and hands
    sys.argv to execute_from_command_line, and does nothing else of note."""
    node = find_def(tree, "main", 1, 10 ** 9) if tree is not None else None
    if node is None:
        return False
    hands_argv = sets_dsm = False
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            name = n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", None)
            if name == "execute_from_command_line" and len(n.args) == 1 and \
                    ast.unparse(n.args[0]) == "sys.argv":
                hands_argv = True
            if name == "setdefault" and n.args and ast.unparse(n.args[0]) == "'DJANGO_SETTINGS_MODULE'":
                sets_dsm = True
    return hands_argv and sets_dsm


class ArgvPlan(Plan):
    def key(self):
        return repr(self.args)


class ManageMainExplorer(Explorer):
    """manage.py main() with `sys.argv` patched: `check` (validates the
    project, changes nothing), else `version`."""

    def prepare(self):
        from ..callables import import_module
        self.module = import_module(self.ctx, self.t["module"])
        func = getattr(self.module, "main", None)
        if not inspect.isfunction(func):
            raise SkipTarget("manage.py has no main function")
        node = find_def(self.ctx.parse(self.t["file"]), "main", self.lo, self.hi)
        self.setup_trace(func.__code__, node)
        self.func = func

    def plans(self):
        yield ArgvPlan(["manage.py", "check"])
        yield ArgvPlan(["manage.py", "version"])

    def run(self, plan):
        out, err = io.StringIO(), io.StringIO()
        code = None
        with mock.patch.object(sys, "argv", list(plan.args)), contextlib.redirect_stdout(out), \
                contextlib.redirect_stderr(err):
            with self.ctx.tracer:
                try:
                    self.func()
                except SystemExit as e:
                    code = e.code
                except Exception as e:
                    return Outcome("raise", exc=e).traced(self.ctx.tracer)
        if code not in (None, 0):
            print("testgen: manage.py %s exited %r: %s" % (plan.args[1], code, last_line(Exception(
                err.getvalue().strip()[-200:]))), file=sys.stderr)
            return Outcome("discard")
        return Outcome("return", value=out.getvalue()).traced(self.ctx.tracer)

    def outcome_sig(self, out):
        return (out.kind, repr(out.value) if out.kind == "return" else type(out.exc))

    def render(self, plan, out, again, used):
        if out.kind != "return":
            return None
        command = plan.args[1]
        imports = {"import io", "import sys", "from contextlib import redirect_stdout",
                   "from unittest import mock", "from %s import main" % self.t["module"]}
        body = ["out = io.StringIO()",
                "with mock.patch.object(sys, 'argv', %s), redirect_stdout(out):" % literal_src(plan.args),
                "    main()"]
        text = out.value
        if command == "version":
            imports.add("import django")
            body.append("assert out.getvalue().strip() == django.get_version()")
        elif text == again.value and len(text) <= 500 and not machine_specific(self.ctx.root, text):
            body.append("assert out.getvalue() == %r" % text)
        else:
            body.append("assert 'System check identified' in out.getvalue()")
        name = unique_name("test_main_runs_manage_py_%s" % command, used)
        src = "def %s():\n%s\n" % (name, "\n".join("    " + ln for ln in body))
        return {"name": name, "source": src, "imports": sorted(imports), "fixtures": []}
