"""Explore v2: structured strings from a function's regexes and checks,
numbers for modulo loops, recording callbacks (sync and async), typed
`*args`, state assertions after a call sequence, suspected bugs."""

import ast

from testgen_explore.callables import CallableExplorer
from testgen_explore.inputs import regex_examples, structured_ints, structured_strings
from testgen_explore.recorders import called_params


def explore(ctx, mod, qualname, **extra):
    tree = ast.parse(open(mod.__file__).read())
    parts = qualname.split(".")
    node = next(n for n in ast.walk(tree) if getattr(n, "name", None) == parts[-1]
                and isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))
    req = {"op": "explore", "id": 1,
           "target": {"file": mod.__file__, "module": mod.__name__, "qualname": qualname,
                      "kind": "method" if len(parts) > 1 else "function",
                      "line": node.lineno, "end_line": node.end_lineno},
           "budget_s": 20.0, "max_calls": 300, "call_timeout_s": 2.0, "seed": 0, "allow_unsafe": False}
    req.update(extra)
    answer = CallableExplorer(ctx, req).explore()
    assert answer["status"] == "ok", answer
    return answer


def test_regex_examples_match_their_pattern():
    import re
    for pat in [r"^[a-z0-9._+-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$",
                r"(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc)(\d*))?", r"[^@\s]+@\w+", r"(ab|cd){2}x?"]:
        examples = regex_examples(pat)
        assert examples, pat
        for ex in examples:
            assert re.fullmatch(pat, ex), (pat, ex)
    # every alternative gets its own example
    assert {"1.1.1", "1.1.1-beta1", "1.1.1-rc1"} <= set(regex_examples(r"(\d+)\.(\d+)\.(\d+)(?:-(alpha|beta|rc)(\d*))?"))
    assert regex_examples("(unclosed") == []


def test_split_and_prefix_checks_give_composed_text():
    node = ast.parse(
        "def parse(line):\n"
        "    if not line.startswith('X-'):\n        raise ValueError\n"
        "    name, sep, value = line.partition(':')\n"
        "    return value.split(';')\n").body[0]
    strs = structured_strings(node, {})
    assert "abc:xyz;xyz" in strs          # the parts in source order
    assert "abc::xyz;xyz" in strs         # a separator doubled
    assert "abcxyz;xyz" in strs           # one left out
    assert "X-abc:xyz;xyz" in strs        # with the prefix checked for
    assert structured_strings(None, {}) == []


def test_modulo_loops_get_composites_and_multiples():
    node = ast.parse("def f(n):\n    for d in range(2, n):\n        if n % d == 0:\n            return d\n").body[0]
    assert 12 in structured_ints(node) and 9 in structured_ints(node)
    node = ast.parse("def g(n):\n    return n % 3 == 0 and n % 5 == 0\n").body[0]
    assert 15 in structured_ints(node)
    fmt = ast.parse("def h(x):\n    return 'x=%s' % x\n").body[0]
    assert structured_ints(fmt) == []


def test_called_and_awaited_parameters_are_told_apart():
    node = ast.parse("async def f(sink, cb, data):\n    await sink(data)\n    cb(data)\n    data(1)\n").body[0]
    assert called_params(node, {"sink", "cb"}) == {"sink": "async", "cb": "sync"}


def test_an_async_callback_is_recorded_and_asserted(ctx, load):
    mod = load("sinks", "async def drain(entries: list, sink) -> int:\n"
                        "    n = 0\n    for e in entries:\n        await sink(e)\n        n += 1\n    return n\n")
    answer = explore(ctx, mod, "drain")
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    src = "\n".join(t["source"] for t in answer["tests"])
    assert "async def sink(*args):" in src and "sink_calls = []" in src
    assert "assert sink_calls == [" in src


LEDGER = '''
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    account: str
    amount: int


class Ledger:
    def __init__(self):
        self.posted = 0
        self._balances = {}

    def post(self, *entries: Entry) -> int:
        if len(entries) < 2:
            raise ValueError("two entries at least")
        if sum(e.amount for e in entries) != 0:
            raise ValueError("unbalanced")
        for e in entries:
            self._balances[e.account] = self._balances.get(e.account, 0) + e.amount
        self.posted += 1
        return self.posted

    def largest(self) -> str:
        return sorted(self._balances)[0]
'''


def test_typed_star_args_are_spread_and_the_changed_state_asserted(ctx, load):
    mod = load("ledger", LEDGER)
    answer = explore(ctx, mod, "Ledger.post")
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    ok = [t for t in answer["tests"] if "_returns_" in t["name"]]
    assert ok, [t["name"] for t in answer["tests"]]
    assert "ledger.post(Entry(" in ok[0]["source"] and "), Entry(" in ok[0]["source"]
    assert "assert ledger.posted == 1" in ok[0]["source"]


def test_an_interpreter_error_in_project_code_is_a_suspected_bug(ctx, load):
    mod = load("ledger", LEDGER)
    answer = explore(ctx, mod, "Ledger.largest")
    bugs = [t for t in answer["tests"] if t.get("suspected_bug")]
    assert len(bugs) == 1, answer["tests"]
    bug = bugs[0]["suspected_bug"]
    assert bug["file"] == "ledger.py" and bug["error"].startswith("IndexError")
    assert bug["input"] == "ledger.largest()" and bug["test"] == bugs[0]["name"]
    assert "# Suspected bug: IndexError" in bugs[0]["source"]
    # an explicit `raise` of the project is its own refusal, never a bug
    answer = explore(ctx, mod, "Ledger.post")
    assert not any(t.get("suspected_bug") for t in answer["tests"])


def test_the_same_seed_gives_the_same_tests(ctx, load):
    mod = load("ledger", LEDGER)
    first = explore(ctx, mod, "Ledger.post")["tests"]
    second = explore(ctx, mod, "Ledger.post")["tests"]
    assert first == second


def test_a_path_parameter_gets_a_real_file_under_tmp_path(ctx, load):
    mod = load("slurp", "def count_lines(filename):\n    with open(filename) as f:\n"
                        "        return sum(1 for _ in f)\n")
    answer = explore(ctx, mod, "count_lines")
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    t = next(t for t in answer["tests"] if "_returns_" in t["name"])
    assert t["fixtures"] == ["tmp_path"] and t["source"].startswith("def %s(tmp_path):" % t["name"])
    assert "filename_path = tmp_path / 'input.txt'" in t["source"]
    assert "assert count_lines(str(filename_path)) == 2" in t["source"]
