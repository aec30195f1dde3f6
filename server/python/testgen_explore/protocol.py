"""The JSON-lines channel to testgen's Rust side (docs/explore-protocol.md).

The protocol lives on descriptors just below the descriptor limit, named
by the Rust side in TESTGEN_PROTOCOL_FDS ("IN,OUT,NOTE"): it moved the
pipes there before exec and left /dev/null on fd 0 and stderr on fd 1.
Nothing the project does with 0-2, or with the small numbers a "path or
open file" parameter may be handed, reaches them; the guard refuses the
rest (fdguard.py), and they are closed on exec. Started without the
variable (by hand), the harness moves fd 0 and 1 up itself.

NOTE is a file the harness overwrites with the call it is about to make,
so that testgen can say where a harness that died was.
"""

import fcntl
import io
import json
import os
import posix
import resource
import sys
import traceback

# The protocol version, also in the Rust side's `protocol::PROTOCOL`: the
# `harness` field of the ready line.
PROTOCOL = 2
FDS_VAR = "TESTGEN_PROTOCOL_FDS"
# One note record, newline included (harness.rs's NOTE_BYTES).
NOTE_BYTES = 512
# The unwrapped call: the guard wraps os.pwrite for the project's code.
_pwrite = posix.pwrite


def _named_fds():
    """(in, out, note or None) from the Rust side, or None."""
    spec = os.environ.pop(FDS_VAR, "")
    try:
        fin, fout, note = (int(x) for x in spec.split(","))
    except ValueError:
        return None
    return fin, fout, (note if note >= 0 else None)


def _moved_up(fd):
    """A close-on-exec copy of `fd` near the descriptor limit."""
    soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    low = max(10, min(soft if soft > 0 else 1024, 1024) - 16)
    return fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, low)


class Channel:
    """The protocol's descriptors, and the call note."""

    def __init__(self):
        named = _named_fds()
        if named is None:
            named = (_moved_up(0), _moved_up(1), None)
        fin, fout, self._note = named
        for fd in named:
            if fd is not None:
                os.set_inheritable(fd, False)
        self.fds = {fd for fd in named if fd is not None}
        self._out = os.fdopen(fout, "w", encoding="utf-8", buffering=1)
        self._in = os.fdopen(fin, "r", encoding="utf-8")
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        os.dup2(2, 1)
        sys.stdout = sys.stderr
        sys.stdin = io.StringIO("")

    def send(self, obj):
        """One response line, flushed at once: if the target later crashes the
        interpreter, what was answered before is not lost."""
        self._out.write(json.dumps(obj, sort_keys=False) + "\n")
        self._out.flush()

    def lines(self):
        """The request lines, stripped, empty ones left out, until EOF."""
        for line in self._in:
            line = line.strip()
            if line:
                yield line

    def note_call(self, text):
        """Overwrites the note with `text` (one line, cut to the record)."""
        if self._note is None:
            return
        data = text.replace("\n", " ").encode("utf-8", "replace")[:NOTE_BYTES - 1] + b"\n"
        try:
            _pwrite(self._note, data.ljust(NOTE_BYTES, b"\0"), 0)
        except OSError:
            self._note = None

    def flush(self):
        self._out.flush()


def last_line(exc):
    """The last line of an exception's traceback, e.g. `KeyError: 'x'`."""
    lines = traceback.format_exception_only(type(exc), exc)
    text = lines[-1].strip() if lines else type(exc).__name__
    return text[:300]
