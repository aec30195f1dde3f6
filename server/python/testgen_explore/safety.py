"""Safety: what keeps a candidate from harming the machine or the harness.

A static scan refuses targets whose source calls destructive or external
operations (resolved through the module's globals); the Guard's audit hook
blocks them at run time, replaces os._exit, keeps stdout away from the
protocol, refuses descriptors the call did not open (fdguard.py) and bounds
every call with SIGALRM.
"""

import ast
import errno
import io
import os
import signal
import socket
import sys
import tempfile
import types
import urllib.parse

from .fdguard import Clause, FdGuard
from .refusals import Refusals, is_local_host, wrap_fork_exec, wrap_socket_methods
from .source import dotted, resolve


class SkipTarget(Exception):
    """Ends a request with status `skipped` and this reason."""


class CallTimeout(BaseException):
    """Raised by SIGALRM in the middle of a call that runs too long.
    A BaseException so that the project's `except Exception` cannot eat it."""


class UnsafeCall(BaseException):
    """Raised by the audit hook when a candidate does something destructive."""


class ForbiddenExit(BaseException):
    """Raised instead of os._exit, which would kill the harness."""


# Set by testgen's Rust side when the kernel confines the harness: then
# these errors may be the sandbox's answer, not the code's behaviour.
OS_SANDBOX = os.environ.get("TESTGEN_OS_SANDBOX") == "1"
_SANDBOX_ERRNOS = {errno.EPERM: "refused by the OS sandbox", errno.EACCES: "refused by the OS sandbox",
                   errno.EROFS: "refused by the OS sandbox",
                   errno.ENETUNREACH: "network refused by the OS sandbox",
                   errno.EHOSTUNREACH: "network refused by the OS sandbox",
                   errno.EAFNOSUPPORT: "refused by the OS sandbox",
                   # getaddrinfo's EAI_AGAIN: no name server in the sandbox.
                   socket.EAI_AGAIN: "network refused by the OS sandbox"}
_LIMIT_ERRNOS = {errno.EMFILE: "too many open files (the sandbox's limit, sandbox.openFiles)",
                 errno.ENFILE: "too many open files (the sandbox's limit, sandbox.openFiles)",
                 errno.EFBIG: "wrote a file larger than the sandbox's limit (sandbox.fileSizeMb)"}


def limit_error(exc):
    """Why an exception is the sandbox's (a resource limit, a refusal of the
    kernel) rather than the code's own behaviour, or None. Such outcomes are
    never asserted: outside the sandbox the code does something else."""
    seen = 0
    while exc is not None and seen < 6:
        seen += 1
        if isinstance(exc, MemoryError):
            return "ran out of memory (MemoryError at the sandbox's limit, sandbox.memoryMb)"
        if isinstance(exc, OSError) and exc.errno is not None:
            if exc.errno in _LIMIT_ERRNOS:
                return _LIMIT_ERRNOS[exc.errno]
            if OS_SANDBOX and exc.errno in _SANDBOX_ERRNOS:
                return "was %s: %s" % (_SANDBOX_ERRNOS[exc.errno], str(exc)[:200])
        exc = exc.__cause__ or exc.__context__
    return None


def attempted(why):
    """A refusal as the predicate of a sentence about the target: "tried
    os.remove", "wrote to file descriptor 5, which it did not open"."""
    return str(why) if isinstance(why, Clause) else "tried %s" % why


