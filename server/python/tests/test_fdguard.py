"""The descriptor guard: under the guard, project code touches only the
descriptors it opened itself; the rest (the harness's protocol, the standard
streams, pytest's capture files in a generated test) are refused, untouched.
And a parameter whose contract is "a path or a file" is never handed an int."""

import os
import random

import pytest

from testgen_explore.execution import Callee
from testgen_explore.generation import Gen
from testgen_explore.paths import PathVal, names_descriptor
from testgen_explore.source import FunctionFacts


@pytest.fixture
def pipe():
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass


def unread(fd):
    os.set_blocking(fd, False)
    try:
        return os.read(fd, 100)
    except BlockingIOError:
        return b""


def test_writing_to_a_descriptor_the_call_did_not_open_is_refused(guard, pipe):
    r, w = pipe
    status, why = guard.run(lambda: os.write(w, b"into the protocol\n"), 2.0, True)
    assert status == "unsafe"
    assert why == "wrote to file descriptor %d, which it did not open" % w
    assert unread(r) == b""


def test_open_and_fdopen_of_a_foreign_descriptor_are_refused(guard, pipe):
    r, w = pipe

    def writer():
        with open(w, "w", closefd=False) as f:
            f.write("<?xml version='1.0'?>")

    assert guard.run(writer, 2.0, True)[0] == "unsafe"
    status, why = guard.run(lambda: os.fdopen(r).read(), 2.0, True)
    assert (status, why) == ("unsafe", "read from file descriptor %d, which it did not open" % r)
    # True is descriptor 1 to open().
    status, why = guard.run(lambda: open(True, "w", closefd=False).write("x"), 2.0, True)
    assert (status, why) == ("unsafe", "wrote to file descriptor 1, which it did not open")
    assert unread(r) == b""


def test_stdin_reads_closes_and_dup2_over_foreign_descriptors_are_refused(guard, pipe):
    r, w = pipe
    assert guard.run(lambda: os.read(0, 10), 2.0, True)[0] == "unsafe"
    assert guard.run(lambda: os.close(w), 2.0, True)[0] == "unsafe"
    assert guard.run(lambda: os.closerange(3, 64 + max(r, w)), 2.0, True)[0] == "unsafe"
    assert guard.run(lambda: os.dup2(os.open(os.devnull, os.O_RDONLY), w), 2.0, True)[0] == "unsafe"
    os.write(w, b"still mine")  # nothing was closed or replaced
    assert unread(r) == b"still mine"


def test_the_sprayer_is_refused_at_the_first_descriptor_it_did_not_open(guard, pipe):
    r, w = pipe

    def spray():
        for fd in range(3, 64):
            try:
                os.write(fd, b"spray\n")
            except OSError:
                pass

    status, why = guard.run(spray, 2.0, True)
    assert status == "unsafe" and "file descriptor 3, which it did not open" in why
    assert unread(r) == b""


def test_descriptors_the_project_opened_are_its_own_across_calls(guard, tmp_path):
    path = tmp_path / "own.txt"

    def own():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT)
        os.write(fd, b"mine")
        return fd

    status, fd = guard.run(own, 2.0, True)
    assert status == "ok"
    # Opened under the guard (as at import time): still the project's later.
    assert guard.run(lambda: os.write(fd, b" again"), 2.0, True)[0] == "ok"
    assert guard.run(lambda: os.close(fd), 2.0, True)[0] == "ok"
    assert path.read_bytes() == b"mine again"
    with open(path, "rb") as f:  # a file object's descriptor, opened in the call
        assert guard.run(lambda: os.read(os.dup(f.fileno()), 4), 2.0, True)[0] == "unsafe"
    assert guard.run(lambda: open(path, "rb").read(), 2.0, True) == ("ok", b"mine again")


def test_without_enforcement_the_descriptor_guard_stays_out_of_the_way(guard, pipe):
    r, w = pipe
    assert guard.run(lambda: os.write(w, b"allowed"), 2.0, False) == ("ok", 7)
    assert unread(r) == b"allowed"


def callee_of(ctx, load, source, name):
    mod = load("fdcontract", source)
    node = next(n for n in ctx.parse(mod.__file__).body if getattr(n, "name", None) == name)
    gen = Gen(random.Random(0), ctx.callsites, vars(mod), ctx.guard)
    return Callee(getattr(mod, name), gen, FunctionFacts(node, vars(mod)))


@pytest.mark.parametrize("source,name", [
    ("def save(data, path_or_file):\n    return (data, path_or_file)\n", "save"),
    ("def load(source):\n    with open(source) as f:\n        return f.read()\n", "load"),
    ("def dump(obj, fp):\n    fp.write(str(obj))\n", "dump"),
    ("import os\ndef store(x, where: 'os.PathLike'):\n    return where\n", "store"),
])
def test_path_or_file_parameters_never_get_an_int(ctx, load, source, name):
    callee = callee_of(ctx, load, source, name)
    p = callee.params[-1]
    pool = callee.pool(p)
    assert not [v.src for v in pool if names_descriptor(v)]
    assert isinstance(pool[0], PathVal)
    for _ in range(200):
        assert not names_descriptor(callee.random_args()[-1])


def test_an_int_parameter_keeps_its_ints(ctx, load):
    callee = callee_of(ctx, load, "def seek(fd: int, path_count):\n    return fd + path_count\n", "seek")
    assert any(names_descriptor(v) for v in callee.pool(callee.params[0]))
