"""The guard and the static scan: destructive calls are refused (and do not
happen), runaway calls end, exits do not end the harness."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from testgen_explore.safety import ForbiddenExit, UnsafeCall, unsafe_calls


def test_os_remove_under_the_guard_raises_unsafe_call_and_the_file_stays(guard, tmp_path):
    path = tmp_path / "precious.txt"
    path.write_text("keep me")
    seen = []

    def wipe():
        try:
            os.remove(path)
        except UnsafeCall as e:
            seen.append(e)
            raise

    status, why = guard.run(wipe, 2.0, True)
    assert status == "unsafe" and why.startswith("os.remove on ") and "not inside a path the call was given" in why
    assert len(seen) == 1 and isinstance(seen[0], UnsafeCall)
    assert path.read_text() == "keep me"


def test_removing_what_the_harness_made_for_a_path_argument_is_allowed(guard):
    from testgen_explore.paths import PathVal

    made = PathVal("path").build()
    assert guard.run(lambda: os.remove(made), 2.0, True) == ("ok", None)
    assert not os.path.exists(made)
    # its directory itself, the temporary directory and the working directory stay out of reach
    for path in (os.path.dirname(made), tempfile.gettempdir(), os.getcwd()):
        assert guard.run(lambda: shutil.rmtree(path), 2.0, True)[0] == "unsafe"
        assert os.path.isdir(path)


def test_the_project_cannot_swallow_the_refusal(guard, tmp_path):
    path = tmp_path / "precious.txt"
    path.write_text("x")

    def careless():
        try:
            os.remove(path)
        except Exception:
            return "swallowed"

    assert guard.run(careless, 2.0, True)[0] == "unsafe"
    assert path.exists()


def test_processes_and_remote_connections_are_refused(guard):
    status, detail = guard.run(lambda: subprocess.run(["true"]), 2.0, True)
    assert (status, detail) == ("unsafe", "subprocess.Popen")

    def remote():
        with socket.socket() as s:
            s.connect(("192.0.2.1", 80))  # TEST-NET-1: never routed

    status, detail = guard.run(remote, 2.0, True)
    assert status == "unsafe" and "192.0.2.1" in detail


def test_local_connections_are_allowed(guard):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)

        def local():
            with socket.socket() as s:
                s.connect(server.getsockname())
                return "connected"

        assert guard.run(local, 2.0, True) == ("ok", "connected")


def test_without_enforcement_the_call_runs(guard, tmp_path):
    path = tmp_path / "scratch.txt"
    path.write_text("x")
    assert guard.run(lambda: os.remove(path), 2.0, False) == ("ok", None)
    assert not path.exists()


def test_a_runaway_call_times_out(guard):
    def spin():
        while True:
            pass

    started = time.monotonic()
    assert guard.run(spin, 0.2, True) == ("timeout", None)
    assert time.monotonic() - started < 5


def test_exits_end_the_call_not_the_process(guard):
    status, exc = guard.run(lambda: sys.exit(3), 2.0, True)
    assert status == "exit" and isinstance(exc, SystemExit) and exc.code == 3
    status, exc = guard.run(lambda: os._exit(4), 2.0, True)
    assert status == "exit" and isinstance(exc, ForbiddenExit)
    assert os._exit.__name__ == "_exit"  # the real one is back


def test_an_ordinary_exception_is_the_calls_outcome(guard):
    status, exc = guard.run(lambda: {}["missing"], 2.0, True)
    assert status == "raise" and isinstance(exc, KeyError)


def scan(ctx, load, source, name):
    mod = load("risky", source)
    node = next(n for n in ctx.parse(mod.__file__).body if getattr(n, "name", None) == name)
    return unsafe_calls(node, vars(mod))


RISKY = '''import subprocess as sp
import urllib.request
from os import remove
from shutil import rmtree


def run():
    sp.run(["ls"])


def wipe(path):
    remove(path)
    rmtree(path)


def fetch_local():
    return urllib.request.urlopen("http://127.0.0.1:8000/health")


def fetch_remote():
    return urllib.request.urlopen("https://example.com/")


def fine(x):
    return x + 1
'''


@pytest.mark.parametrize("name, found", [
    ("run", ["subprocess.run"]),
    ("wipe", []),  # checked at run time: refusals.py
    ("fetch_local", []),
    ("fetch_remote", ["urllib.request.urlopen"]),
    ("fine", []),
])
def test_the_static_scan_resolves_names_through_the_module(ctx, load, name, found):
    assert scan(ctx, load, RISKY, name) == found
