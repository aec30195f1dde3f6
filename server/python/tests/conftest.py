"""Shared fixtures of the harness's tests: the package importable from
server/python, a harness Context over a temporary project root, and small
modules written into it and imported for real."""

import importlib
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from testgen_explore.context import Context  # noqa: E402
from testgen_explore.rules import Rules  # noqa: E402

# Test data in the shape testgen's Rust side sends (workspace/skip.rs owns
# the real values; these are enough to exercise each kind of rule).
RULES = {
    "skipped_dir_names": ["__pycache__", "site-packages", "build", "*.egg-info"],
    "skip_hidden_dirs": True,
    "virtualenv_marker": "pyvenv.cfg",
    "generated_dir": ["tests", "generated"],
    "test_file_names": ["conftest.py", "test_*.py", "*_test.py"],
}


@pytest.fixture
def root(tmp_path):
    return str(tmp_path)


@pytest.fixture(scope="session")
def guard():
    """One installed guard for the session: an audit hook cannot be removed
    (it only acts while a guarded call runs), so it is installed once."""
    from testgen_explore.safety import Guard

    g = Guard()
    g.install()
    return g


@pytest.fixture
def ctx(root, guard):
    c = Context(root, Rules(dict(RULES)), sys_path=[root], seed=0)
    c.guard = guard
    return c


@pytest.fixture
def load(root, monkeypatch):
    """Writes `source` as `<root>/<name>.py` and imports it afresh."""
    monkeypatch.syspath_prepend(root)
    loaded = []

    def write_and_import(name, source):
        path = os.path.join(root, name + ".py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        importlib.invalidate_caches()
        sys.modules.pop(name, None)
        loaded.append(name)
        return importlib.import_module(name)

    yield write_and_import
    for name in loaded:
        sys.modules.pop(name, None)