class Guard:
    """Everything that is active only while a candidate runs: the audit hook's
    block list, os._exit replaced, stdout redirected, the per-call alarm."""

    def __init__(self, writable=None):
        self.active = False
        self.enforce = True
        self._installed = False
        # Where project code may write: the harness's temporary directory
        # (its cwd and TMPDIR, set by the Rust side) unless told otherwise.
        if writable is None:
            writable = [tempfile.gettempdir(), os.getcwd()]
        self.refusals = Refusals(writable)
        # What the last guarded call was refused (the first refusal wins:
        # the project may catch UnsafeCall's effects and go on).
        self.refused = None
        self.fds = FdGuard(self)

    def install(self):
        if self._installed:
            return
        self._installed = True
        sys.addaudithook(self._hook)
        self.fds.install()
        wrap_fork_exec(self)
        wrap_socket_methods(self)
        signal.signal(signal.SIGALRM, self._alarm)

    def _alarm(self, signum, frame):
        raise CallTimeout()

    def check(self, event, args=()):
        """Raises UnsafeCall when `event` is refused now."""
        if not self.active or not self.enforce:
            return
        why = self.refusals.reason(event, args)
        if why is None and event == "open":
            why = self.fds.opened(args)
        elif why is None and event == "mmap.__new__" and args:
            why = self.fds.reason("mapped", args[0])
        if why is not None:
            self.refuse(why)

    def refuse(self, why):
        """Ends the guarded call: `why` is its reason (the first one wins)."""
        if self.refused is None:
            self.refused = why
        raise UnsafeCall(why)

    def _hook(self, event, args):
        if self.active and self.enforce:
            self.check(event, args)

    def run(self, fn, timeout, enforce):
        """Runs fn() guarded; returns ('ok', value) or (kind, detail).
        Re-entrant: a guarded call inside a guarded call (building a value
        while a candidate runs) keeps the outer alarm and hook as they are."""
        if self.active:
            try:
                return ("ok", fn())
            except (SystemExit, ForbiddenExit) as e:
                return ("exit", e)
            except (CallTimeout, UnsafeCall):
                raise  # the outer call's: it must end
            except BaseException as e:
                return ("raise", e)
        real_exit = os._exit

        def forbidden_exit(code=0):
            raise ForbiddenExit(code)

        self.enforce = enforce
        self.refused = None
        # Ours again whatever an earlier call did with SIGALRM: the per-call
        # timeout must hold for every call.
        signal.signal(signal.SIGALRM, self._alarm)
        self.fds.begin()
        self.active = True
        os._exit = forbidden_exit
        sys.stdout = sys.stderr
        stdin = sys.stdin
        sys.stdin = io.StringIO("")
        signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.01))
        try:
            value = fn()
            if self.refused is not None:
                # Refused, and the project caught it (`except BaseException`).
                return ("unsafe", self.refused)
            return ("ok", value)
        except CallTimeout:
            return ("timeout", None)
        except UnsafeCall as e:
            return ("unsafe", self.refused or str(e))
        except (SystemExit, ForbiddenExit) as e:
            return ("exit", e)
        except BaseException as e:
            if self.refused is not None:
                return ("unsafe", self.refused)
            return ("raise", e)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.active = False
            self.fds.end()
            os._exit = real_exit
            sys.stdout = sys.stderr
            sys.stdin = stdin


# Static scan: calls that make a target unsafe to run unattended. Resolved
# through the module's globals, so `from os import remove` and
# `import subprocess as sp` are caught too.
_UNSAFE_FUNCS = [
    ("os", ["system", "popen", "kill", "killpg", "fork", "execv", "execve", "execl", "execlp", "execvp",
            "spawnv", "spawnl", "posix_spawn", "_exit"]),
]
# Removing and moving files is checked at run time instead (refusals.py):
# allowed inside the directories made for path arguments, refused elsewhere.
_UNSAFE_MODULES = ("subprocess", "socket", "ctypes", "requests", "httpx", "urllib.request",
                   "http.client", "ftplib", "smtplib", "telnetlib", "aiohttp")
_HTTP_MODULES = ("requests", "httpx", "urllib.request", "aiohttp")


def _unsafe_table():
    table = {}
    for modname, names in _UNSAFE_FUNCS:
        mod = sys.modules.get(modname) or __import__(modname)
        for n in names:
            obj = getattr(mod, n, None)
            if obj is not None:
                table[id(obj)] = "%s.%s" % (modname, n)
    return table


def _is_local_url(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        host = urllib.parse.urlsplit(node.value).hostname or ""
        return is_local_host(host)
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return _is_local_url(node.values[0])
    return False


def unsafe_calls(func_node, namespace):
    """Names of destructive/external calls in a function's source."""
    table = _unsafe_table()
    found = []
    for node in ast.walk(func_node):
        if not isinstance(node, ast.Call):
            continue
        name = dotted(node.func)
        if not name:
            continue
        what = None
        try:
            obj = resolve(name, namespace)
        except Exception:
            obj = None
        if obj is not None:
            if id(obj) in table:
                what = table[id(obj)]
            elif name in ("exit", "quit") or obj is sys.exit:
                what = None  # sys.exit is found at run time (SystemExit)
            else:
                mod = getattr(obj, "__module__", None) or ""
                if isinstance(obj, types.ModuleType):
                    mod = obj.__name__
                for m in _UNSAFE_MODULES:
                    if mod == m or mod.startswith(m + ".") or (m == "socket" and mod == "_socket"):
                        what = "%s.%s" % (m, name.split(".")[-1])
                        if m in _HTTP_MODULES and node.args and _is_local_url(node.args[0]):
                            what = None
                        break
        else:
            head = name.split(".")[0]
            if head in ("subprocess", "socket", "ctypes") and name != head:
                what = name
        if what and what not in found:
            found.append(what)
    return found
