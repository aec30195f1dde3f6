"""Module-level functions and methods of classes as targets: the module
imported afresh, the instance built from the class's constructor pool,
setup calls of its mutating methods before the target, the kept calls
rendered as plain pytest functions."""

import ast
import copy
import doctest
import enum
import functools
import inspect
import re
import sys
import types

from .assertions import bug_comment, public_state, suspected_bug
from .builders import Builders
from .contract import outside_contract
from .execution import Callee, Discard, Outcome, finish_call, harvest_scalars
from .frameworks.django import django_setup
from .generation import Gen, subclasses_of
from .isolation import forget_project_modules, restore_project_modules
from .naming import mangled, snake
from .observe import default, rebuild, recorded_obs, result_obs, state_obs, strengthen, value_key
from .protocol import last_line
from .recorders import recorders_in, with_prelude
from .render import assertion_lines, how_imports, verified_src, weak_assertion, wrap_how
from .safety import SkipTarget, attempted, unsafe_calls
from .search import Explorer, Plan
from .source import FunctionFacts, find_def, own_nodes
from .values import OMIT, class_ref


_MUTATING_CALLS = {"append", "add", "update", "clear", "pop", "remove", "insert", "setdefault", "extend",
                   "discard", "popitem", "sort", "reverse", "put", "write", "appendleft", "push"}
_CREATOR = r"(add|create|insert|register|new|put|set|push|append|save|store|make|open|load|post|book|deposit|place)"


def is_mutator(node):
    """Whether a method may change state: it assigns into an attribute or an
    item, deletes one, or calls a mutating method on something of self's.
    Unknown source counts as a mutator."""
    if node is None:
        return True
    for n in own_nodes(node):
        if isinstance(n, (ast.Assign, ast.Delete)):
            if any(isinstance(t, (ast.Attribute, ast.Subscript)) for t in n.targets):
                return True
        elif isinstance(n, (ast.AugAssign, ast.AnnAssign)):
            if isinstance(n.target, (ast.Attribute, ast.Subscript)):
                return True
        elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr in _MUTATING_CALLS:
            root = n.func.value
            while isinstance(root, (ast.Attribute, ast.Subscript)):
                root = root.value
            if isinstance(root, ast.Name) and root.id == "self":
                return True
    return False


_NEEDS_INSTANCE = ("instance", "property", "setter", "deleter")
_UNREADABLE = object()


def concrete_for(cls, init):
    """`cls` itself, or when it is abstract the first concrete subclass of
    its package that runs `init` (inherits it, or calls it through
    `super().__init__`), or None."""
    if cls is None or not inspect.isabstract(cls):
        return cls
    func = getattr(init, "__func__", init)
    subs = [c for c in subclasses_of(cls) if not inspect.isabstract(c) and class_ref(c) is not None]
    inherits = [c for c in subs if getattr(c.__init__, "__func__", c.__init__) is func]
    calls_super = [c for c in subs if "__init__" in (getattr(getattr(c.__init__, "__code__", None), "co_names", ()))]
    for c in inherits + calls_super:
        return c
    return None


def import_module(ctx, name):
    """Imports the target's module fresh (the project's modules are forgotten
    first, so one request never sees state another left behind). Some
    frameworks refuse a second import (Django's model registry): then the
    modules imported before are put back and used."""
    django_setup(ctx)
    saved = forget_project_modules(ctx)
    ctx.note_call("import %s" % name)
    status, res = ctx.guard.run(lambda: __import__(name) and sys.modules[name], 30.0, ctx.enforce_imports)
    if status == "ok":
        return res
    if status == "unsafe":
        # Module-level code is the project's too: refused as a call would be.
        raise SkipTarget("cannot import %s: at import time it %s (refused; pass allow_unsafe "
                         "to explore it)" % (name, attempted(res)))
    if name in saved:
        restore_project_modules(ctx, saved)
        return saved[name]
    if status == "raise":
        why = last_line(res)
        if ctx.django.error:
            why += " (django.setup() with %s failed: %s)" % (ctx.django.settings_module, ctx.django.error)
        raise SkipTarget("cannot import %s: %s" % (name, why))
    if status == "exit":
        raise SkipTarget("cannot import %s: it calls sys.exit at import time" % name)
    raise SkipTarget("cannot import %s: import took longer than 30 s" % name)


