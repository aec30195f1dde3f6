"""Mutation analysis: first-order mutants of a target's source (generated in
source order, capped, compiled for the function's own module and swapped in
as its code), and the assertions of a kept test chosen by the mutants they
kill."""

import ast

from testgen_explore import mutants
from testgen_explore.observe import Obs, default, select

from test_explore_v2 import explore


def _def(mod, qualname):
    tree = ast.parse(open(mod.__file__).read())
    name = qualname.split(".")[-1]
    return next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == name)


CALC = '''
LIMIT = 10


def clamp(x, hi=LIMIT):
    """Doc strings are not mutated."""
    if x > hi and x != 99:
        return hi - 1
    return x * 2


class Base:
    def one(self):
        return 1


class Acc(Base):
    def __init__(self):
        self.__secret = 5
        self.total = 0

    def add(self, n: int) -> int:
        self.total += n + super().one() + self.__secret
        return self.total
'''


def test_sites_are_in_source_order_with_each_operator(load):
    mod = load("calc", CALC)
    labels = [s.label for s in mutants.sites(_def(mod, "clamp"))]
    assert labels == ["line 7: condition negated", "line 7: And -> Or", "line 7: Gt -> GtE",
                      "line 7: NotEq -> Eq", "line 7: 99 -> 100", "line 8: return None",
                      "line 8: Sub -> Add", "line 8: 1 -> 2", "line 9: return None", "line 9: Mult -> Div",
                      "line 9: 2 -> 3"]
    # the same function, the same list; a cap spreads over all of it
    assert [s.label for s in mutants.sites(_def(mod, "clamp"))] == labels
    assert mutants.spread(list(range(11)), 4) == [0, 2, 5, 8]


def test_each_mutant_runs_in_the_module_and_the_code_is_put_back(load):
    mod = load("calc", CALC)
    built = mutants.build(mod.clamp, _def(mod, "clamp"))
    assert len(built) == 11
    seen = {}
    for label, line, code in built:
        with mutants.Swapped(mod.clamp, code):
            try:
                seen[label] = (mod.clamp(12), mod.clamp(3))  # the default still comes from LIMIT
            except Exception as e:
                seen[label] = type(e).__name__
    assert mod.clamp(12) == 9 and mod.clamp(3) == 6
    assert seen["line 8: Sub -> Add"] == (11, 6)
    assert seen["line 9: 2 -> 3"] == (9, 9)
    assert seen["line 7: condition negated"] == (24, 9)
    assert seen["line 9: return None"] == (9, None)
    # only the lines the tests ran
    assert {line for _, line, _ in mutants.build(mod.clamp, _def(mod, "clamp"), lines={9})} == {9}
    assert len(mutants.build(mod.clamp, _def(mod, "clamp"), cap=3)) == 3


def test_a_method_mutant_keeps_super_and_private_names(load):
    mod = load("calc", CALC)
    built = mutants.build(mod.Acc.add, _def(mod, "add"))
    results = []
    for label, _, code in built:
        with mutants.Swapped(mod.Acc.add, code):
            results.append((label, mod.Acc().add(2)))
    assert mod.Acc().add(2) == 8
    # `+=`, then each `+`: super() and the mangled `self.__secret` still work
    assert results == [("line 23: Add -> Sub", -8), ("line 23: Add -> Sub", -2), ("line 23: Add -> Sub", 6),
                       ("line 24: return None", None)]


def test_generators_async_and_file_writers_get_no_mutants(load):
    mod = load("kinds", "import os\n\n"
                        "def gen(n):\n    yield n + 1\n\n"
                        "async def co(n):\n    return n + 1\n\n"
                        "def save(path, text):\n    with open(path, 'w') as f:\n        f.write(text + '!')\n\n"
                        "def plain(n):\n    return n + 1\n")
    ns = vars(mod)
    assert mutants.skip_reason(mod.gen, _def(mod, "gen"), ns) == "generator or async"
    tree = ast.parse(open(mod.__file__).read())
    co = next(n for n in tree.body if isinstance(n, ast.AsyncFunctionDef))
    assert mutants.skip_reason(mod.co, co, ns) is not None
    assert mutants.skip_reason(mod.save, _def(mod, "save"), ns) == "touches files or processes"
    assert mutants.skip_reason(mod.plain, None, ns) == "no source"
    assert mutants.skip_reason(mod.plain, _def(mod, "plain"), ns) is None


def _obs(n, group="state"):
    return [Obs("assert obj.a%d == 1" % i, (), group, lambda out: None) for i in range(n)]


def test_a_capped_group_keeps_the_observations_that_kill():
    obs = _obs(8)
    kills = [set() for _ in obs]
    kills[7] = {3}
    assert [o.line for o in default(obs)] == [o.line for o in obs[:6]]
    chosen = [o.line for o in select(obs, kills, fixed=set())]
    # the one that kills is kept; the rest in their usual order, six in all
    assert chosen == ["assert obj.a%d == 1" % i for i in (0, 1, 2, 3, 4, 7)]


def test_extra_observations_only_when_they_kill_what_nothing_else_does():
    obs = _obs(2) + [Obs("assert len(obj.items) == 1", (), "extra", None),
                     Obs("assert obj.name == 'x'", (), "extra", None),
                     Obs("assert obj.dropped == 0", (), "extra", None)]
    kills = [{1}, set(), {1}, set(), {2, 5}]
    chosen = [o.line for o in select(obs, kills, fixed={5})]
    assert chosen == ["assert obj.a0 == 1", "assert obj.a1 == 1", "assert obj.dropped == 0"]


METER = '''
class Meter:
    def __init__(self):
        self.a = self.b = self.c = self.d = self.e = self.f = 0
        self.z = 0
        self.name = "meter"
        self.dropped = 0

    def bump(self, n: int) -> None:
        self.a = self.b = self.c = self.d = self.e = self.f = n
        self.z = n * 2 + 1
        if n > 1000:
            self.dropped += 1
'''


def test_a_later_attribute_that_kills_is_asserted_and_an_idle_one_is_not(ctx, load):
    mod = load("meter", METER)
    answer = explore(ctx, mod, "Meter.bump")
    src = "\n".join(t["source"] for t in answer["tests"])
    # sorted first, a..f would fill the six places; z is what the mutants of
    # `n * 2 + 1` change, so it is written, and f (killing nothing) is not
    assert "assert meter.z == " in src
    assert "assert meter.f == " not in src
    # left as constructed: `dropped` kills the negated `n > 1000`, `name` kills nothing
    assert "assert meter.dropped == 0" in src
    assert "meter.name" not in src
    again = explore(ctx, load("meter", METER), "Meter.bump")
    assert [t["source"] for t in again["tests"]] == [t["source"] for t in answer["tests"]]
    for t in answer["tests"]:
        ns = {}
        for line in t["imports"]:
            exec(line, ns)
        exec(t["source"], ns)
        ns[t["name"]]()


def test_a_framework_objects_attributes_are_written_only_when_they_kill(ctx, load):
    mod = load("logs", "import logging\n\n\n"
                       "def child(name: str):\n    return logging.getLogger('app.' + name)\n")
    answer = explore(ctx, mod, "child")
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "result = child(" in src and "assert isinstance(result, Logger)" in src
    # the mutants of 'app.' change the name: asserted; the handlers list
    # or the level no mutant changes: not
    assert "assert result.name == 'app." in src
    assert "result.handlers" not in src and "result.level" not in src
