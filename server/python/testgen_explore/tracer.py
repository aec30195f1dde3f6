"""The tracer: lines and arcs of the target's code, in every thread."""

import collections
import sys


class Tracer:
    """sys.settrace restricted to one file and line range. Installed in the
    main thread only while the target runs; threads (FastAPI runs handlers in
    worker threads) get it through threading.settrace and return at once
    while the tracer is inactive."""

    def __init__(self):
        self.active = False
        self.filenames = set()
        self.lo = 0
        self.hi = 0
        # Code objects watched for how they end (a route's dependencies):
        # {code: label}; the labels that returned and that raised.
        self.watch = {}
        self.reset()

    def reset(self):
        self.lines = set()
        self.arcs = set()
        self.order = collections.deque(maxlen=4096)
        self.returned = set()
        self.raised = set()

    def configure(self, filenames, lo, hi):
        self.filenames = set(filenames)
        self.lo, self.hi = lo, hi

    def global_trace(self, frame, event, arg):
        if not self.active:
            return None
        code = frame.f_code
        if code in self.watch:
            return self._ending(self.watch[code])
        if code.co_filename not in self.filenames or not (self.lo <= code.co_firstlineno <= self.hi):
            return None
        return self._local()

    def _local(self):
        lines, arcs, order = self.lines, self.arcs, self.order
        state = [-1, False]  # previous line (-1: entry), exception pending

        def local(frame, event, arg):
            if event == "line":
                ln = frame.f_lineno
                lines.add(ln)
                arcs.add((state[0], ln))
                order.append(ln)
                state[0] = ln
                state[1] = False
            elif event == "exception":
                state[1] = True
            elif event == "return":
                # An exit by exception is not a branch of the code: only
                # normal returns (and yields) count as arcs to the exit.
                if not state[1]:
                    arcs.add((state[0], -1))
            return local

        return local

    def _ending(self, label):
        """A watched function: notes whether it returned or raised."""
        returned, raised = self.returned, self.raised
        pending = [False]

        def local(frame, event, arg):
            if event == "line":
                pending[0] = False
            elif event == "exception":
                pending[0] = True
            elif event == "return":
                (raised if pending[0] else returned).add(label)
            return local

        return local

    def thread_trace(self, frame, event, arg):
        """The trace function of threads (threading.settrace): returns at
        once while the tracer is inactive."""
        if not self.active:
            return None
        return self.global_trace(frame, event, arg)

    def __enter__(self):
        self.reset()
        self.active = True
        sys.settrace(self.global_trace)
        return self

    def __exit__(self, *exc):
        sys.settrace(None)
        self.active = False
        return False