class CallableExplorer(Explorer):
    """Module-level functions and methods of classes."""

    def prepare(self):
        t = self.t
        self.module = import_module(self.ctx, t["module"])
        ns = vars(self.module)
        parts = t["qualname"].split(".")
        # The name in the source (`__find`) and the attribute Python keeps
        # (`_Parser__find`, name-mangled when private to a class).
        self.src_name = self.name = parts[-1]
        self.cls = None
        owner = self.module
        try:
            for p in parts[:-1]:
                owner = getattr(owner, p)
            if isinstance(owner, type):
                self.cls = owner
                raw = None
                self.name = mangled(owner, self.name)
                for klass in owner.__mro__:
                    if self.name in vars(klass):
                        raw = vars(klass)[self.name]
                        break
                if raw is None:
                    raise AttributeError(self.name)
            else:
                raw = getattr(owner, self.name)
        except AttributeError:
            raise SkipTarget("%s has no attribute %s" % (t["module"], t["qualname"]))
        self.raw = raw
        if self.cls is None:
            self.kind = "function"
            func = raw
        elif self.name == "__init__":
            self.kind = "init"
            func = raw
        elif isinstance(raw, staticmethod):
            self.kind, func = "static", raw.__func__
        elif isinstance(raw, classmethod):
            self.kind, func = "class", raw.__func__
        elif isinstance(raw, property):
            # The accessor whose source is the target's lines: a setter or
            # deleter is a separate def with the same name.
            self.kind, func = "property", raw.fget
            for kind, acc in (("property", raw.fget), ("setter", raw.fset), ("deleter", raw.fdel)):
                code = getattr(inspect.unwrap(acc), "__code__", None) if acc is not None else None
                if code is not None and self.lo <= code.co_firstlineno <= self.hi:
                    self.kind, func = kind, acc
                    break
        elif isinstance(raw, functools.cached_property):
            self.kind, func = "property", raw.func
        else:
            self.kind, func = "instance", raw
        inner = inspect.unwrap(func) if callable(func) else func
        # How a call's result is finished, known before the call (so that a
        # coroutine that raises is still rendered inside asyncio.run).
        self.static_how = ("async" if inspect.iscoroutinefunction(inner) else
                           "list" if inspect.isgeneratorfunction(inner) else
                           "asynclist" if inspect.isasyncgenfunction(inner) else "")
        code = getattr(inner, "__code__", None)
        if code is None:
            raise SkipTarget("%s is not a Python function" % t["qualname"])
        tree = self.ctx.parse(t["file"])
        node = find_def(tree, self.src_name, self.lo, self.hi) if tree is not None else None
        # What mutation analysis swaps the code of (a cached function's
        # answers would hide its mutants: none for it).
        self.mutable = (inner, None if hasattr(func, "cache_info") else node, ns)
        self.check_safety(node, ns)
        self.setup_trace(code, node)
        self.gen = Gen(self.rng, self.callsites, ns, self.ctx.guard)
        self.gen.builders = Builders(self.ctx)
        facts = FunctionFacts(node, ns)
        self.gen.default_facts = facts
        drop = self.kind in ("instance", "class", "init") or self.kind in _NEEDS_INSTANCE
        self.callee = Callee(func, self.gen, facts, drop_first=drop)
        if self.kind in ("property", "deleter"):
            self.callee.params = []
        # What `__init__` is called through: the class, or for an abstract
        # one a concrete subclass of the project that runs this very `__init__`.
        self.made = concrete_for(self.cls, raw) if self.kind == "init" else self.cls
        if self.made is None and self.cls is not None:
            raise SkipTarget("%s is abstract and no concrete subclass of the project calls its __init__"
                             % self.cls.__name__)
        self.ref = class_ref(self.made) if self.made is not None else None
        if self.made is not None and self.ref is None:
            self.ref = (self.made.__name__, "from %s import %s" % (t["module"], self.made.__name__))
        self.ctors = []
        self.setups = []
        self.corpus = []
        self.corpus_keys = set()
        if self.kind in _NEEDS_INSTANCE:
            self.ctors = self.gen.class_pool(self.cls, 0)
            if not self.ctors:
                raise SkipTarget(self.gen.builders.why_not(self.cls, self.gen))
            self.setups = self._setup_methods(tree, ns)
        self.var = snake(self.cls.__name__) if self.cls is not None else ""
        if self.var in ("result", "pytest", "asyncio", "math", self.name) or not self.var.isidentifier() \
                or any(re.search(r"\b%s\b" % re.escape(self.var), c.src) for c in self.ctors):
            # `settings = copy.deepcopy(settings)` would shadow what it copies
            self.var = "obj"

    def _setup_methods(self, tree, ns):
        """Public plain methods that can build state before the target runs."""
        out = []
        names = set()
        for klass in self.cls.__mro__:
            if klass is object or klass.__module__ == "builtins":
                continue
            for name, attr in sorted(vars(klass).items()):
                if name.startswith("_") or name in names or not inspect.isfunction(attr):
                    continue
                names.add(name)
                code = inspect.unwrap(attr).__code__
                node = None
                src_tree = self.ctx.parse(code.co_filename)
                if src_tree is not None:
                    node = find_def(src_tree, name, code.co_firstlineno, code.co_firstlineno + 50)
                if node is not None and not self.allow_unsafe and unsafe_calls(node, ns):
                    continue
                if not is_mutator(node):
                    continue  # a query cannot build state
                weight = 3 if re.match(_CREATOR, name) else 1
                callee = Callee(attr, self.gen, FunctionFacts(node, ns), drop_first=True)
                out.append((name, callee, weight))
        out.sort(key=lambda x: x[0])
        return out

    def draw_step(self):
        """A setup call: creators (add_*, create_*...) more often."""
        total = sum(w for _, _, w in self.setups)
        r = self.rng.random() * total
        for name, callee, w in self.setups:
            r -= w
            if r < 0:
                return [name, callee, None, ""]
        name, callee, _ = self.setups[-1]
        return [name, callee, None, ""]

    def plans(self):
        ctor = self.ctors[0] if self.ctors else None
        # 1. calls written in the project (its tests included) and doctests
        for args in self._callsite_args():
            yield Plan(args, ctor)
        # 2. the most typical arguments, then one parameter at a time
        yield Plan(self.callee.base_args(), ctor)
        for args in self.callee.variations():
            yield Plan(args, ctor)
        for c in self.ctors[1:]:
            yield Plan(self.callee.base_args(), c)
        # 3. random: instance variants, setup sequences, drawn arguments.
        # Sequences whose steps all succeeded are kept and extended later
        # (feedback-directed, as Randoop does): add_user then add_task then
        # complete grows one working step at a time.
        rng = self.rng
        while True:
            c = None
            steps = []
            if self.ctors:
                c = self.ctors[0] if rng.random() < 0.7 else self.ctors[rng.randrange(len(self.ctors))]
            if self.setups:
                if self.corpus and rng.random() < 0.6:
                    c, base = self.corpus[rng.randrange(len(self.corpus))]
                    steps = [list(s) for s in base]
                    if rng.random() < 0.7 and len(steps) < 6:
                        steps.append(self.draw_step())
                else:
                    steps = [self.draw_step() for _ in range(rng.choice([0, 1, 1, 2]))]
            yield Plan(None, c, steps)

    def _callsite_args(self):
        out = []
        calls = list(self.callsites.calls(self.src_name)) if self.name != "__init__" else \
            list(self.callsites.calls(self.cls.__name__))
        doc = inspect.getdoc(self.raw if not isinstance(self.raw, (staticmethod, classmethod)) else self.raw.__func__) or ""
        try:
            for ex in doctest.DocTestParser().get_examples(doc):
                try:
                    tree = ast.parse(ex.source.strip(), mode="eval")
                except SyntaxError:
                    continue
                if isinstance(tree.body, ast.Call):
                    calls.append(tree.body)
        except ValueError:
            pass
        for call in calls:
            f = call.func
            if self.kind == "function" and not isinstance(f, ast.Name) and not isinstance(f, ast.Attribute):
                continue
            name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None
            if name != (self.cls.__name__ if self.kind == "init" else self.src_name):
                continue
            args = self.callee.from_callsite(call)
            if args is not None:
                out.append(args)
            if len(out) >= 12:
                break
        return out

    # -- running -----------------------------------------------------------------

    def _remember(self, ctor, steps):
        key = ctor.src + "|" + "|".join("%s(%s)" % (s[0], s[1].render(s[2])) for s in steps)
        if key not in self.corpus_keys and len(self.corpus) < 300:
            self.corpus_keys.add(key)
            self.corpus.append((ctor, [list(s) for s in steps]))

    def _target_callable(self, inst):
        if self.kind == "function":
            return getattr(self.module, self.name) if not isinstance(self.raw, types.FunctionType) else self.raw
        if self.kind == "init":
            return self.made
        if self.kind in ("class", "static"):
            return getattr(self.cls, self.name)
        return getattr(inst, self.name)

    def run(self, plan):
        gen = self.gen
        gen.harvest = []
        inst = None
        before = None
        try:
            if self.kind in _NEEDS_INSTANCE:
                inst = plan.ctor.build()
                try:
                    before = copy.deepcopy(public_state(inst))
                except Exception:
                    before = None
            done = []
            for name, callee, args, _ in plan.steps:
                if args is None:
                    args = callee.random_args()
                for v in args:
                    if v is not OMIT:
                        for s in v.scalars():
                            if s not in gen.harvest:
                                gen.harvest.append(s)
                try:
                    a, k = callee.build(args)
                    res, how = finish_call(getattr(inst, name)(*a, **k))
                except Exception:
                    continue
                if how == "asynclist":
                    continue  # not worth a helper in the test: dropped
                harvest_scalars(res, gen.harvest)
                done.append([name, callee, args, how])
            if done and len(done) == len(plan.steps):
                self._remember(plan.ctor, done)
            plan.steps = done
            if plan.args is None:
                plan.args = self.callee.random_args()
            a, k = self.callee.build(plan.args)
        except Exception:
            return Outcome("discard")
        built = self.callee.named(plan.args, a, k)
        value = exc = None
        how = self.static_how
        self.note(plan)
        with self.ctx.tracer:
            try:
                if self.kind == "property":
                    value = getattr(inst, self.name)
                elif self.kind == "setter":
                    setattr(inst, self.name, *a)
                elif self.kind == "deleter":
                    delattr(inst, self.name)
                else:
                    value, how = finish_call(self._target_callable(inst)(*a, **k))
            except Discard:
                return Outcome("discard")
            except Exception as e:
                exc = e
        out = Outcome("raise", exc=exc) if exc is not None else Outcome("return", value=value)
        plan.how = how
        out.traced(self.ctx.tracer)
        out.built = built
        out.before = before
        out.state = public_state(inst) if inst is not None else None
        out.recorded = [(r.name, r.recorded()) for r in recorders_in(plan.args)]
        if self.kind == "setter" and exc is None:
            # What the test can check after the assignment: the value read back.
            try:
                out.value = getattr(inst, self.name)
            except Exception:
                out.value = _UNREADABLE
        if exc is None and self.kind == "instance" and any(n == self.name for n, _, _ in self.setups):
            # The target is a mutator too: its successful call is a setup
            # sequence to extend (complete a task, then complete it again).
            self._remember(plan.ctor, plan.steps + [[self.name, self.callee, plan.args, how]])
        return out

    def outside_contract(self, plan, out):
        return outside_contract(self.ctx, out.exc,
                                [(self.callee, plan.args)] + [(c, a) for _, c, a, _ in plan.steps],
                                getattr(out, "built", ()))

    def unbuilt(self):
        """The parameters' classes that could not be built."""
        b = self.gen.builders
        for p in self.callee.params:
            cls = p.ann if isinstance(p.ann, type) else None
            if cls is None or cls.__module__ == "builtins" or issubclass(cls, enum.Enum):
                continue
            if class_ref(cls) is not None and not self.gen.class_pool(cls, 0):
                return "%s (parameter `%s`)" % (b.why_not(cls, self.gen), p.name)
        return None

    def note(self, plan):
        """The call as a test would write it, noted before it is made."""
        try:
            text = self.call_src(plan)
        except Exception:  # a value without source: the target's name will do
            text = self.t.get("qualname")
        self.ctx.note_call(text)

    # -- rendering ---------------------------------------------------------------

    def call_src(self, plan):
        args = self.callee.render(plan.args)
        if self.kind == "function":
            call = "%s(%s)" % (self.t["qualname"], args)
        elif self.kind == "init":
            call = "%s(%s)" % (self.ref[0], args)
        elif self.kind in ("class", "static"):
            call = "%s.%s(%s)" % (self.ref[0], self.name, args)
        elif self.kind == "property":
            call = "%s.%s" % (self.var, self.name)
        elif self.kind == "setter":
            call = "%s.%s = %s" % (self.var, self.name, args)
        elif self.kind == "deleter":
            call = "del %s.%s" % (self.var, self.name)
        else:
            call = "%s.%s(%s)" % (self.var, self.name, args)
        return wrap_how(call, plan.how)

    def target_words(self):
        if self.cls is None:
            return self.name.strip("_") or "call"
        meth = "init" if self.name == "__init__" else self.src_name.strip("_")
        if self.kind in ("setter", "deleter"):
            meth += "_" + self.kind
        return "%s_%s" % (snake(self.cls.__name__), meth)

    def render(self, plan, out, again, used):
        imports = set()
        body = []
        if self.kind == "function":
            imports.add("from %s import %s" % (self.t["module"], self.t["qualname"].split(".")[0]))
        elif self.ref and self.ref[1]:
            imports.add(self.ref[1])
        if self.kind in _NEEDS_INSTANCE:
            body.append("%s = %s" % (self.var, plan.ctor.src))
            imports |= plan.ctor.imports
            for name, callee, args, how in plan.steps:
                body.append(wrap_how("%s.%s(%s)" % (self.var, name, callee.render(args)), how))
                imports |= callee.imports(args)
                if how:
                    imports |= how_imports(how)
        imports |= self.callee.imports(plan.args)
        call = self.call_src(plan)
        imports |= how_imports(plan.how)
        if plan.how == "asynclist":
            # An async generator is drained by a coroutine defined in the test.
            plan_how, plan.how = plan.how, ""
            raw = self.call_src(plan)
            plan.how = plan_how
            body += ["async def collect():", "    return [item async for item in %s]" % raw]
            call = "asyncio.run(collect())"
        obs = []
        if out.kind == "raise":
            lines, imps = self.exception_block(out, again, call)
        elif self.kind in ("setter", "deleter"):
            # An assignment or `del` is a statement: it runs, then (setter)
            # what reading the property gives back is asserted.
            lines, imps = [call], set()
            read = "%s.%s" % (self.var, self.name)
            if self.kind == "setter" and out.value is not _UNREADABLE:
                more, imps = assertion_lines(self.ctx, read, out.value)
                more2, _ = assertion_lines(self.ctx, read, again.value)
                if more == more2 and not more[0].startswith("result = "):
                    lines += more
        else:
            lines, imps = assertion_lines(self.ctx, call, out.value)
            lines2, _ = assertion_lines(self.ctx, call, again.value)
            if lines != lines2:
                lines, imps = weak_assertion(call, out.value, again.value)
            elif lines[0].startswith("result = ") and len(lines) >= 2:
                # the returned object's attributes: candidates, the first six written
                obs = result_obs(self.ctx, out.value, again.value, lines[2:])
                if obs:
                    lines = lines[:2]
        imports |= imps
        body += lines
        obs += self.after_obs(plan, out, again)
        chosen = default(obs)
        for o in chosen:
            imports |= o.imports
        bug = None
        if out.kind == "raise":
            vals = [(self.callee, plan.args)] + [(c, a) for _, c, a, _ in plan.steps]
            bug = suspected_bug(self.ctx, out.exc, vals, call, getattr(out, "built", ()))
            if bug is not None:
                body = bug_comment(bug) + body
        body = self.preludes(plan) + body
        fixed = list(body)
        body += [o.line for o in chosen]
        name = self.name_for(self.target_words(), out,
                             self.kind if self.kind in ("setter", "deleter") else plan.how, used)
        fixtures = self.fixtures(plan)
        src = "def %s(%s):\n%s\n" % (name, ", ".join(fixtures),
                                      "\n".join(("    " + ln) if ln else "" for ln in body))
        test = {"name": name, "source": src, "imports": sorted(imports), "fixtures": fixtures}
        if bug is not None:
            test["suspected_bug"] = dict(bug, test=name)
        if out.kind == "return" and any(o.group != "recorded" for o in obs):
            test["_mut"] = {"obs": obs, "default": chosen, "fixed": fixed, "imports": set(imports),
                            "out": out, "replay": lambda: self.replay_plan(plan),
                            "ret": (lambda o: value_key(self.ctx, o.value)) if self.kind != "deleter"
                            else (lambda o: None)}
        return test

    @staticmethod
    def replay_plan(plan):
        """A copy of a kept plan to run again (run() rewrites its steps)."""
        p = Plan(plan.args, plan.ctor, [list(s) for s in plan.steps])
        p.how = plan.how
        return p

    def finish_tests(self, tests):
        """Assertions chosen by the mutants of the target they kill; a test
        whose new version does not pass as written keeps its old one."""
        func, node, ns = self.mutable
        try:
            strengthen(self, tests, func, node, ns)
        except Exception:  # analysis must never cost the tests
            pass
        out = []
        for t in tests:
            new = rebuild(t)
            t.pop("_mut", None)
            if new is not t and new["source"] != t["source"] and not self.self_check(new):
                new = t
            out.append(new)
        return out

    def preludes(self, plan):
        """The recording callbacks' definitions, each once, before anything."""
        lines, seen = [], set()
        for vals in [a for _, _, a, _ in plan.steps] + [plan.args]:
            for r in with_prelude(vals):
                if tuple(r.prelude) not in seen:
                    seen.add(tuple(r.prelude))
                    lines += r.prelude
        return lines

    def fixtures(self, plan):
        """pytest fixtures the arguments need (`tmp_path` for files)."""
        return sorted({v.fixture for vals in [a for _, _, a, _ in plan.steps] + [plan.args]
                       for v in vals or () if getattr(v, "fixture", None)})

    def after_obs(self, plan, out, again):
        """What the call left behind, as candidate assertions: the calls the
        recording callbacks got and the receiver's attributes."""
        step_names = {r.name for _, _, a, _ in plan.steps for r in recorders_in(a)}
        recorded = [(n, c) for n, c in getattr(out, "recorded", []) if n not in step_names]
        recorded2 = [(n, c) for n, c in getattr(again, "recorded", []) if n not in step_names]
        obs = []
        for (name, calls), (name2, calls2) in zip(recorded, recorded2):
            if name != name2 or calls is None:
                continue
            r, r2 = verified_src(self.ctx, calls), verified_src(self.ctx, calls2)
            if r is None or r2 is None or r[0] != r2[0] or len(r[0]) > 1500:
                continue
            o = recorded_obs("assert %s_calls == %s" % (name, r[0]), name, self.ctx)
            o.imports |= set(r[1])
            obs.append(o)
        if out.kind == "return" and self.kind in ("instance", "setter", "deleter") and out.state is not None:
            obs += state_obs(self.ctx, self.var, out.before, out.state, again.state)
        return obs
