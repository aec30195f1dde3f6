# --- testgen validation only (never written to tests/generated) ---------
# What each generated test leaves changed for the tests after it, and the
# order of the isolation run. Read by server/src/generate/validate.rs.
import json as _tg_json
import os as _tg_os
import signal as _tg_signal
import sys as _tg_sys

import pytest as _tg_pytest

_TG_DIR = _tg_os.path.dirname(_tg_os.path.abspath(__file__))
_TG_REPORT = _tg_os.environ.get("TESTGEN_STATE_REPORT")
_tg_changed = {}


def _tg_handlers():
    out = {}
    for s in _tg_signal.valid_signals():
        try:
            out[int(s)] = _tg_signal.getsignal(s)
        except (ValueError, OSError):
            pass
    return out


def _tg_state():
    return (dict(_tg_os.environ), _tg_os.getcwd(), dict(_tg_sys.modules), list(_tg_sys.path),
            _tg_handlers())


def _tg_signame(s):
    try:
        return _tg_signal.Signals(s).name
    except ValueError:
        return str(s)


def _tg_diff(before, after):
    env_a, cwd_a, mods_a, path_a, sig_a = before
    env_b, cwd_b, mods_b, path_b, sig_b = after
    out = []
    # PYTEST_CURRENT_TEST is pytest's own, set around each phase.
    env = sorted(k for k in set(env_a) | set(env_b)
                 if env_a.get(k) != env_b.get(k) and k != "PYTEST_CURRENT_TEST")
    if env:
        out.append("os.environ (%s)" % ", ".join(env[:5]))
    if cwd_a != cwd_b:
        out.append("the working directory")
    # Importing is normal; replacing or blocking a module is not.
    mods = [k for k, m in mods_a.items() if mods_b.get(k) is not m]
    mods += [k for k, m in mods_b.items() if m is None and k not in mods_a]
    if mods:
        out.append("sys.modules (%s)" % ", ".join(sorted(mods)[:5]))
    if path_a != path_b:
        out.append("sys.path")
    sigs = [s for s, h in sig_a.items() if sig_b.get(s) is not h]
    if sigs:
        out.append("signal handlers (%s)" % ", ".join(_tg_signame(s) for s in sorted(sigs)))
    return out


def _tg_staged(item):
    return _tg_os.path.dirname(_tg_os.path.abspath(str(item.fspath))) == _TG_DIR


@_tg_pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    if not _TG_REPORT or not _tg_staged(item):
        yield
        return
    before = _tg_state()
    yield
    changed = _tg_diff(before, _tg_state())
    if changed:
        _tg_changed[item.nodeid] = changed


def pytest_collection_modifyitems(session, config, items):
    """TESTGEN_ORDER=reversed: the generated tests first, in reverse order,
    then everything else in its own order (the user's suite after them)."""
    if _tg_os.environ.get("TESTGEN_ORDER") != "reversed":
        return
    staged = [i for i in items if _tg_staged(i)]
    rest = [i for i in items if not _tg_staged(i)]
    items[:] = list(reversed(staged)) + rest


def pytest_sessionfinish(session, exitstatus):
    if _TG_REPORT:
        with open(_TG_REPORT, "w", encoding="utf-8") as f:
            _tg_json.dump(_tg_changed, f)
