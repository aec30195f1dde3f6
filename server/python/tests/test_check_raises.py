"""bench/check_raises.py on a tiny made-up project: each `pytest.raises`
classified by where its exception came from (a raise of the project, of a
library, or the interpreter), a suspected-bug mark honoured, the exit code
set by the unmarked interpreter errors."""

import json
import os
import subprocess
import sys

CHECKER = os.path.join(os.path.dirname(__file__), "..", "..", "..", "bench", "check_raises.py")

SHOP = '''
import json


def price(item):
    return item.amount * 2


def refund(amount: int) -> int:
    if amount < 0:
        raise ValueError("negative refund")
    return amount


def load(text: str):
    return json.loads(text)
'''

PROJECT_RAISE = '''
import pytest
from shop import refund


def test_refund_refuses_a_negative_amount():
    with pytest.raises(ValueError, match="negative refund"):
        refund(-1)


def test_refund_returns_the_amount():
    assert refund(2) == 2
'''

LIBRARY_RAISE = '''
import json
import pytest
from shop import load


def test_load_refuses_text_that_is_not_json():
    with pytest.raises(json.JSONDecodeError):
        load("{")
'''

CRASH = '''
import pytest
from shop import price


def test_price_crashes_on_a_string():
    with pytest.raises(AttributeError):
        price("abc")
'''

MARKED = '''
import pytest
from shop import price


def test_price_crashes_on_none():
    # Suspected bug: AttributeError at shop.py:6 on this input; the test pins today's behaviour.
    with pytest.raises(AttributeError):
        price(None)
'''


def check(tmp_path, files):
    (tmp_path / "shop.py").write_text(SHOP)
    tests = tmp_path / "tests" / "generated"
    tests.mkdir(parents=True)
    for name, text in files.items():
        (tests / name).write_text(text)
    p = subprocess.run([sys.executable, CHECKER, str(tests), "--project", str(tmp_path), "--json"],
                       capture_output=True, text=True, timeout=120)
    return p.returncode, json.loads(p.stdout)


def test_a_pinned_interpreter_crash_is_reported_and_fails_the_check(tmp_path):
    code, rep = check(tmp_path, {"test_a.py": PROJECT_RAISE, "test_b.py": LIBRARY_RAISE,
                                 "test_c.py": CRASH})
    assert rep["blocks"]["project"] == 1 and rep["blocks"]["library"] == 1
    assert rep["blocks"]["interpreter"] == 1 and rep["tests"] == 4
    assert [b["test"] for b in rep["offending"]] == [
        "tests/generated/test_c.py::test_price_crashes_on_a_string"]
    assert "'str' object has no attribute 'amount'" in rep["offending"][0]["error"]
    assert code == 1


def test_raises_of_the_project_and_marked_suspected_bugs_pass_the_check(tmp_path):
    code, rep = check(tmp_path, {"test_a.py": PROJECT_RAISE, "test_d.py": MARKED})
    assert rep["blocks"]["interpreter"] == 1 and rep["interpreter_marked_as_suspected_bug"] == 1
    assert rep["offending"] == [] and code == 0
