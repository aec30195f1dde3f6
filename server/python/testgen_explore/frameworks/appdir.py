"""Where a web application runs while it is explored and in its generated
tests. Both the harness and the generated conftest use these functions (the
conftest gets their source), so an application runs the same way in both.

- Its working directory is a new temporary directory that mirrors the
  project's top level: relative paths it reads (`StaticFiles(directory=
  "static")`) resolve as from the project root, while files it creates there
  (SQLModel's tutorial keeps `sqlite:///database.db`) land in the copy, never
  in the user's project, and every test starts from no database.
- Libraries that keep a registry of the project's classes are imported afresh
  with the project: SQLModel keeps one MetaData for every model, so the
  project's models imported a second time beside the first raise "Table
  'hero' is already defined for this MetaData instance"."""

import os
import shutil
import tempfile


def registry_module(name):
    """A module of a library holding a registry of the project's classes."""
    return name == "sqlmodel" or name.startswith("sqlmodel.")


def app_workdir(root):
    """A new directory mirroring `root`'s top level: directories linked,
    files (up to 16 MB) copied, so writing to one never reaches the project.
    The caller removes it."""
    work = tempfile.mkdtemp(prefix="testgen-app-")
    skip = {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", ".testgen", "__pycache__",
            ".pytest_cache", "node_modules"}
    for name in sorted(os.listdir(root)):
        src, dst = os.path.join(root, name), os.path.join(work, name)
        if name in skip:
            continue
        if os.path.isdir(src):
            os.symlink(src, dst)
        elif os.path.isfile(src) and os.path.getsize(src) <= 16 << 20:
            shutil.copyfile(src, dst)
    return work


def enter_workdir(work):
    """Changes into `work`; returns what `leave_workdir` needs. A relative
    entry of sys.path (`''`, `.`) is pinned to the old directory meanwhile,
    so the project still imports from the project, not from the links."""
    old = os.getcwd()
    saved = list(sys_path())
    sys_path()[:] = [os.path.join(old, p) if not os.path.isabs(p) else p for p in saved]
    os.chdir(work)
    return old, saved


def leave_workdir(state):
    """Back to the old directory and sys.path (the caller removes the
    directory: the harness only once its guard no longer watches)."""
    old, saved = state
    os.chdir(old)
    sys_path()[:] = saved


def sys_path():
    import sys
    return sys.path
