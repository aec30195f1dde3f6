#!/usr/bin/env python3
"""Classifies every `pytest.raises` of a directory of kept tests by where
the exception was raised: a `raise` statement of the project's code, a
`raise` of code outside it (a library), or the interpreter (no raise
statement: a C builtin, an attribute look-up, a subscript, an operator).

    python3 bench/check_raises.py TESTS_DIR --project ROOT [--python PY] [--json]

The tests that use `pytest.raises` run once under pytest in the project's
interpreter (PY, default: this one), with this file loaded as a pytest
plugin that wraps `pytest.raises` and looks at the traceback of what each
block caught. Prints the counts and the offending tests; exits 1 when a
test pins an interpreter error (TypeError, AttributeError, KeyError,
IndexError, ValueError, ...) without being marked as a suspected bug (a
`# Suspected bug` comment in the test), 2 on bad input, else 0.

Standard library only (pytest in the project's interpreter)."""

import argparse
import ast
import json
import os
import signal
import subprocess
import sys
import tempfile

INTERPRETER_ERRORS = ("TypeError", "AttributeError", "KeyError", "IndexError", "ValueError",
                      "ZeroDivisionError", "UnboundLocalError", "NameError", "RecursionError",
                      "OverflowError")
MARK = "# Suspected bug"

# ---------------------------------------------------------------- plugin side
# (runs inside pytest, in the project's interpreter)

_records = []
_current = [None]
_trees = {}


def _is_raise_line(path, lineno):
    if path not in _trees:
        try:
            with open(path, encoding="utf-8") as f:
                _trees[path] = ast.parse(f.read())
        except (OSError, SyntaxError, ValueError):
            _trees[path] = None
    tree = _trees[path]
    if tree is None:
        return False
    best = None
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt) and node.lineno <= lineno <= (node.end_lineno or node.lineno):
            if best is None or node.lineno >= best.lineno:
                best = node
    return isinstance(best, (ast.Raise, ast.Assert))


def _is_project(path, root, tests):
    path = os.path.realpath(path)
    inside = path.startswith(root + os.sep) and not path.startswith(tests + os.sep)
    skipped = ("site-packages", "dist-packages", ".venv", "venv")
    return inside and not any(os.sep + s + os.sep in path[len(root):] for s in skipped)


def classify(exc, tb, root, tests):
    """'project', 'library', 'interpreter' (one of the interpreter's error
    types, no raise statement threw it) or 'other' (an OSError from a C
    call, a KeyboardInterrupt...)."""
    last = tb
    while last is not None and last.tb_next is not None:
        last = last.tb_next
    if last is not None:
        path = last.tb_frame.f_code.co_filename
        if _is_raise_line(path, last.tb_lineno):
            return "project" if _is_project(path, root, tests) else "library"
    if type(exc).__module__ != "builtins":
        return "library"  # a class of its own, raised from C (json's decoder)
    return "interpreter" if type(exc).__name__ in INTERPRETER_ERRORS or \
        {c.__name__ for c in type(exc).__mro__} & set(INTERPRETER_ERRORS) else "other"


class _Spy:
    def __init__(self, cm):
        self._cm = cm

    def __enter__(self):
        return self._cm.__enter__()

    def __exit__(self, etype, exc, tb):
        if exc is not None:
            root = os.path.realpath(os.environ["CHECK_RAISES_ROOT"])
            tests = os.path.realpath(os.environ["CHECK_RAISES_TESTS"])
            where = last_frame(tb)
            _records.append({"test": _current[0], "error": "%s: %s" % (etype.__name__, str(exc)[:200]),
                             "origin": classify(exc, tb, root, tests), "at": where})
        return self._cm.__exit__(etype, exc, tb)


def last_frame(tb):
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return "%s:%d" % (tb.tb_frame.f_code.co_filename, tb.tb_lineno) if tb is not None else ""


def pytest_configure(config):
    import pytest
    real = pytest.raises
    if getattr(real, "_check_raises", False):
        return

    def raises(*args, **kwargs):
        cm = real(*args, **kwargs)
        if len(args) > 1 or not hasattr(cm, "__exit__"):
            return cm  # the call form: pytest.raises(E, f, *args)
        return _Spy(cm)

    raises._check_raises = True
    pytest.raises = raises


def pytest_runtest_call(item):
    _current[0] = item.nodeid


def pytest_unconfigure(config):
    out = os.environ.get("CHECK_RAISES_OUT")
    if out:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(_records, f)


# ---------------------------------------------------------------- command side


def count_tests(tests_dir):
    n = 0
    for dirpath, _, files in os.walk(tests_dir):
        for name in files:
            if name.startswith("test_") and name.endswith(".py"):
                with open(os.path.join(dirpath, name), encoding="utf-8") as f:
                    n += sum(1 for node in ast.parse(f.read()).body
                             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
                             and node.name.startswith("test"))
    return n


