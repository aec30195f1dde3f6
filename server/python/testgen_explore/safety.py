"""Safety: what keeps a candidate from harming the machine or the harness.

A static scan refuses targets whose source calls destructive or external
operations (resolved through the module's globals); the Guard's audit hook
blocks them at run time, replaces os._exit, keeps stdout away from the
protocol and bounds every call with SIGALRM.
"""

import ast
import io
import os
import signal
import sys
import types
import urllib.parse

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


# Audit events a candidate must never trigger (when allow_unsafe is false).
_BLOCKED_EVENTS = {
    "subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
    "os.fork", "os.forkpty", "os.kill", "os.killpg", "pty.spawn",
    "os.remove", "os.rmdir", "os.rename", "os.truncate", "shutil.rmtree",
    "shutil.move", "os.startfile",
}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "testserver", ""}


def _is_local_address(addr):
    if isinstance(addr, tuple) and addr:
        host = str(addr[0])
        return host in _LOCAL_HOSTS or host.startswith("127.")
    # AF_UNIX sockets and the like stay on the machine.
    return isinstance(addr, (str, bytes))


class Guard:
    """Everything that is active only while a candidate runs: the audit hook's
    block list, os._exit replaced, stdout redirected, the per-call alarm."""

    def __init__(self):
        self.active = False
        self.enforce = True
        self._installed = False

    def install(self):
        if self._installed:
            return
        self._installed = True
        sys.addaudithook(self._hook)
        signal.signal(signal.SIGALRM, self._alarm)

    def _alarm(self, signum, frame):
        raise CallTimeout()

    def _hook(self, event, args):
        if not self.active or not self.enforce:
            return
        if event in _BLOCKED_EVENTS:
            raise UnsafeCall(event)
        if event.startswith("ctypes."):
            raise UnsafeCall(event)
        if event == "socket.connect" and len(args) > 1 and not _is_local_address(args[1]):
            raise UnsafeCall("socket.connect to %r" % (args[1],))
        if event == "urllib.Request" and args:
            host = urllib.parse.urlsplit(str(args[0])).hostname or ""
            if host not in _LOCAL_HOSTS and not host.startswith("127."):
                raise UnsafeCall("urllib.Request to " + host)

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
        self.active = True
        os._exit = forbidden_exit
        sys.stdout = sys.stderr
        stdin = sys.stdin
        sys.stdin = io.StringIO("")
        signal.setitimer(signal.ITIMER_REAL, max(timeout, 0.01))
        try:
            return ("ok", fn())
        except CallTimeout:
            return ("timeout", None)
        except UnsafeCall as e:
            return ("unsafe", str(e))
        except (SystemExit, ForbiddenExit) as e:
            return ("exit", e)
        except BaseException as e:
            return ("raise", e)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.active = False
            os._exit = real_exit
            sys.stdout = sys.stderr
            sys.stdin = stdin


# Static scan: calls that make a target unsafe to run unattended. Resolved
# through the module's globals, so `from os import remove` and
# `import subprocess as sp` are caught too.
_UNSAFE_FUNCS = [
    ("os", ["system", "popen", "remove", "unlink", "rmdir", "removedirs", "rename", "renames",
            "replace", "kill", "killpg", "fork", "execv", "execve", "execl", "execlp", "execvp",
            "spawnv", "spawnl", "posix_spawn", "truncate", "_exit"]),
    ("shutil", ["rmtree", "move"]),
]
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
        return host in _LOCAL_HOSTS or host.startswith("127.")
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
            if head in ("subprocess", "socket", "ctypes", "shutil") and name != head:
                what = name
        if what and what not in found:
            found.append(what)
    return found
