"""A Django model's own methods (`was_published_recently()`, `__str__()`,
`get_absolute_url()`), called on an instance saved with valid field values,
the way the application calls them on objects from its database: never on an
empty, unsaved `Question()`, whose `None` fields make the method fail in a way
no caller ever sees (issue 20: such tests pin crashes, not behaviour)."""

import inspect

from ..execution import Outcome
from ..naming import snake
from ..safety import SkipTarget
from ..search import Explorer
from ..source import find_def
from ..values import class_ref
from .djangomodels import assertable, step_src, value_src
from .djangounits import _imports_of, _ModelSteps, _strings
from .djangoviews import DjangoPlan


def bare_method(func):
    """A method called with nothing but its receiver."""
    params = list(inspect.signature(func).parameters.values())[1:]
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


class ModelMethodExplorer(_ModelSteps, Explorer):
    """Steps create the receiver (parents first) with drawn valid values;
    the method is called on it; a test asserts what it returned."""

    def __init__(self, ctx, req, module, cls, func):
        super().__init__(ctx, req)
        self.module, self.cls, self.func = module, cls, func

    def prepare(self):
        self.name = self.t["qualname"].split(".")[-1]
        node = find_def(self.ctx.parse(self.t["file"]), self.name, self.lo, self.hi)
        self.check_safety(node, vars(self.module))
        self.setup_trace(self.func.__code__, node)
        self._init_models([self.cls], _strings(node))
        if self.cls not in self.models:
            raise SkipTarget("could not build a `%s` with valid field values" % self.cls.__name__)
        self.var = snake(self.cls.__name__) or "obj"
        self.words = "%s_%s" % (self.var, self.name.strip("_") or "method")
        self.plateau = 40

    def _receiver(self, steps):
        mine = [i for i, s in enumerate(steps) if s["model"] is self.cls]
        return mine[-1] if mine else None

    def plans(self):
        steps = self._steps([self.cls], True)
        yield DjangoPlan({"obj": self._receiver(steps)}, None, steps)
        while True:
            steps = self._steps([self.cls], False, count=self.rng.choice([1, 1, 2]))
            yield DjangoPlan({"obj": self._receiver(steps)}, None, steps)

    def _obj_var(self, plan):
        i = plan.args.get("obj")
        return plan.steps[i]["var"] if i is not None and i < len(plan.steps) else None

    def run(self, plan):
        objects = self._create(plan)
        obj = objects.get(self._obj_var(plan)) if objects is not None else None
        if obj is None:
            return Outcome("discard")
        value = exc = None
        with self.ctx.tracer:
            try:
                value = getattr(obj, self.name)()
            except Exception as e:
                exc = e
        if exc is not None:
            return Outcome("raise", exc=exc).traced(self.ctx.tracer)
        return Outcome("return", value=value if assertable(value) else ("type", type(value).__name__)) \
            .traced(self.ctx.tracer)

    def outcome_sig(self, out):
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        return ("return", repr(out.value))

    def render(self, plan, out, again, used):
        ref = class_ref(self.cls)
        var = self._obj_var(plan)
        if ref is None or var is None:
            return None
        body = [step_src(s)[0] for s in plan.steps]
        imports = _imports_of(plan.steps) | ({ref[1]} if ref[1] else set())
        call = "%s.%s()" % (var, self.name)
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, call)
            return self._finish(plan, out, body + lines, imports | imps,
                                "raises_" + snake(type(out.exc).__name__), used)
        shown = out.value
        if isinstance(shown, tuple) or not (again.kind == "return" and again.value == shown):
            return None  # nothing a test could check: no test rather than one that cannot fail
        src, imps = value_src(shown)
        op = "is" if isinstance(shown, bool) or shown is None else "=="
        body.append("assert %s %s %s" % (call, op, src))
        words = "returns_%s" % snake(str(shown))[:20] if isinstance(shown, (bool, int)) else "returns_value"
        return self._finish(plan, out, body, imports | imps, words, used)
