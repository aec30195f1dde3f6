"""Test names: the outcome, then the last branch decision in words."""

import ast

from testgen_explore.execution import Outcome
from testgen_explore.naming import Decisions, cond_words, outcome_words, snake, unique_name


def words(condition, negate=False):
    return cond_words(ast.parse(condition, mode="eval").body, negate)


def test_snake_case():
    assert snake("OutOfStock") == "out_of_stock"
    assert snake("HTTPServerError") == "http_server_error"
    assert snake("ValueError") == "value_error"


def test_conditions_read_as_decided():
    assert words("price < 0") == "price_is_negative"
    assert words("price < 0", negate=True) == "price_is_not_negative"
    assert words("0 <= percent <= 100") == "percent_between_0_and_100"
    assert words("0 <= percent <= 100", negate=True) == "percent_not_between_0_and_100"
    assert words("item is None") == "item_is_none"
    assert words("name == ''") == "name_is_empty"
    assert words("currency == 'EUR'") == "currency_is_eur"
    assert words("a and b", negate=True) == "not_a_or_not_b"
    assert words("len(title) > 3") == "len_title_greater_than_3"


def test_the_last_decision_of_a_trace():
    src = ("def f(price):\n"          # 1
           "    if price < 0:\n"      # 2
           "        raise ValueError\n"  # 3
           "    try:\n"               # 4
           "        return 1 / price\n"  # 5
           "    except ZeroDivisionError:\n"  # 6
           "        return 0\n")      # 7
    d = Decisions(ast.parse(src).body[0])
    assert d.last([2, 3]) == "price_is_negative"
    assert d.last([2, 4, 5]) == "price_is_not_negative"
    assert d.last([2, 4, 5, 6, 7]) == "zero_division_error_is_caught"


def test_outcomes_in_words():
    assert outcome_words(Outcome("raise", exc=KeyError("k"))) == "raises_key_error"
    assert outcome_words(Outcome("return", value=[])) == "returns_empty_list"
    assert outcome_words(Outcome("return", value=3)) == "returns_int"
    assert outcome_words(Outcome("return", value=False)) == "returns_false"
    assert outcome_words(Outcome("return", value=[1, 2]), "list") == "yields_2_items"


def test_names_are_unique():
    used = set()
    assert unique_name("test_a__b_", used) == "test_a_b"
    assert unique_name("test_a_b", used) == "test_a_b_2"
    assert unique_name("test_a_b", used) == "test_a_b_3"
