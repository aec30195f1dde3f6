"""What the guard refuses beyond deletions: writes, mode and owner changes
outside the writable directories, datagrams and name look-ups off this
machine, process creation without an audit event, and what the harness
puts back between targets."""

import os
import signal
import socket
import sys
import threading

import pytest

from testgen_explore.refusals import Refusals
from testgen_explore.safety import limit_error
from testgen_explore.state import Snapshot, new_threads_left


@pytest.fixture
def confined(guard, tmp_path, monkeypatch):
    """The guard with only `tmp_path/work` writable; `tmp_path/outside`
    holds the victims."""
    work = tmp_path / "work"
    outside = tmp_path / "outside"
    work.mkdir()
    outside.mkdir()
    monkeypatch.setattr(guard, "refusals", Refusals([str(work)]))
    return guard, work, outside


def run(guard, fn):
    return guard.run(fn, 5.0, True)


@pytest.mark.parametrize("mode", ["w", "a", "x", "r+", "wb"])
def test_open_for_writing_outside_is_refused_and_the_file_is_untouched(confined, mode):
    guard, work, outside = confined
    victim = outside / "victim.txt"
    victim.write_text("precious")
    if mode == "x":
        victim = outside / "new.txt"
    status, why = run(guard, lambda: open(victim, mode).close())
    assert status == "unsafe" and "for writing" in why, (status, why)
    if mode != "x":
        assert victim.read_text() == "precious"
    else:
        assert not victim.exists()


def test_reading_anywhere_and_writing_inside_are_allowed(confined):
    guard, work, outside = confined
    (outside / "data.txt").write_text("hello")
    assert run(guard, lambda: open(outside / "data.txt").read()) == ("ok", "hello")
    assert run(guard, lambda: open(work / "out.txt", "w").write("x")) == ("ok", 1)
    assert run(guard, lambda: os.chmod(work / "out.txt", 0o600)) == ("ok", None)


def test_os_open_with_write_flags_is_refused(confined):
    guard, _, outside = confined
    victim = outside / "victim.txt"
    victim.write_text("precious")
    status, _ = run(guard, lambda: os.close(os.open(victim, os.O_WRONLY | os.O_TRUNC)))
    assert status == "unsafe"
    assert victim.read_text() == "precious"


@pytest.mark.parametrize("op", ["chmod", "utime", "replace", "mkdir"])
def test_metadata_and_renames_outside_are_refused(confined, op):
    guard, _, outside = confined
    victim = outside / "victim.txt"
    victim.write_text("precious")
    before = os.stat(victim)
    fns = {
        "chmod": lambda: os.chmod(victim, 0),
        "utime": lambda: os.utime(victim, (0, 0)),
        "replace": lambda: os.replace(victim, outside / "moved.txt"),
        "mkdir": lambda: os.mkdir(outside / "d"),
    }
    status, why = run(guard, fns[op])
    # os.replace raises the audit event of os.rename.
    assert status == "unsafe" and {"replace": "rename"}.get(op, op) in why, why
    after = os.stat(victim)
    assert (after.st_mode, after.st_mtime) == (before.st_mode, before.st_mtime)
    assert not (outside / "d").exists()


def test_a_refusal_the_project_swallows_still_counts(confined):
    guard, _, outside = confined

    def stubborn():
        try:
            open(outside / "v.txt", "w")
        except BaseException:
            return "swallowed"

    status, why = run(guard, stubborn)
    assert status == "unsafe" and "for writing" in why


def test_datagrams_and_lookups_off_the_machine_are_refused_local_ones_pass(confined):
    guard, _, _ = confined

    def udp():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            # TEST-NET-1 (documentation): refused before any packet is made.
            s.sendto(b"x", ("192.0.2.1", 9))
        finally:
            s.close()

    status, why = run(guard, udp)
    assert status == "unsafe" and "sendto" in why, why
    status, why = run(guard, lambda: socket.getaddrinfo("testgen-victim.invalid", 80))
    assert status == "unsafe" and "getaddrinfo" in why, why
    status, _ = run(guard, lambda: socket.getaddrinfo("localhost", 80))
    assert status == "ok"


def test_fork_exec_without_an_audit_event_is_refused(guard):
    import _posixsubprocess

    status, why = guard.run(lambda: _posixsubprocess.fork_exec(), 5.0, True)
    assert status == "unsafe" and "fork_exec" in why


def test_a_project_audit_hook_is_refused(guard):
    status, why = guard.run(lambda: sys.addaudithook(lambda e, a: None), 5.0, True)
    assert status == "unsafe" and "addaudithook" in why


def test_memory_errors_and_limits_are_the_sandboxs_not_the_codes():
    assert "memory" in limit_error(MemoryError())
    try:
        try:
            raise MemoryError()
        except MemoryError as e:
            raise ValueError("wrapped") from e
    except ValueError as e:
        assert limit_error(e)
    assert limit_error(ValueError("plain")) is None
    assert limit_error(PermissionError("raised by the code itself")) is None


def test_the_alarm_is_ours_again_after_a_call_ignored_it(guard):
    import time

    def ignore_alarm():
        signal.signal(signal.SIGALRM, signal.SIG_IGN)

    assert guard.run(ignore_alarm, 5.0, True)[0] == "ok"
    status, _ = guard.run(lambda: time.sleep(5), 0.2, True)
    assert status == "timeout"


def test_snapshot_puts_back_environ_cwd_modules_and_handlers(ctx, tmp_path):
    snap = Snapshot(ctx)
    cwd = os.getcwd()
    handler = signal.getsignal(signal.SIGUSR1)
    os.environ["TESTGEN_POISON"] = "1"
    os.chdir(tmp_path)
    saved_json = sys.modules["json"]
    sys.modules["json"] = None
    signal.signal(signal.SIGUSR1, lambda *a: None)
    try:
        assert snap.restore() == []
        assert "TESTGEN_POISON" not in os.environ
        assert os.getcwd() == cwd
        assert sys.modules["json"] is saved_json
        assert signal.getsignal(signal.SIGUSR1) is handler
    finally:
        os.environ.pop("TESTGEN_POISON", None)
        os.chdir(cwd)
        sys.modules["json"] = saved_json
        signal.signal(signal.SIGUSR1, handler)


def test_a_thread_left_running_is_seen_and_asks_for_a_restart(ctx):
    snap = Snapshot(ctx)
    before = {t.ident for t in threading.enumerate()}
    stop = threading.Event()
    t = threading.Thread(target=stop.wait, name="forever")
    t.start()
    try:
        assert [x.name for x in new_threads_left(before, wait=0.01)] == ["forever"]
        problems = snap.restore()
        assert problems and "forever" in problems[0]
    finally:
        stop.set()
        t.join()
    assert snap.restore() == []
