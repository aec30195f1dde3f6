"""The search shared by every kind of target: candidate plans in, outcomes
traced, plans that reach new lines or arcs kept, the kept ones shortened,
re-run for determinism, rendered and checked as written."""

import collections
import os
import random
import threading
import time

from .execution import Outcome
from .frameworks.django import django_guarded, touched_db
from .frameworks.spec import RouteSpec, request_key
from .isolation import missing_state
from .naming import Decisions, outcome_words, trim_words, unique_name
from .render import exception_ref, match_arg, obj_src, with_db_fixture
from .safety import SkipTarget, attempted, limit_error, unsafe_calls
from .state import new_threads_left
from .source import body_start, code_lines
from .values import literal_src


class Plan:
    """One candidate: how to build the instance, setup calls, target args.
    Parts left None are drawn at run time (after setup, so that ids the setup
    created can be used)."""

    def __init__(self, args=None, ctor=None, steps=None):
        self.args = args
        self.ctor = ctor
        self.steps = steps or []   # [name, Callee, args or None, how]
        self.how = ""

    def key(self):
        if isinstance(self.args, dict) or (self.steps and isinstance(self.steps[0][0], RouteSpec)):
            # a route plan: steps are [spec, request, status, '']
            if self.args is None or any(s[1] is None for s in self.steps):
                return None
            keys = [request_key(r) for r in [s[1] for s in self.steps] + [self.args]]
            if self.ctor is not None:
                keys.append(self.ctor.key())  # the dependency overrides
            return "|".join(keys)
        if self.args is None or any(s[2] is None for s in self.steps):
            return None
        parts = [self.ctor.src if self.ctor else ""]
        parts += ["%s(%s)" % (s[0], s[1].render(s[2])) for s in self.steps]
        parts.append(",".join(v.src for v in self.args))
        return "|".join(parts)


