"""Descriptors: while a candidate runs it may read, write, duplicate, close
or open (`open(5)`, `os.fdopen(5)`) only the descriptors it opened itself
under the guard (in this call, or at import time and in earlier calls).

Every other number is someone else's: the harness's protocol, its standard
streams, and in the generated test pytest's own capture files. A function
that accepts "a path or an open file" and is handed a small int would
otherwise write its output into whatever that number is, so such calls are
refused ("wrote to file descriptor 5, which it did not open") and never
become tests. Which descriptors are open is read from /proc/self/fd (or
/dev/fd) when the outermost guarded call starts and ends.
"""

import os


def open_fds():
    """The descriptors open now, or None when the system does not list them."""
    for d in ("/proc/self/fd", "/dev/fd"):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        out = set()
        for n in names:
            try:
                fd = int(n)
                os.fstat(fd)  # the listing's own directory is closed again
            except (ValueError, OSError):
                continue
            out.add(fd)
        return out
    return None


class Clause(str):
    """A refusal that reads as a whole clause ("wrote to file descriptor 5,
    which it did not open"), not an event name ("os.remove")."""


# The wrapped functions of `os`: name -> (verb, indexes of descriptor args).
_WRAPPED = {
    "write": ("wrote to", (0,)), "writev": ("wrote to", (0,)), "pwrite": ("wrote to", (0,)),
    "pwritev": ("wrote to", (0,)), "ftruncate": ("truncated", (0,)),
    "read": ("read from", (0,)), "readv": ("read from", (0,)), "pread": ("read from", (0,)),
    "preadv": ("read from", (0,)), "readinto": ("read from", (0,)),
    "sendfile": ("wrote to", (0, 1)), "copy_file_range": ("wrote to", (0, 1)),
    "splice": ("wrote to", (0, 1)),
    "close": ("closed", (0,)), "dup": ("duplicated", (0,)), "dup2": ("duplicated", (0, 1)),
}


class FdGuard:
    """Which descriptors the project owns, and the check of one number."""

    def __init__(self, guard):
        self.guard = guard
        # Opened by project code under the guard and still open.
        self.owned = set()
        # Never the project's, whatever happens: the standard streams and
        # the protocol's descriptors.
        self.protected = {0, 1, 2}
        self.before = None

    def protect(self, fds):
        self.protected |= set(fds)

    def begin(self):
        """The outermost guarded call starts: what is open now and not the
        project's is not its to touch."""
        self.before = open_fds()

    def end(self):
        """The call ended: what it opened and left open is the project's."""
        before, self.before = self.before, None
        now = open_fds()
        if before is None or now is None:
            return
        self.owned = ((self.owned | (now - before)) & now) - self.protected

    def owns(self, fd):
        if fd in self.protected:
            return False
        if fd in self.owned:
            return True
        if self.before is None:
            return True  # no listing on this system: the guard cannot tell
        if fd in self.before:
            return False
        try:
            os.fstat(fd)
        except OSError:
            return False  # not open: in the generated test it may be pytest's
        return True

    def reason(self, verb, fd):
        """Why touching `fd` is refused now, or None."""
        if not isinstance(fd, int) or fd < 0 or self.owns(fd):
            return None
        return Clause("%s file descriptor %d, which it did not open" % (verb, fd))

    def check(self, verb, fds):
        g = self.guard
        if not g.active or not g.enforce:
            return
        for fd in fds:
            why = self.reason(verb, fd)
            if why is not None:
                g.refuse(why)

    def opened(self, args):
        """The audit event `open` with a descriptor as its path (`open(1)`,
        `os.fdopen(5)`, `io.FileIO(0)`): a reason to refuse, or None."""
        path = args[0] if args else None
        if isinstance(path, int):  # bool too: open(True) is descriptor 1
            mode = args[1] if len(args) > 1 else None
            verb = "read from" if isinstance(mode, str) and not any(c in mode for c in "wax+") else "wrote to"
            return self.reason(verb, int(path))
        return None

    def install(self):
        """Wraps the descriptor functions of `os` (before the project's code
        imports them by name)."""
        for name, (verb, idx) in _WRAPPED.items():
            real = getattr(os, name, None)
            if real is None or getattr(real, "_testgen_wrapped", False):
                continue
            setattr(os, name, self._wrap(real, verb, idx))
        real_closerange = os.closerange
        if not getattr(real_closerange, "_testgen_wrapped", False):
            def closerange(lo, hi):
                if self.guard.active and self.guard.enforce:
                    listed = open_fds()
                    if listed is None:
                        listed = set(range(lo, min(hi, lo + 4096)))
                    self.check("closed", sorted(fd for fd in listed if lo <= fd < hi))
                return real_closerange(lo, hi)

            closerange._testgen_wrapped = True
            os.closerange = closerange

    def _wrap(self, real, verb, idx):
        def wrapped(*args, **kwargs):
            self.check(verb, [args[i] for i in idx if i < len(args)])
            return real(*args, **kwargs)

        wrapped._testgen_wrapped = True
        wrapped.__name__ = real.__name__
        wrapped.__doc__ = real.__doc__
        return wrapped
