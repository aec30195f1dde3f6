"""The JSON-lines channel to testgen's Rust side (docs/explore-protocol.md).

The protocol owns the real stdin/stdout file descriptors. Everything else
(the project's prints, C extensions writing to fd 1, children inheriting
fds, code calling input()) must never touch them, so at start-up the
protocol gets private duplicates and fd 0/1 are pointed at /dev/null and
stderr.
"""

import io
import json
import os
import sys
import traceback

# The protocol version, also in the Rust side's `protocol::PROTOCOL`: the
# `harness` field of the ready line.
PROTOCOL = 2


class Channel:
    """The protocol's private copies of fd 0 and fd 1."""

    def __init__(self):
        self._out = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
        self._in = os.fdopen(os.dup(0), "r", encoding="utf-8")
        os.dup2(2, 1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
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

    def flush(self):
        self._out.flush()


def last_line(exc):
    """The last line of an exception's traceback, e.g. `KeyError: 'x'`."""
    lines = traceback.format_exception_only(type(exc), exc)
    text = lines[-1].strip() if lines else type(exc).__name__
    return text[:300]