class Explorer:
    """The search shared by every kind: plans in, outcomes traced, plans that
    reach new lines/arcs kept, re-run once for determinism, rendered."""

    def __init__(self, ctx, req):
        self.ctx = ctx
        self.req = req
        self.t = req["target"]
        self.callsites = ctx.callsites
        self.max_calls = int(req.get("max_calls") or 400)
        self.budget = float(req.get("budget_s") or 10.0)
        self.call_timeout = float(req.get("call_timeout_s") or 2.0)
        self.allow_unsafe = bool(req.get("allow_unsafe"))
        self.rng = random.Random(int(req.get("seed") if req.get("seed") is not None else ctx.seed))
        self.lo = int(self.t.get("line") or 1)
        self.hi = int(self.t.get("end_line") or 10 ** 9)
        self.started = time.monotonic()
        self.calls = 0
        # Calls without new coverage after which the search gives up (None:
        # only max_calls); routes set one, each of their calls is costly.
        self.plateau = None
        self.searching = True
        # The search is budgeted in work (max_calls, the plateau, counted
        # mutant runs): the same seed gives the same tests on any machine.
        # budget_s is a safety cap on the wall clock; when it cuts the
        # work short the answer says so, since the output then depends on
        # the machine's speed.
        self.capped = False

    # -- to provide -----------------------------------------------------------
    def prepare(self):
        raise NotImplementedError

    def plans(self):
        raise NotImplementedError

    def run(self, plan):
        raise NotImplementedError

    def known_keys(self):
        """Keys of plans not to try (tests already written for another target)."""
        return ()

    def render(self, plan, outcome, used):
        raise NotImplementedError

    # -- shared ----------------------------------------------------------------
    def over_cap(self, share, extra=0.0):
        """Whether the wall-clock cap (this share of budget_s, plus extra
        seconds) has passed; marks the answer as cut by it."""
        if time.monotonic() - self.started > self.budget * share + extra:
            self.capped = True
            return True
        return False

    def setup_trace(self, func_code, func_node):
        self.filenames = {os.path.abspath(self.t["file"])}
        if func_code is not None:
            self.filenames.add(func_code.co_filename)
        self.ctx.tracer.configure(self.filenames, self.lo, self.hi)
        start = body_start(func_node) if func_node is not None else self.lo
        self.total = code_lines(func_code, start, self.hi) if func_code is not None else set()
        self.decisions = Decisions(func_node)

    def check_safety(self, func_node, namespace):
        if self.allow_unsafe or func_node is None:
            return
        found = unsafe_calls(func_node, namespace)
        if found:
            raise SkipTarget("calls %s (destructive or external; pass allow_unsafe to explore it)"
                             % ", ".join(found))

    def full(self, lines, arcs):
        if not self.total or not self.total <= lines:
            return False
        succ = collections.defaultdict(set)
        for a, b in arcs:
            succ[a].add(b)
        return all(len(succ[ln]) >= 2 for ln in self.decisions.branch_lines if ln in self.total)

    def guarded(self, plan):
        self.calls += 1
        timeout = self.call_timeout
        if self.searching:
            remaining = self.budget - (time.monotonic() - self.started)
            if remaining < self.call_timeout:
                self.capped = True
            timeout = max(0.05, min(self.call_timeout, remaining))
        before = {t.ident for t in threading.enumerate()}
        watch = self.ctx.env_watch
        watch.read = None
        self.ctx.note_call("%s (call %d)" % (self.t.get("qualname"), self.calls))
        body, box = django_guarded(self.ctx.django, lambda: self.run(plan))
        status, res = self.ctx.guard.run(body, timeout, not self.allow_unsafe)
        if new_threads_left(before):
            return Outcome("leak", detail="starts a thread that is still running when the call "
                                          "returns (pytest would never exit)")
        if watch.read is not None:
            return Outcome("withheld", detail="reads %s, a credential testgen keeps from explored "
                                              "code (its tests would depend on it)" % watch.read)
        exc = res if status == "raise" else getattr(res, "exc", None) if status == "ok" else None
        if exc is not None and limit_error(exc):
            return Outcome("limit", detail=limit_error(exc))
        if status == "ok":
            res.db = touched_db(box, res)
            return res
        if status == "exit":
            code = getattr(res, "code", None) if isinstance(res, SystemExit) else res.args[0] if res.args else None
            return Outcome("exit", detail=code)
        if status == "raise":
            out = Outcome("raise", exc=res)
            out.db = touched_db(box, out)
            return out
        return Outcome(status, detail=res)

    def explore(self):
        self.prepare()
        seen = set(self.known_keys())
        cum_lines, cum_arcs = set(), set()
        kept = []
        completed = timeouts = 0
        unsafe = None
        refused = None  # why calls were not kept: a limit, a thread, a credential
        outside = None  # (count, first reason): calls discarded for breaking the contract
        seen_lines = set()  # lines any completed call ran, kept or not
        last_keep = 0
        for plan in self.plans():
            if self.calls >= self.max_calls:
                break
            if self.plateau and self.calls - last_keep >= self.plateau:
                break  # a count, not a time: the same seed stops at the same call
            if self.over_cap(0.75):
                break
            if self.full(cum_lines, cum_arcs):
                break
            k = plan.key()
            if k is not None:
                if k in seen:
                    continue
                seen.add(k)
            out = self.guarded(plan)
            if out.kind == "timeout":
                timeouts += 1
                if completed == 0 and timeouts >= 2:
                    break
                continue
            completed += 1
            if out.kind == "exit":
                raise SkipTarget("calls sys.exit (SystemExit: %r)" % (out.detail,))
            if out.kind == "unsafe":
                unsafe = unsafe or out.detail
                continue
            if out.kind in ("leak", "withheld", "limit"):
                refused = refused or out.detail
                continue
            if out.kind not in ("return", "raise"):
                continue
            seen_lines |= out.lines & self.total
            if out.kind == "raise" and missing_state(self.ctx, out.exc):
                continue  # our object lacked state a real caller sets up first
            if out.kind == "raise":
                why = self.outside_contract(plan, out)
                if why:
                    # the interpreter's error on an argument no caller could
                    # pass: a test would pin the harness's misuse
                    outside = (outside[0] + 1, outside[1]) if outside else (1, why)
                    continue
            if out.db and not self.ctx.django.db_ok:
                continue  # the database is not usable here (not sqlite)
            new_lines = (out.lines & self.total) - cum_lines
            new_arcs = out.arcs - cum_arcs
            if new_lines or new_arcs:
                cum_lines |= out.lines & self.total
                cum_arcs |= out.arcs
                kept.append((plan, out))
                last_keep = self.calls
        if completed == 0 and timeouts:
            raise SkipTarget("every call ran longer than %g s (infinite loop?)" % self.call_timeout)
        if not kept and unsafe:
            raise SkipTarget("at run time the target %s (blocked; pass allow_unsafe to explore it)"
                             % attempted(unsafe))
        if not kept and refused:
            raise SkipTarget("the target %s" % refused)
        self.searching = False
        tests = []
        used = set()
        reached = set()
        for plan, out in kept:
            # The Rust side kills a harness at budget_s + 10 s: what is not
            # finished by budget_s + 5 s is left out rather than lost whole.
            if self.over_cap(1.0, 5):
                break
            if not self.over_cap(0.9):
                plan, out = self.simplify(plan, out)
            again = self.guarded(plan)
            if again.kind != out.kind or (out.kind == "raise" and type(again.exc) is not type(out.exc)):
                continue
            if (again.lines & self.total) != (out.lines & self.total):
                continue
            rendered = self.render(plan, out, again, used)
            if rendered is not None and (out.db or again.db):
                if again.db and not self.ctx.django.db_ok:
                    continue
                rendered = with_db_fixture(rendered)
            if rendered is None or not self.self_check(rendered):
                continue
            new = sorted((out.lines & self.total) - reached)
            reached |= out.lines & self.total
            rendered["new_lines"] = new
            tests.append(rendered)
        tests = self.finish_tests(tests)
        return {
            "status": "ok",
            "reason": None if tests else self.why_no_test(seen_lines, outside),
            "calls": self.calls,
            "capped": self.capped,
            "lines": {"total": sorted(self.total), "reached": sorted(reached)},
            "tests": tests,
        }

    def outside_contract(self, plan, out):
        """Why a call that raised broke its arguments' contract (the call is
        then discarded), or None; CallableExplorer knows the parameters."""
        return None

    def why_no_test(self, seen_lines, outside):
        """The reason a target gets no test, as specific as the search knows."""
        parts = []
        unbuilt = self.unbuilt()
        if unbuilt:
            parts.append(unbuilt)
        if outside:
            parts.append("%d call%s discarded: the interpreter's error on an argument outside "
                         "the contract (%s)" % (outside[0], "" if outside[0] == 1 else "s", outside[1]))
        missed = sorted(self.total - seen_lines)
        if missed:
            parts.append("no argument reached line %d" % missed[0])
        elif self.total and not outside:
            parts.append("calls reached every line but none gave a test that passes as written")
        return "; ".join(parts) or None

    def unbuilt(self):
        """Why an object the target needs could not be built, or None."""
        return None

    def finish_tests(self, tests):
        """The kept tests, last touches made (CallableExplorer chooses their
        assertions by the mutants they kill)."""
        for t in tests:
            t.pop("_mut", None)
        return tests

    def self_check(self, test):
        """Runs the rendered test once, as written (its imports, its source):
        a test that fails here is dropped rather than handed over broken."""
        ns = {"__name__": "testgen_self_check"}
        for line in test["imports"]:
            try:
                exec(line, ns)
            except ImportError:
                if line == "import pytest":
                    return True  # no pytest here to check with: keep it
                return False
            except Exception:
                return False
        try:
            exec(compile(test["source"], "<generated test>", "exec"), ns)
        except SyntaxError:
            return False
        fn = ns[test["name"]]
        if "db" in test.get("fixtures", ()):
            return self.run_test(lambda: fn(None))
        if "tmp_path" in test.get("fixtures", ()):
            import pathlib
            import tempfile
            return self.run_test(lambda: fn(pathlib.Path(tempfile.mkdtemp(prefix="testgen-tmp-"))))
        return self.run_test(fn)

    def run_test(self, fn):
        body, _ = django_guarded(self.ctx.django, fn)
        status, _ = self.ctx.guard.run(body, self.call_timeout * 2, not self.allow_unsafe)
        self.calls += 1
        return status == "ok"

    def outcome_sig(self, out):
        """What a test asserts about an outcome, to compare two runs."""
        if out.kind == "raise":
            return ("raise", type(out.exc), str(out.exc))
        r = obj_src(self.ctx, out.value) if not isinstance(out.value, float) else (repr(out.value), ())
        return ("return", type(out.value), r[0] if r else None)

    def simplify(self, plan, out):
        """Drops setup steps the kept outcome does not depend on (same
        result, same lines and arcs without them), last step first."""
        i = len(plan.steps) - 1
        while i >= 0 and self.calls < self.max_calls + 200:
            trial = Plan(plan.args, plan.ctor, plan.steps[:i] + plan.steps[i + 1:])
            trial.how = plan.how
            o = self.guarded(trial)
            if (o.kind == out.kind and o.lines == out.lines and o.arcs == out.arcs
                    and self.outcome_sig(o) == self.outcome_sig(out)):
                plan, out = trial, o
            i -= 1
        return plan, out

    def name_for(self, target_words, out, how, used):
        words = outcome_words(out, how)
        cond = trim_words(self.decisions.last(out.order))
        base = "test_%s_%s" % (target_words, words)
        if cond:
            base += "_when_" + cond
        return unique_name(base, used)

    def exception_block(self, out, again, call):
        cls, ref = exception_ref(out.exc)
        imps = {"import pytest"}
        if ref[1]:
            imps.add(ref[1])
        m = match_arg(out.exc)
        if m is not None and m == match_arg(again.exc):
            head = "with pytest.raises(%s, match=%s):" % (ref[0], literal_src(m))
        else:
            head = "with pytest.raises(%s):" % ref[0]
        return [head, "    " + call], imps
