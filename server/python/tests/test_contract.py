"""Explore v3: arguments that keep the parameters' contract (annotation,
default, evident use), calls that break it and crash in the interpreter
discarded, the project's own `raise` still pinned, an interpreter error
under valid arguments a suspected bug, project objects built through a
factory, and a specific reason for a target that gets no test."""

import ast

from test_explore_v2 import explore
from testgen_explore.contract import broken_use, fits, uses

import typing

LEDGER = '''
import typing


class Entry:
    def __init__(self, account, amount):
        self.account = account
        self.amount = amount


def describe(entry):
    if entry.amount < 0:
        return "debit %s" % entry.account
    return "credit %s" % entry.account


def balance(entries):
    total = 0
    for e in entries:
        total += e.amount
    return total


def withdraw(balance: int, amount: int) -> int:
    if amount > balance:
        raise ValueError("insufficient funds")
    return balance - amount


def average(values: typing.List[int]) -> float:
    return sum(values) / len(values)


def _net(order):
    return order.gross - order.discount


def invoice_total(order):
    """`order` goes to a helper: nothing in this body says what it is."""
    return round(_net(order), 2)
'''

MONEY = '''
_KEY = object()


class Money:
    def __init__(self, cents, _token=None):
        if _token is not _KEY:
            raise TypeError("use Money.of")
        self.cents = cents

    @classmethod
    def of(cls, amount: int):
        return cls(amount * 100, _KEY)


class Vault:
    def __init__(self, key: str):
        raise ValueError("vaults are sealed")

    def open(self):
        return 1


def double(m: Money) -> int:
    return m.cents * 2


def peek(v: Vault) -> int:
    return v.open() + 1
'''


def pins(tests, text):
    return [t["name"] for t in tests if text in t["source"]]


def test_the_use_of_a_parameter_is_read_from_the_body():
    tree = ast.parse("def f(entry, rows, n, cb, fh):\n"
                     "    if entry.amount < 0 and entry.items():\n"
                     "        for r in rows:\n"
                     "            r.total\n"
                     "    with fh:\n"
                     "        return cb(int(n)) + rows[2]\n")
    u = uses(tree.body[0], {"entry", "rows", "n", "cb", "fh"})
    assert u["entry"].attrs == {"amount"} and u["entry"].methods == {"items"}
    assert u["entry"].fields["amount"].number
    assert u["rows"].iterated and u["rows"].index == 2 and u["rows"].elem.attrs == {"total"}
    assert u["n"].numstr and u["cb"].called and u["fh"].entered


def test_a_parameter_merged_into_a_mapping_is_a_mapping():
    # Flask's tutorial: `create_app(test_config=None)` ends in
    # `app.config.update(test_config)`; 'abc' there is no config a caller
    # passes, and dict.update's ValueError on it is the interpreter's.
    tree = ast.parse("def create_app(test_config=None, **extra):\n"
                     "    if test_config is None:\n"
                     "        return None\n"
                     "    app.config.update(test_config)\n"
                     "    return make(**extra)\n")
    u = uses(tree.body[0], {"test_config", "extra"})
    assert u["test_config"].mapping and u["extra"].mapping
    assert broken_use(u["test_config"], "abc") == "str, given where a mapping belongs"
    assert broken_use(u["test_config"], {"TESTING": True}) is None
    assert broken_use(u["test_config"], None) is None  # the body checks for None


def test_annotations_are_checked_through_optional_unions_generics_and_callables():
    assert fits(typing.Optional[int], None) and fits(typing.Optional[int], 3)
    assert not fits(typing.Optional[int], "3")
    assert fits(typing.Union[int, str], "x") and not fits(typing.Union[int, str], 1.5)
    assert fits(typing.List[int], [1]) and not fits(typing.List[int], "abc")
    assert fits(typing.Callable[[int], int], len) and not fits(typing.Callable[[int], int], 3)
    assert fits(float, 2) and not fits(int, None)


