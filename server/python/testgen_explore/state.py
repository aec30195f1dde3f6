"""Process state project code can change and the next target must not see:
taken once when the harness is ready, put back after every request. What
cannot be put back (a thread still running) makes the harness ask to be
replaced: the Rust side starts a fresh one for the next target.

Also watched: reads of the variables testgen withheld from the harness (its
credentials). A call whose result depends on one is not kept: in the user's
environment the variable is there and the test would fail, or pin a secret.
"""

import builtins
import os
import signal
import socket
import sys
import threading
import warnings

WITHHELD_VAR = "TESTGEN_WITHHELD"


def _signals():
    out = []
    for s in signal.valid_signals():
        if s in (signal.SIGKILL, signal.SIGSTOP):
            continue
        try:
            signal.getsignal(s)
        except (ValueError, OSError):
            continue
        out.append(s)
    return out


class Snapshot:
    """What the harness looked like before any project code ran."""

    def __init__(self, ctx):
        self.ctx = ctx
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()
        self.modules = dict(sys.modules)
        self.path = list(sys.path)
        self.meta_path = list(sys.meta_path)
        self.path_hooks = list(sys.path_hooks)
        self.handlers = {s: signal.getsignal(s) for s in _signals()}
        self.threads = {t.ident for t in threading.enumerate()}
        self.umask = os.umask(0o22)
        os.umask(self.umask)
        self.timeout = socket.getdefaulttimeout()
        self.recursion = sys.getrecursionlimit()
        self.hooks = (sys.excepthook, threading.excepthook, sys.displayhook)
        self.warnings = list(warnings.filters)
        self.builtins = dict(vars(builtins))

    def pin_env(self, name, value):
        """A variable the harness itself sets (Django's settings module)."""
        self.environ[name] = value

    def restore(self):
        """Puts everything back; returns what could not be (empty: clean)."""
        problems = []
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        try:
            if os.getcwd() != self.cwd:
                os.chdir(self.cwd)
        except OSError:
            try:
                os.chdir(self.cwd)
            except OSError as e:
                problems.append("cwd: %s" % e)
        self._modules()
        sys.path[:] = self.path
        sys.meta_path[:] = self.meta_path
        sys.path_hooks[:] = self.path_hooks
        sys.path_importer_cache.clear()
        for s, h in self.handlers.items():
            try:
                if signal.getsignal(s) is not h and h is not None:
                    signal.signal(s, h)
            except (ValueError, OSError, TypeError) as e:
                problems.append("signal %s: %s" % (s, e))
        os.umask(self.umask)
        socket.setdefaulttimeout(self.timeout)
        sys.setrecursionlimit(self.recursion)
        sys.excepthook, threading.excepthook, sys.displayhook = self.hooks
        warnings.filters[:] = self.warnings
        self._builtins()
        left = [t for t in threading.enumerate() if t.ident not in self.threads and t.is_alive()]
        if left:
            problems.append("threads still running: %s" % ", ".join(sorted(t.name for t in left)[:5]))
        return problems

    def _modules(self):
        for name, mod in list(sys.modules.items()):
            if mod is None or not hasattr(mod, "__name__"):
                # `sys.modules[x] = None` blocks every later import of x.
                if name not in self.modules or self.modules[name] is not mod:
                    del sys.modules[name]
        for name, mod in self.modules.items():
            if sys.modules.get(name) is not mod:
                sys.modules[name] = mod

    def _builtins(self):
        current = vars(builtins)
        for k in [k for k in current if k not in self.builtins]:
            del current[k]
        for k, v in self.builtins.items():
            if current.get(k) is not v:
                current[k] = v


def new_threads_left(before, wait=0.05):
    """Non-daemon threads a call started that are still running (after a
    moment to finish): they would keep pytest from ever exiting."""
    new = [t for t in threading.enumerate() if t.ident not in before and not t.daemon]
    for t in new:
        t.join(wait)
    return [t for t in new if t.is_alive()]


class EnvironWatch:
    """Notes reads of withheld variables (names from the Rust side)."""

    def __init__(self):
        names = os.environ.get(WITHHELD_VAR, "")
        self.names = {n for n in names.split(",") if n}
        self.read = None

    def install(self):
        if not self.names:
            return
        watch = self
        base = type(os.environ)

        class WatchedEnviron(base):
            def __getitem__(self, key):
                if key in watch.names and watch.read is None:
                    watch.read = key
                return base.__getitem__(self, key)

        try:
            os.environ.__class__ = WatchedEnviron
        except TypeError:
            pass
