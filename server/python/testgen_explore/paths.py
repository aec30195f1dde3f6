"""File-path parameters: a parameter named like a path (`path`, `filename`,
`fname`, `*_file`) gets a real file with two lines of text, written under
pytest's `tmp_path` in the test, so the code reading it has something to
read and the code writing it writes where pytest cleans up."""

import os
import re
import tempfile

from .values import Val

PATH_NAME = re.compile(r"(^|_)(path|file|filename|fname|filepath|infile|outfile)$")
CONTENT = "alpha\nbeta\n"


def is_path_name(name):
    return bool(name and PATH_NAME.search(name.lower()))


class PathVal(Val):
    fixture = "tmp_path"

    def __init__(self, name):
        self.var = "%s_path" % name if name != "path" else "input_path"
        self.src = "str(%s)" % self.var
        self.imports = frozenset()
        self.prelude = [
            "%s = tmp_path / 'input.txt'" % self.var,
            "%s.write_text(%r)" % (self.var, CONTENT),
        ]
        self._dir = None

    def build(self):
        # A fresh file for every call, under TMPDIR (the sandbox gives the
        # harness its own temporary directory there).
        if self._dir is None or not os.path.isdir(self._dir):
            self._dir = tempfile.mkdtemp(prefix="testgen-path-")
        path = os.path.join(self._dir, "input.txt")
        with open(path, "w") as f:
            f.write(CONTENT)
        return path
