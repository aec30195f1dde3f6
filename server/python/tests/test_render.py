"""Rendering of literals, expected values and assertions: stable text, values
checked by evaluating them back, nothing machine-specific asserted."""

import os

from testgen_explore.render import assertion_lines, match_arg, obj_src, verified_src
from testgen_explore.values import Lit, literal_src


def test_literals_are_written_stably():
    assert literal_src({3, 1, 2}) == "{1, 2, 3}"
    assert literal_src(frozenset()) == "frozenset()"
    assert literal_src((1,)) == "(1,)"
    assert literal_src("x" * 100) == "'x' * 100"
    assert literal_src(float("nan")) == "float('nan')"
    assert literal_src(float("-inf")) == "float('-inf')"
    assert literal_src({"a": [1, 2.5, None]}) == "{'a': [1, 2.5, None]}"
    assert Lit([1, 2]).build() == [1, 2] and Lit([1, 2]).build() is not Lit([1, 2]).value


def test_return_values_get_the_fitting_assertion(ctx):
    assert assertion_lines(ctx, "f()", None) == (["assert f() is None"], set())
    assert assertion_lines(ctx, "f()", True) == (["assert f() is True"], set())
    assert assertion_lines(ctx, "f()", 2.5) == (["assert f() == pytest.approx(2.5)"], {"import pytest"})
    assert assertion_lines(ctx, "f()", float("nan")) == (["assert math.isnan(f())"], {"import math"})
    assert assertion_lines(ctx, "f()", [1, "a", (2,)]) == (["assert f() == [1, 'a', (2,)]"], set())


def test_project_objects_are_rebuilt_or_checked_attribute_by_attribute(ctx, load):
    mod = load("things", (
        "import dataclasses\n\n\n"
        "@dataclasses.dataclass\nclass Point:\n    x: int\n    y: int\n\n\n"
        "class Box:\n    def __init__(self):\n        self.n = 3\n        self.label = 'a'\n        self._hidden = 1\n"
    ))
    assert assertion_lines(ctx, "f()", mod.Point(1, 2)) == (
        ["assert f() == Point(x=1, y=2)"], {"from things import Point"})
    lines, imports = assertion_lines(ctx, "f()", mod.Box())
    assert lines == ["result = f()", "assert isinstance(result, Box)",
                     "assert result.label == 'a'", "assert result.n == 3"]
    assert imports == {"from things import Box"}


def test_paths_of_this_machine_are_never_asserted(ctx):
    value = os.path.join(ctx.root, "data.txt")
    assert obj_src(ctx, value) is None
    assert assertion_lines(ctx, "f()", value) == (
        ["result = f()", "assert isinstance(result, str)"], set())


def test_a_value_whose_source_does_not_evaluate_back_is_not_asserted(ctx, load):
    mod = load("odd", (
        "import dataclasses\n\n\n"
        "@dataclasses.dataclass\nclass Always:\n    x: int\n\n"
        "    def __eq__(self, other):\n        return False\n"
    ))
    assert obj_src(ctx, mod.Always(1)) == ("Always(x=1)", {"from odd import Always"})
    assert verified_src(ctx, mod.Always(1)) is None


def test_exception_messages_become_match_patterns():
    assert match_arg(ValueError("price (EUR) must be > 0")) == r"price \(EUR\) must be > 0"
    assert match_arg(ValueError("two\nlines")) is None
    assert match_arg(ValueError("at 0x7f3a2b1c9d")) is None
