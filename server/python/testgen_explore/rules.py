"""What counts as a file of the project, by the rules testgen's Rust side
defines once (server/src/workspace/skip.rs) and hands over at start-up
(`--rules`, JSON): directory names and patterns that are never the project,
dot-directories, virtualenvs (a directory holding the marker file), testgen's
own output directory, and the test-file name patterns.

`skipped_dir` and `project_file` are also copied verbatim into the generated
conftest (templates.py), which runs standalone under pytest: they use only
their arguments, `os` and `fnmatch`.
"""

import fnmatch
import json
import os

RULE_KEYS = ("skipped_dir_names", "skip_hidden_dirs", "virtualenv_marker", "generated_dir",
             "test_file_names")


def skipped_dir(rules, rel_dirs, path, venvs):
    """Whether the directory `path` (its path below the root as the list of
    names `rel_dirs`) is no part of the project. `venvs` caches, per
    directory, whether it holds the virtualenv marker."""
    name = rel_dirs[-1]
    generated = rules["generated_dir"]
    if path not in venvs:
        venvs[path] = os.path.isfile(os.path.join(path, rules["virtualenv_marker"]))
    return ((rules["skip_hidden_dirs"] and name.startswith("."))
            or any(fnmatch.fnmatchcase(name, pattern) for pattern in rules["skipped_dir_names"])
            or (len(generated) > 0 and rel_dirs[-len(generated):] == generated)
            or venvs[path])


def project_file(path, root, rules, venvs):
    """A file of the project itself: under `root`, in no skipped directory,
    and not a test file."""
    path = os.path.abspath(path) if path else ""
    if not path.startswith(root + os.sep):
        return False
    parts = os.path.relpath(path, root).split(os.sep)
    dirs = [parts[:i + 1] for i in range(len(parts) - 1)]
    return not (any(skipped_dir(rules, d, os.path.join(root, *d), venvs) for d in dirs)
                or any(fnmatch.fnmatchcase(parts[-1], pattern) for pattern in rules["test_file_names"]))


class Rules:
    """The rules of one harness run, with the virtualenv cache they need."""

    def __init__(self, data):
        missing = [k for k in RULE_KEYS if k not in data]
        if missing:
            raise ValueError("project rules lack %s" % ", ".join(missing))
        self.data = data
        self._venvs = {}

    @classmethod
    def from_json(cls, text):
        return cls(json.loads(text))

    def skips_dir(self, root, rel_dirs):
        return skipped_dir(self.data, list(rel_dirs), os.path.join(root, *rel_dirs), self._venvs)

    def is_project_file(self, path, root):
        return project_file(path, root, self.data, self._venvs)