def raising_tests(tests_dir):
    """{(file, test name): marked as a suspected bug} for every test function
    that uses pytest.raises."""
    out = {}
    for dirpath, _, files in os.walk(tests_dir):
        for name in sorted(files):
            if not (name.startswith("test_") and name.endswith(".py")):
                continue
            path = os.path.join(dirpath, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            lines = text.splitlines()
            for node in ast.parse(text).body:
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                src = "\n".join(lines[node.lineno - 1:node.end_lineno])
                if "pytest.raises" in src or "raises(" in src:
                    out[(path, node.name)] = MARK in src
    return out


def run(tests_dir, project, python, timeout):
    found = raising_tests(tests_dir)
    files = sorted({f for f, _ in found})
    with tempfile.TemporaryDirectory(prefix="check-raises-") as tmp:
        out = os.path.join(tmp, "records.json")
        env = dict(os.environ, CHECK_RAISES_OUT=out, CHECK_RAISES_ROOT=project,
                   CHECK_RAISES_TESTS=tests_dir,
                   PYTHONPATH=os.pathsep.join([os.path.dirname(os.path.abspath(__file__)), project,
                                               os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        ids = ["%s::%s" % (f, n) for f, n in sorted(found)]
        records = []
        if ids:
            cmd = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "check_raises",
                   "-p", "no:randomly", "--rootdir", project, *ids]
            proc = subprocess.Popen(cmd, cwd=project, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)  # pytest and whatever the tests started
                proc.wait()
                raise
            if os.path.exists(out):
                with open(out, encoding="utf-8") as f:
                    records = json.load(f)
    return found, records


def report(found, records, project):
    by_test = {}
    for r in records:
        if r["test"]:
            path, _, name = r["test"].partition("::")
            key = (os.path.realpath(os.path.join(project, path)), name.split("[")[0])
            by_test.setdefault(key, []).append(r)
    counts = {"project": 0, "library": 0, "interpreter": 0, "other": 0, "unclassified": 0}
    marked = offending = 0
    bad = []
    for (path, name), is_marked in sorted(found.items()):
        recs = by_test.get((os.path.realpath(path), name), [])
        if not recs:
            counts["unclassified"] += 1
            continue
        for r in recs:
            counts[r["origin"]] += 1
            if r["origin"] == "interpreter":
                if is_marked:
                    marked += 1
                else:
                    offending += 1
                    bad.append({"test": "%s::%s" % (os.path.relpath(path, project), name),
                                "error": r["error"], "at": r["at"]})
    pinning = len({b["test"] for b in bad})
    return {"tests_with_raises": len(found), "blocks": counts, "tests_pinning_interpreter_errors": pinning, "interpreter_marked_as_suspected_bug": marked,
            "interpreter_unmarked": offending, "offending": bad}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("tests_dir")
    ap.add_argument("--project", required=True, help="the project's root (its code is the project's)")
    ap.add_argument("--python", default=sys.executable, help="the project's interpreter, with pytest")
    ap.add_argument("--timeout", type=float, default=600)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    tests_dir = os.path.realpath(args.tests_dir)
    project = os.path.realpath(args.project)
    if not os.path.isdir(tests_dir) or not os.path.isdir(project):
        print("check_raises: %s is not a directory" % (args.tests_dir if not os.path.isdir(tests_dir)
                                                      else args.project), file=sys.stderr)
        return 2
    try:
        found, records = run(tests_dir, project, os.path.abspath(args.python), args.timeout)
    except subprocess.TimeoutExpired:
        print("check_raises: pytest ran longer than %g s" % args.timeout, file=sys.stderr)
        return 2
    rep = report(found, records, project)
    rep["tests"] = count_tests(tests_dir)
    rep["share_pinning_interpreter_errors"] = round(
        100.0 * rep["tests_pinning_interpreter_errors"] / rep["tests"], 1) if rep["tests"] else 0.0
    if args.json:
        print(json.dumps(rep, indent=2))
    else:
        c = rep["blocks"]
        print("tests: %d; using pytest.raises: %d; pinning an unmarked interpreter error: %d (%.1f %%)"
              % (rep["tests"], rep["tests_with_raises"], rep["tests_pinning_interpreter_errors"],
                 rep["share_pinning_interpreter_errors"]))
        print("raised by a raise of the project: %d; of a library: %d; by the interpreter: %d "
              "(%d marked as suspected bugs); other: %d; not reached: %d"
              % (c["project"], c["library"], c["interpreter"], rep["interpreter_marked_as_suspected_bug"],
                 c["other"], c["unclassified"]))
        for b in rep["offending"]:
            print("PINS AN INTERPRETER ERROR: %s: %s (at %s)" % (b["test"], b["error"], b["at"]))
    return 1 if rep["interpreter_unmarked"] else 0


if __name__ == "__main__":
    sys.exit(main())
