"""The state of one harness process, in one object handed to whatever needs
it (instead of module globals): the project root and its rules, the seed
and sys.path entries it was started with, the guard, the tracer, Django's
state, the parsed sources, the project's call sites and the namespaces
rendered values are checked in.
"""

import os

from .frameworks.django import DjangoState
from .safety import Guard
from .state import EnvironWatch
from .source import CallSites, Sources
from .tracer import Tracer

# The directory the package was installed into (testgen's cache): never a
# project file, never on sys.path once the package is imported.
HARNESS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Context:
    def __init__(self, root, rules, sys_path=(), seed=0, allow_unsafe=False):
        self.root = os.path.abspath(root)
        self.rules = rules
        self.sys_path = [os.path.abspath(p) for p in sys_path]
        self.seed = seed
        self.guard = Guard()
        # Module-level code (imports, app factories, Django's set-up) runs
        # under the same guard as calls, unless unsafe code is allowed.
        self.enforce_imports = not allow_unsafe
        # The process state before any project code (state.py), set once
        # the harness is ready; reads of withheld variables.
        self.snapshot = None
        self.env_watch = EnvironWatch()
        self.tracer = Tracer()
        self.django = DjangoState()
        self.sources = Sources()
        self.callsites = CallSites(self.root, rules, self.sources)
        # import line -> its namespace (None: it does not import); cleared
        # per request, the project's modules are imported afresh.
        self.eval_namespaces = {}

    def note_call(self, text):
        """Notes the call about to be made (main.py points it at the
        protocol's note, which testgen quotes when the harness is lost)."""

    def parse(self, path):
        """The AST of a file (cached), or None."""
        return self.sources.parse(path)

    def is_project_file(self, path):
        """A file of the project by the rules; the harness's own never is."""
        if path and os.path.abspath(path).startswith(HARNESS_DIR + os.sep):
            return False
        return self.rules.is_project_file(path, self.root)
