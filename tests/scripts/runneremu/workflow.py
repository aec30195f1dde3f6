"""A workflow's jobs on the emulated runner, and the actions it does not run
for real.

Jobs run one after another in `needs` order; a job's matrix (lists only)
runs each combination as a job of its own, each with a fresh workspace and
temp directory. Stand-ins for the actions a workflow of testgen uses:
- actions/checkout: fetches `github.ref` (or `github.sha`) from the local
  remote `origin` into the workspace at depth 1 (its default fetch-depth),
  detached, as the real action does for a pull request's merge ref;
- actions/setup-python: nothing (the emulated runner's PATH already has
  its python3), recorded;
- actions/cache: nothing, recorded, `cache-hit` false (a cold cache);
- actions/upload-artifact / download-artifact: a directory per artifact
  under the run's scratch directory (download by `name` into `path`, or by
  `pattern` into `path/NAME/` as v4 does);
- the action under test (`--action NAME=DIR`, and `./`): run as a composite
  action by job.py;
- any other action: recorded, succeeds.
"""

import fnmatch
import itertools
import os
import shutil
import subprocess

from expressions import Evaluator, condition, interpolate, to_string
from job import Job


class Run:
    def __init__(self, scratch, base_env, github, secrets, remote, actions):
        self.scratch = scratch
        self.base_env = base_env
        self.github = github
        self.secrets = secrets
        self.remote = remote
        self.actions = actions
        self.artifacts = os.path.join(scratch, "artifacts")
        os.makedirs(self.artifacts, exist_ok=True)
        self.instances = 0
        self.overrides = {}

    def handlers(self):
        h = {
            "actions/checkout": self.checkout,
            "actions/setup-python": lambda *a: ("success", {"python-version": "3"}),
            "actions/cache": lambda *a: ("success", {"cache-hit": "false"}),
            "actions/upload-artifact": self.upload,
            "actions/download-artifact": self.download,
        }
        for name, directory in self.actions.items():
            h[name] = self.local_action(directory)
        return h

    def local_action(self, directory):
        def run(job, uses, with_, env, extra_env):
            record = job.uses[-1]  # this use's; the action's own uses follow it
            given = {**with_, **{k: str(v) for k, v in self.overrides.items()}}
            outcome, outputs, records = job.composite(directory, given, env, extra_env)
            record["steps"] = records
            record["outputs"] = outputs
            return outcome, outputs

        return run

    def checkout(self, job, uses, with_, env, extra_env):
        ref = self.github.get("ref") or self.github["sha"]
        ws = job.workspace
        git = lambda *a: subprocess.run(["git", "-C", ws, *a], check=True, capture_output=True, text=True)
        git("init", "-q")
        git("remote", "add", "origin", f"file://{self.remote}")
        depth = with_.get("fetch-depth") or "1"
        fetch = ["fetch", "-q", "--no-tags"] + (["--depth", depth] if depth != "0" else [])
        git(*fetch, "origin", f"+{ref}:refs/remotes/origin/checkout")
        git("checkout", "-q", "--detach", "refs/remotes/origin/checkout")
        return "success", {"commit": git("rev-parse", "HEAD").stdout.strip()}

    def upload(self, job, uses, with_, env, extra_env):
        name = with_.get("name") or "artifact"
        dest = os.path.join(self.artifacts, name)
        if os.path.exists(dest):
            return "failure", {}  # v4: an artifact name is written once per run
        src = os.path.join(job.workspace, with_["path"].strip())
        if not os.path.exists(src):
            return "success", {}  # if-no-files-found: warn
        shutil.copytree(src, dest, ignore=None if with_.get("include-hidden-files") == "true" else hidden)
        return "success", {"artifact-id": name}

    def download(self, job, uses, with_, env, extra_env):
        path = os.path.join(job.workspace, with_.get("path") or ".")
        names = sorted(os.listdir(self.artifacts))
        if with_.get("name"):
            chosen = [(n, path) for n in names if n == with_["name"]]
        else:
            pattern = with_.get("pattern") or "*"
            chosen = [(n, os.path.join(path, n)) for n in names if fnmatch.fnmatchcase(n, pattern)]
        if not chosen:
            return "failure", {}
        for n, dest in chosen:
            shutil.copytree(os.path.join(self.artifacts, n), dest, dirs_exist_ok=True)
        return "success", {"download-path": path}

    def workflow(self, wf):
        jobs = wf["jobs"]
        results, out = {}, []
        for job_id in order(jobs):
            spec = jobs[job_id]
            needs = spec.get("needs") or []
            needs = [needs] if isinstance(needs, str) else needs
            status = "success" if all(results.get(n) == "success" for n in needs) else "failure"
            combos = matrix(spec.get("strategy", {}).get("matrix"))
            overall = "success"
            for combo in combos:
                rec = self.job(wf, job_id, spec, combo, status, needs, results)
                out.append(rec)
                if rec["conclusion"] == "failure":
                    overall = "failure"
            results[job_id] = overall
        conclusion = "success" if all(v == "success" for v in results.values()) else "failure"
        return {"conclusion": conclusion, "jobs": out}

    def job(self, wf, job_id, spec, combo, needs_status, needs, results):
        self.instances += 1
        root = os.path.join(self.scratch, f"job{self.instances}-{job_id}")
        contexts = {
            "github": dict(self.github),
            "matrix": combo,
            "secrets": self.secrets,
            "needs": {n: {"result": results.get(n), "outputs": {}} for n in needs},
            "steps": {},
            "env": {},
        }
        job = Job(os.path.join(root, "workspace"), os.path.join(root, "temp"), self.base_env, contexts, self.handlers())
        ev = Evaluator(contexts, needs_status)
        rec = {"job": job_id, "matrix": combo, "workspace": job.workspace}
        if not condition(spec.get("if"), ev):
            rec.update(conclusion="skipped", steps=[], uses=[], summary="")
            return rec
        scope_env = {k: to_string(interpolate(v, ev)) for k, v in {**(wf.get("env") or {}), **(spec.get("env") or {})}.items()}
        status, steps = job.run_steps(spec.get("steps") or [], contexts, scope_env, {}, composite=False)
        rec.update(conclusion=status, steps=steps, uses=job.uses, summary=job.summary())
        return rec


def hidden(directory, names):
    return [n for n in names if n.startswith(".")]


def order(jobs):
    done, out = set(), []

    def visit(j, path=()):
        if j in done:
            return
        if j in path:
            raise SystemExit(f"jobs need each other in a cycle: {path}")
        needs = jobs[j].get("needs") or []
        for n in [needs] if isinstance(needs, str) else needs:
            visit(n, path + (j,))
        done.add(j)
        out.append(j)

    for j in jobs:
        visit(j)
    return out


def matrix(spec):
    if not spec:
        return [{}]
    keys = [k for k in spec if k not in ("include", "exclude")]
    if "include" in spec or "exclude" in spec:
        raise SystemExit("matrix include/exclude are not emulated")
    return [dict(zip(keys, values)) for values in itertools.product(*(spec[k] for k in keys))]