def test_an_object_reading_amount_gets_an_entry_not_a_string(ctx, load):
    mod = load("ledger3", LEDGER)
    answer = explore(ctx, mod, "describe")
    tests = answer["tests"]
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    assert all("describe(Entry(" in t["source"] for t in tests), [t["source"] for t in tests]
    assert not pins(tests, "pytest.raises"), [t["source"] for t in tests]
    answer = explore(ctx, mod, "balance")
    assert pins(answer["tests"], "balance([Entry(")
    assert not pins(answer["tests"], "pytest.raises")


def test_a_crash_on_a_value_passed_through_to_a_helper_is_not_pinned(ctx, load):
    mod = load("ledger3", LEDGER)
    answer = explore(ctx, mod, "invoice_total")
    assert not pins(answer["tests"], "has no attribute"), [t["source"] for t in answer["tests"]]
    assert not pins(answer["tests"], "pytest.raises(AttributeError")
    # no project class has `gross`: the target gets no test, and says why
    if not answer["tests"]:
        assert "outside the contract" in answer["reason"], answer["reason"]


def test_the_projects_own_raise_is_still_pinned_with_its_message(ctx, load):
    mod = load("ledger3", LEDGER)
    answer = explore(ctx, mod, "withdraw")
    assert pins(answer["tests"], "pytest.raises(ValueError, match='insufficient funds')")
    assert not any(t.get("suspected_bug") for t in answer["tests"])


def test_an_interpreter_error_under_valid_arguments_is_a_suspected_bug(ctx, load):
    mod = load("ledger3", LEDGER)
    answer = explore(ctx, mod, "average")
    bugs = [t for t in answer["tests"] if t.get("suspected_bug")]
    assert bugs, [t["source"] for t in answer["tests"]]
    assert bugs[0]["suspected_bug"]["error"].startswith("ZeroDivisionError")
    assert "average([])" in bugs[0]["source"] and "# Suspected bug:" in bugs[0]["source"]


def test_an_object_the_constructor_refuses_is_built_by_its_factory(ctx, load):
    mod = load("money3", MONEY)
    answer = explore(ctx, mod, "double")
    assert pins(answer["tests"], "double(Money.of("), [t["source"] for t in answer["tests"]]
    assert not pins(answer["tests"], "pytest.raises")


def test_a_target_without_a_test_says_which_object_could_not_be_built(ctx, load):
    mod = load("money3", MONEY)
    answer = explore(ctx, mod, "peek")
    assert answer["tests"] == []
    assert "could not build a `Vault`: its constructor raised ValueError: vaults are sealed" \
        in answer["reason"], answer["reason"]
    assert "outside the contract" in answer["reason"]


def test_a_target_no_argument_reaches_says_which_line(ctx, load):
    # no class of the project has a `render()` (an object with just the
    # attributes read would do, not methods): every call crashes on line 2
    mod = load("label3", "def label(doc):\n    t = doc.render().strip()\n    return t.upper()\n")
    answer = explore(ctx, mod, "label")
    assert answer["tests"] == [], [t["source"] for t in answer["tests"]]
    assert "no argument reached line 3" in answer["reason"], answer["reason"]
    assert "AttributeError" in answer["reason"] and "outside the contract" in answer["reason"]


def test_a_receiver_is_built_with_what_its_constructor_does_to_each_argument(ctx, load):
    mod = load("replacer3", "class Replacer:\n    def __init__(self, scope, name):\n"
                            "        scope[name] = self\n        self.name = name\n\n"
                            "    def label(self, suffix: str) -> str:\n        if suffix:\n"
                            "            return self.name + suffix\n        return self.name\n")
    answer = explore(ctx, mod, "Replacer.label")
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    assert pins(answer["tests"], "replacer = Replacer({}, "), [t["source"] for t in answer["tests"]]


def test_a_parameter_used_as_a_function_gets_a_function(ctx, load):
    mod = load("meth3", "def bind(instance, func, as_name):\n"
                        "    setattr(instance, as_name, func.__get__(instance, instance.__class__))\n")
    answer = explore(ctx, mod, "bind")
    assert answer["lines"]["reached"] == answer["lines"]["total"]
    assert pins(answer["tests"], "lambda *args, **kwargs:"), [t["source"] for t in answer["tests"]]
    assert not pins(answer["tests"], "pytest.raises(AttributeError")
