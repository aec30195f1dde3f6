"""File-path parameters: a parameter named like a path (`path`, `filename`,
`fname`, `*_file`) gets a real file with two lines of text, written under
pytest's `tmp_path` in the test, so the code reading it has something to
read and the code writing it writes where pytest cleans up.

A parameter whose contract is "a path or an open file" (its name, its
annotation, or the body opening or reading it) never gets an int: `open()`
takes one as a file descriptor, and the call would read or write whatever
that number is (the harness's, pytest's capture)."""

import os
import re
import tempfile

from .values import Lit, Val

PATH_NAME = re.compile(r"(^|_)(path|file|filename|fname|filepath|infile|outfile)$")
FILE_NAME = re.compile(r"(^|_)(fp|fh|fobj|fileobj|stream|handle)$")
# Annotations that say "a path or a file".
FILE_TYPES = re.compile(r"PathLike|Path\b|\bIO\b|TextIO|BinaryIO|IOBase|TextIOWrapper|Buffered|FileIO|"
                        r"StrPath|FilePath|FileLike|SupportsRead|SupportsWrite")
CONTENT = "alpha\nbeta\n"


def is_path_name(name):
    return bool(name and PATH_NAME.search(name.lower()))


def is_file_contract(name, ann, usage):
    """The parameter takes a path or an open file (by name, annotation or
    what the body does with it: `usage` holds 'file' when it is opened or
    read like one)."""
    text = ann if isinstance(ann, str) else getattr(ann, "__name__", None) or repr(ann)
    if ann in (int, bool) or text in ("int", "bool"):
        return False  # an int is what it asks for (a descriptor, a count)
    if is_path_name(name) or (name and FILE_NAME.search(name.lower())) or "file" in usage:
        return True
    return bool(ann is not None and FILE_TYPES.search(str(text)))


def names_descriptor(val):
    """A value `open()` would take as a file descriptor (an int; True is 1)."""
    return isinstance(val, Lit) and isinstance(val.value, int)


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
