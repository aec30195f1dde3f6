"""Which assertions a kept test writes, chosen by the mutants they kill.

A rendered test has a fixed part (the calls, the assertion on the return
value) and candidate observations: the receiver's changed attributes, the
returned object's attributes, the recorded callback calls, and extra ones
written only when they pay (attributes the sequence left as constructed,
len() of containers that cannot be written out). Each mutant of the target
(mutants.py) is replayed under the kept call sequence; an observation kills
it when its value differs from the original run's. Capped groups keep the
observations that kill most (ties: the usual order); an extra observation is
kept only when it kills a mutant nothing else in the test kills."""

import ast
import math
import re
import sys
import time

from . import mutants
from .render import obj_src, verified_src

MISSING = ("missing",)
CAPS = {"state": 6, "result": 6}
MAX_EXTRA = 4


class Obs:
    """One candidate assertion: its line, imports, group (state, result,
    recorded or extra) and how to read its value off an outcome."""

    def __init__(self, line, imports, group, key):
        self.line = line
        self.imports = set(imports)
        self.group = group
        self.key = key

    def read(self, out):
        try:
            return self.key(out)
        except Exception:
            return MISSING


def value_key(ctx, v):
    """What an equality assertion on v compares, as a comparable key."""
    if isinstance(v, float):
        return ("f", v)
    r = obj_src(ctx, v)
    if r is not None:
        return ("s", r[0])
    return ("t", type(v).__module__, type(v).__qualname__)


def same(a, b):
    if isinstance(a, tuple) and isinstance(b, tuple) and a[:1] == b[:1] == ("f",):
        x, y = a[1], b[1]
        if math.isnan(x) or math.isnan(y):
            return math.isnan(x) and math.isnan(y)
        return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-12)
    return a == b


def _src(ctx, v):
    if isinstance(v, float):
        return ("pytest.approx(%r)" % v, {"import pytest"}) if math.isfinite(v) else None
    return verified_src(ctx, v)


def _sized(v):
    if isinstance(v, (str, bytes)):
        return None
    try:
        return len(v)
    except Exception:
        return None


def _state_key(ctx, k):
    return lambda out: value_key(ctx, out.state[k]) if out.state and k in out.state else MISSING


def _state_len(k):
    return lambda out: _sized(out.state[k]) if out.state and k in out.state else MISSING


def state_obs(ctx, var, before, after, again):
    """The receiver's attributes: those the sequence changed (group state,
    the first six of them what state_lines always wrote), then extras."""
    out, extra = [], []
    if before is None or after is None or again is None:
        return out
    for k in sorted(after):
        v = after[k]
        r = _src(ctx, v)
        r2 = _src(ctx, again[k]) if k in again else None
        if r is None:
            n, n2 = _sized(v), _sized(again.get(k))
            if n is not None and n == n2:
                extra.append(Obs("assert len(%s.%s) == %d" % (var, k, n), (), "extra", _state_len(k)))
            continue
        if r2 is None or r2[0] != r[0]:
            continue
        b = before.get(k, MISSING)
        rb = _src(ctx, b) if b is not MISSING else None
        line = "assert %s.%s == %s" % (var, k, r[0])
        if rb is not None and rb[0] == r[0]:
            # unchanged: the constructor's business, unless it kills
            extra.append(Obs(line, r[1], "extra", _state_key(ctx, k)))
            continue
        out.append(Obs(line, r[1], "state", _state_key(ctx, k)))
    return out + extra


def _attr_key(ctx, k):
    return lambda out: value_key(ctx, vars(out.value)[k])


def result_obs(ctx, value, again_value, attr_lines):
    """The returned object's public attributes: of a project class, those
    render.assertion_lines writes (`attr_lines`, the first six) and the
    rest ranked with them; of any other class (a framework's, the standard
    library's) extras only, like len(result). Empty when the attributes do
    not line up with what was written."""
    try:
        attrs = vars(value)
        vars(again_value)
    except TypeError:
        attrs = {}
    mod = sys.modules.get(type(value).__module__)
    own = ctx.is_project_file(getattr(mod, "__file__", None))
    out = []
    for k in sorted(attrs):
        if k.startswith("_"):
            continue
        v = attrs[k]
        if isinstance(v, float):
            if not math.isfinite(v):
                continue
            line, imps = "assert result.%s == pytest.approx(%r)" % (k, v), {"import pytest"}
        else:
            rv = verified_src(ctx, v)
            if rv is None:
                continue
            line, imps = "assert result.%s == %s" % (k, rv[0]), rv[1]
        out.append(Obs(line, imps, "result" if own else "extra", _attr_key(ctx, k)))
    if [o.line for o in out[:len(attr_lines)]] != list(attr_lines) or (attr_lines and not own):
        return []
    # what assertion_lines did not write is asserted only where both runs agree
    out = out[:len(attr_lines)] + [o for o in out[len(attr_lines):]
                                   if k_same(o, value, again_value)]
    n, n2 = _sized(value), _sized(again_value)
    if n is not None and n == n2:
        out.append(Obs("assert len(result) == %d" % n, (), "extra", lambda o: _sized(o.value)))
    return out


def k_same(o, value, again_value):
    """Whether an observation reads the same off both runs' values."""
    return same(o.read(_Of(again_value)), o.read(_Of(value)))


class _Of:
    def __init__(self, value):
        self.value = value


