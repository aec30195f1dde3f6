"""The harness process: arguments, start-up (the protocol's fds, sys.path,
the guard and tracer installed), then one answer per request until EOF or
`shutdown`."""

import argparse
import json
import os
import platform
import sys
import threading
import time
import traceback

from .callables import CallableExplorer
from .context import HARNESS_DIR, Context
from .frameworks.app import handle_find_app
from .frameworks.djangounits import django_unit_explorer
from .frameworks.djangoviews import DjangoViewExplorer
from .frameworks.routes import RouteExplorer
from .protocol import PROTOCOL, Channel, last_line
from .rules import Rules
from .safety import SkipTarget
from .state import Snapshot


def handle_explore(ctx, req):
    started = time.monotonic()
    ctx.eval_namespaces.clear()  # the project's modules are imported afresh
    kind = req.get("target", {}).get("kind")
    try:
        if kind == "route" and (req.get("app") or {}).get("framework") == "django":
            explorer = DjangoViewExplorer(ctx, req)
        elif kind == "route":
            explorer = RouteExplorer(ctx, req)
        elif kind in ("function", "method"):
            explorer = django_unit_explorer(ctx, req) or CallableExplorer(ctx, req)
        else:
            raise SkipTarget("unknown target kind %r" % kind)
        resp = explorer.explore()
    except SkipTarget as e:
        resp = {"status": "skipped", "reason": str(e), "calls": 0, "tests": []}
    resp["elapsed_s"] = round(time.monotonic() - started, 3)
    return resp


def handle(ctx, req):
    op = req.get("op")
    if op == "explore":
        resp = handle_explore(ctx, req)
    elif op == "find_app":
        resp = handle_find_app(ctx, req)
    else:
        resp = {"status": "error", "reason": "unknown op %r" % op}
    out = {"id": req.get("id")}
    out.update(resp)
    if ctx.snapshot is not None:
        problems = ctx.snapshot.restore()
        if problems:
            # Not clean again: the next target gets a fresh harness.
            out["restart"] = "; ".join(problems)[:300]
            sys.stderr.write("testgen harness: restart asked: %s\n" % out["restart"])
    return out


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="testgen_explore", description="testgen explore harness")
    parser.add_argument("--root", required=True)
    parser.add_argument("--sys-path", action="append", default=[])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--allow-unsafe", action="store_true",
                        help="project code at import time may do what the guard refuses")
    parser.add_argument("--rules", required=True, type=Rules.from_json,
                        help="the project rules as JSON (from testgen's Rust side)")
    return parser.parse_args(argv)


def set_sys_path(ctx, args):
    """Neither the harness's own directory nor the temporary cwd may shadow
    the project's modules: both leave sys.path, the project's roots lead."""
    cwd = os.getcwd()
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") not in (HARNESS_DIR, cwd)]
    for p in reversed(args.sys_path or [ctx.root]):
        sys.path.insert(0, os.path.abspath(p))


def serve(ctx, channel):
    for line in channel.lines():
        try:
            req = json.loads(line)
        except ValueError as e:
            channel.send({"id": None, "status": "error", "reason": "bad request: %s" % e})
            continue
        if req.get("op") == "shutdown":
            break
        try:
            resp = handle(ctx, req)
        except BaseException as e:  # a harness bug must not lose the protocol
            traceback.print_exc()
            resp = {"id": req.get("id"), "status": "error", "reason": last_line(e), "tests": []}
        channel.send(resp)


def main(argv=None):
    args = parse_args(argv)
    ctx = Context(args.root, args.rules, args.sys_path, args.seed, args.allow_unsafe)
    channel = Channel()
    ctx.guard.fds.protect(channel.fds)
    ctx.note_call = channel.note_call
    set_sys_path(ctx, args)
    sys.dont_write_bytecode = True
    ctx.guard.install()
    ctx.env_watch.install()
    threading.settrace(ctx.tracer.thread_trace)
    ctx.snapshot = Snapshot(ctx)
    channel.send({"ready": True, "python": platform.python_version(), "harness": PROTOCOL})
    serve(ctx, channel)
    channel.flush()
    os._exit(0)
