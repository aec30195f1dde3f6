"""What is a project file, by the rules the Rust side passes: the harness,
its call-site index and the generated conftest apply the same functions."""

import json
import os
import sys
import types

import pytest

from testgen_explore.context import HARNESS_DIR, Context
from testgen_explore.main import parse_args, set_sys_path
from testgen_explore.rules import Rules
from testgen_explore.templates import conftest_source, django_conftest_source

from conftest import RULES

CASES = [
    ("pkg/mod.py", True),
    ("pkg/__init__.py", True),
    ("venv/helpers.py", True),       # a directory called venv is only a name...
    ("env1/lib/site.py", False),     # ...a virtualenv is what holds pyvenv.cfg
    ("pkg/test_mod.py", False),
    ("pkg/mod_test.py", False),
    ("conftest.py", False),
    ("tests/generated/helpers.py", False),
    ("app/tests/generated/x.py", False),
    ("tests/helpers.py", True),
    (".hidden/x.py", False),
    ("build/lib/x.py", False),
    ("mypkg.egg-info/x.py", False),
    ("pkg/__pycache__/mod.cpython-311.pyc", False),
    ("attestation/contest.py", True),
]


@pytest.fixture
def tree(root):
    os.makedirs(os.path.join(root, "env1"))
    with open(os.path.join(root, "env1", "pyvenv.cfg"), "w") as f:
        f.write("home = /usr/bin\n")
    return root


@pytest.mark.parametrize("rel, expected", CASES)
def test_project_files(ctx, tree, rel, expected):
    assert ctx.is_project_file(os.path.join(tree, rel)) is expected


def test_outside_the_root_or_no_path_is_never_the_project(ctx):
    assert not ctx.is_project_file(os.__file__)
    assert not ctx.is_project_file(None)
    assert not ctx.is_project_file("")


def test_the_harness_itself_is_never_the_project(guard):
    around = Context(os.path.dirname(HARNESS_DIR), Rules(dict(RULES)))
    assert not around.is_project_file(os.path.join(HARNESS_DIR, "testgen_explore", "main.py"))
    assert around.is_project_file(os.path.join(os.path.dirname(HARNESS_DIR), "src", "x.py"))


def test_rules_must_be_complete():
    with pytest.raises(ValueError, match="generated_dir"):
        Rules({k: v for k, v in RULES.items() if k != "generated_dir"})


def test_call_sites_skip_what_is_not_the_project(ctx, tree):
    files = {
        "app.py": "area(1, 2)\n",
        "tests/test_app.py": "area(3, 4)\n",               # tests are learned from
        "tests/generated/test_old.py": "area(5, 6)\n",     # testgen's own output is not
        "env1/lib/x.py": "area(7, 8)\n",
        ".cache/x.py": "area(9, 10)\n",
    }
    for rel, text in files.items():
        path = os.path.join(tree, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
    found = sorted(call.args[0].value for call in ctx.callsites.calls("area"))
    assert found == [1, 3]


def test_the_conftest_carries_the_rules_and_applies_them_alike(ctx, tree):
    src = conftest_source({"framework": "flask", "import": "from app import create_app",
                           "expr": "create_app()"}, RULES)
    assert "from app import create_app" in src and "def client():" in src
    ns = {"__file__": os.path.join(tree, "tests", "generated", "conftest.py"), "__name__": "conftest"}
    exec(compile(src, "conftest.py", "exec"), ns)
    assert ns["_RULES"] == RULES
    for rel, expected in CASES:
        module = types.ModuleType("m")
        module.__file__ = os.path.join(tree, rel)
        assert ns["_is_project_module"](module) is expected, rel
    namespace_pkg = types.ModuleType("nspkg")
    namespace_pkg.__path__ = [os.path.join(tree, "nspkg")]
    assert ns["_is_project_module"](namespace_pkg)


def test_the_django_conftest_names_the_settings():
    src = django_conftest_source("mysite.settings")
    compile(src, "conftest.py", "exec")
    assert "_SETTINGS = 'mysite.settings'" in src


def test_neither_the_harness_dir_nor_the_cwd_stays_on_sys_path(ctx, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [HARNESS_DIR, "", str(tmp_path), "/somewhere/lib"])
    args = parse_args(["--root", ctx.root, "--sys-path", ctx.root, "--rules", json.dumps(RULES)])
    assert args.rules.data == RULES
    set_sys_path(ctx, args)
    assert sys.path == [ctx.root, "/somewhere/lib"]