def recorded_obs(line, name, ctx):
    def key(out):
        for n, calls in getattr(out, "recorded", None) or []:
            if n == name:
                r = verified_src(ctx, calls)
                return r[0] if r else MISSING
        return MISSING
    return Obs(line, (), "recorded", key)


def default(obs):
    """What is written without mutation analysis: every recorded call, the
    first of each capped group, no extras (the output before mutants)."""
    out, seen = [], {}
    for o in obs:
        if o.group == "extra":
            continue
        seen[o.group] = seen.get(o.group, 0) + 1
        if o.group in CAPS and seen[o.group] > CAPS[o.group]:
            continue
        out.append(o)
    return out


def select(obs, kills, fixed):
    """The observations to write given which mutants each kills (`kills`,
    one set per observation) and those the fixed part already kills: in
    each capped group the ones that kill most (ties: the order given),
    then extras while each adds a mutant nothing chosen kills."""
    chosen = set()
    for g, cap in CAPS.items():
        idx = [i for i, o in enumerate(obs) if o.group == g]
        ranked = sorted(idx, key=lambda i: (-len(kills[i]), i))
        chosen |= set(ranked[:cap])
    chosen |= {i for i, o in enumerate(obs) if o.group not in CAPS and o.group != "extra"}
    covered = set(fixed)
    for i in chosen:
        covered |= kills[i]
    extras = [i for i, o in enumerate(obs) if o.group == "extra"]
    added = []
    while len(added) < MAX_EXTRA:
        best = None
        for i in extras:
            if i in added:
                continue
            gain = len(kills[i] - covered)
            if gain and (best is None or gain > best[0]):
                best = (gain, i)
        if best is None:
            break
        added.append(best[1])
        covered |= kills[best[1]]
    return [obs[i] for i in sorted(chosen)] + [obs[i] for i in added]


# Mutant runs per target at most: what the old 20%-of-the-budget share
# allowed for a typical target on an idle machine.
MAX_MUTANT_RUNS = 500


def strengthen(ex, tests, func, node, namespace):
    """Chooses each test's observations by the mutants they kill (tests
    carrying `_mut`, from CallableExplorer.render); within a small share of
    the budget, counted calls first. Returns how many mutants were run."""
    work = [t for t in tests if t.get("_mut") and any(o.group != "recorded" for o in t["_mut"]["obs"])]
    if not work or ex.allow_unsafe or mutants.skip_reason(func, node, namespace) is not None:
        return 0
    # Counted, not timed: the same tests get the same assertions on a busy
    # machine. The wall-clock cap only guards against a pathological target.
    deadline = ex.started + ex.budget + 3
    lines = set()
    for t in work:
        lines |= t["_mut"]["out"].lines
    muts = mutants.build(func, node, lines)
    if not muts:
        return 0
    ran = 0
    timeout = ex.call_timeout
    try:
        for t in work:
            m = t["_mut"]
            obs = m["obs"]
            t0 = time.monotonic()
            base = ex.guarded(m["replay"]())
            took = time.monotonic() - t0
            if base.kind != "return" or not all(same(o.read(base), o.read(m["out"])) for o in obs):
                continue  # the replay is not the kept run any more: left as it is
            ex.call_timeout = min(timeout, max(0.1, 10 * took + 0.05))
            kills = [set() for _ in obs]
            fixed = set()
            done = True
            for i, (label, line, code) in enumerate(muts):
                if line not in m["out"].lines:
                    continue
                if ran >= MAX_MUTANT_RUNS:
                    done = False
                    break
                if time.monotonic() > deadline:
                    ex.capped = True
                    done = False
                    break
                with mutants.Swapped(func, code):
                    r = ex.guarded(m["replay"]())
                ran += 1
                if r.kind != "return" or not same(m["ret"](r), m["ret"](base)):
                    fixed.add(i)
                    continue
                for j, o in enumerate(obs):
                    if not same(o.read(r), o.read(base)):
                        kills[j].add(i)
            ex.call_timeout = timeout
            if not done:
                break
            m["chosen"] = select(obs, kills, fixed)
            m["kills"] = (len(fixed | set().union(*kills)), len(muts))
    finally:
        ex.call_timeout = timeout
    return ran


def rebuild(test):
    """The test's source and imports with the chosen observations."""
    m = test.get("_mut")
    if not m or "chosen" not in m:
        return test
    out = dict(test)
    out.pop("_mut", None)
    body = m["fixed"] + [o.line for o in m["chosen"]]
    imports = set(m["imports"])
    kept = set()
    for o in m["chosen"]:
        kept |= o.imports
    dropped = set()
    for o in m["default"]:
        dropped |= o.imports
    text = "\n".join(body)
    imports = {i for i in imports if i not in dropped - kept or _used(i, text)} | kept
    out["source"] = "def %s(%s):\n%s\n" % (test["name"], ", ".join(test["fixtures"]),
                                          "\n".join(("    " + ln) if ln else "" for ln in body))
    out["imports"] = sorted(imports)
    return out


def _used(imp, text):
    """Whether a body uses a name an import line binds."""
    try:
        node = ast.parse(imp).body[0]
    except SyntaxError:
        return True
    names = [(a.asname or a.name).split(".")[0] for a in getattr(node, "names", [])]
    return any(re.search(r"\b%s\b" % re.escape(n), text) for n in names)
