"""One job on the emulated runner: its workspace, temp directory and
command files, and the steps it runs (a workflow job's, or a composite
action's inside it).

What the runner does and this does too:
- `if:` conditions (default `success()`), `env:` of the workflow, the job
  and the step, GITHUB_ENV and GITHUB_PATH written by a step apply to the
  steps after it (composite steps included), GITHUB_OUTPUT per step read
  back into `steps.<id>.outputs`, one GITHUB_STEP_SUMMARY per job.
- A `run:` step is a script file run by its shell: `bash -e {0}` when a
  workflow step names none, `bash --noprofile --norc -eo pipefail {0}` for
  `shell: bash`, `sh -e {0}`, `python {0}`; in GITHUB_WORKSPACE (or its
  working-directory), in its own process group, killed at its
  `timeout-minutes` (default 30 here; 360 on GitHub).
- A composite action (`runs.using: composite`) gets its inputs (given, else
  defaults evaluated), GITHUB_ACTION_PATH set to its directory, and
  `github.action_repository`/`github.action_ref` empty (GITHUB_ACTION_REPOSITORY
  and GITHUB_ACTION_REF too): what a composite step sees on GitHub. Its
  outputs are its `outputs.*.value` after its steps.
- `uses:` steps go to the handlers the caller gives (workflow.py); an
  action nobody handles is recorded and succeeds.
"""

import os
import signal
import subprocess

import yaml

from expressions import Evaluator, condition, interpolate, to_string
from files import read_kv, read_lines, touch

SHELLS = {
    None: ["bash", "-e", "{0}"],
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail", "{0}"],
    "sh": ["sh", "-e", "{0}"],
    "python": ["python3", "{0}"],
}
DEFAULT_TIMEOUT_MIN = 30


class Job:
    def __init__(self, workspace, temp, base_env, contexts, handlers):
        self.workspace = workspace
        self.temp = temp
        os.makedirs(workspace, exist_ok=True)
        os.makedirs(temp, exist_ok=True)
        self.files = {
            k: touch(os.path.join(temp, k.lower()))
            for k in ("GITHUB_ENV", "GITHUB_PATH", "GITHUB_STEP_SUMMARY")
        }
        self.base_env = dict(base_env)
        self.base_env.update(
            {
                "GITHUB_WORKSPACE": workspace,
                "GITHUB_ACTIONS": "true",
                "CI": "true",
                "RUNNER_OS": "Linux",
                "RUNNER_ARCH": "X64",
                "RUNNER_TEMP": temp,
                **self.files,
            }
        )
        self.contexts = contexts
        self.contexts.setdefault("runner", {}).update(
            {"os": "Linux", "arch": "X64", "temp": temp, "tool_cache": os.path.join(temp, "tool-cache")}
        )
        self.contexts["github"]["workspace"] = workspace
        self.handlers = handlers
        self.uses = []
        self.counter = 0

    def summary(self):
        with open(self.files["GITHUB_STEP_SUMMARY"], encoding="utf-8") as f:
            return f.read()

    def env_for(self, step_env, ev, extra):
        env = dict(self.base_env)
        env.update(read_kv(self.files["GITHUB_ENV"]))
        env.update(extra)
        env.update({k: to_string(interpolate(v, ev)) for k, v in (step_env or {}).items()})
        path = read_lines(self.files["GITHUB_PATH"])
        if path:
            env["PATH"] = os.pathsep.join(reversed(path)) + os.pathsep + env.get("PATH", "")
        return env

    def run_steps(self, steps, contexts, scope_env, extra_env, composite):
        """Runs `steps` with `contexts` (its own `steps` context filled as
        they run); returns (status, records)."""
        ev = Evaluator(contexts, "success")
        contexts["steps"] = {}
        status, records = "success", []
        for step in steps:
            self.counter += 1
            ev.status = status
            sid = step.get("id") or f"__step{self.counter}"
            rec = {"name": step.get("name") or step.get("uses") or sid, "id": sid}
            records.append(rec)
            contexts["env"] = {**self.base_env_view(), **scope_env}
            if not condition(step.get("if"), ev):
                rec["outcome"] = "skipped"
                contexts["steps"][sid] = {"outputs": {}, "outcome": "skipped", "conclusion": "skipped"}
                continue
            env = dict(scope_env)
            env.update({k: to_string(interpolate(v, ev)) for k, v in (step.get("env") or {}).items()})
            if "uses" in step:
                with_ = {k: interpolate(v, ev) for k, v in (step.get("with") or {}).items()}
                with_ = {k: to_string(v) for k, v in with_.items()}
                self.uses.append({"uses": step["uses"], "with": with_})
                outcome, outputs = self.dispatch(step["uses"], with_, env, extra_env)
            else:
                if composite and not step.get("shell"):
                    raise SystemExit(f"composite step {rec['name']!r} names no shell: the runner refuses it")
                outcome, outputs, code = self.run_script(step, ev, env, extra_env)
                rec["exit"] = code
            rec["outcome"] = outcome
            if outcome == "failure" and step.get("continue-on-error"):
                outcome_seen = "success"
            else:
                outcome_seen = outcome
            contexts["steps"][sid] = {"outputs": outputs, "outcome": outcome, "conclusion": outcome_seen}
            if outcome_seen == "failure":
                status = "failure"
        return status, records

    def base_env_view(self):
        return read_kv(self.files["GITHUB_ENV"])

    def dispatch(self, uses, with_, env, extra_env):
        name = uses.split("@", 1)[0]
        for prefix, handler in self.handlers.items():
            if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
                return handler(self, uses, with_, env, extra_env)
        return "success", {}

    def run_script(self, step, ev, env, extra_env):
        script = to_string(interpolate(step["run"], ev))
        shell = step.get("shell")
        if shell not in SHELLS:
            raise SystemExit(f"shell {shell!r} is not emulated")
        self.counter += 1
        script_file = os.path.join(self.temp, f"step_{self.counter}.sh")
        with open(script_file, "w", encoding="utf-8") as f:
            f.write(script)
        out_file = touch(os.path.join(self.temp, f"output_{self.counter}"))
        full_env = self.env_for(env, ev, {**extra_env, "GITHUB_OUTPUT": out_file})
        cwd = os.path.join(self.workspace, to_string(interpolate(step.get("working-directory", "."), ev)))
        argv = [a.replace("{0}", script_file) for a in SHELLS[shell]]
        timeout = 60 * float(step.get("timeout-minutes") or DEFAULT_TIMEOUT_MIN)
        proc = subprocess.Popen(argv, cwd=cwd, env=full_env, start_new_session=True)
        try:
            code = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            code = -9
        outputs = read_kv(out_file)
        return ("success" if code == 0 else "failure"), outputs, code

    def composite(self, action_dir, given, env, extra_env):
        """Runs the composite action in `action_dir` with inputs `given`;
        returns (outcome, outputs, records)."""
        with open(os.path.join(action_dir, "action.yml"), encoding="utf-8") as f:
            action = yaml.safe_load(f)
        if action["runs"]["using"] != "composite":
            raise SystemExit("only composite actions are emulated")
        github = dict(self.contexts["github"], action_repository="", action_ref="", action_path=action_dir)
        contexts = {
            "github": github,
            "runner": self.contexts["runner"],
            "inputs": {},
            "steps": {},
            "env": {},
            # Composite steps see neither the caller's matrix nor its secrets.
        }
        ev = Evaluator(contexts, "success")
        for name, spec in (action.get("inputs") or {}).items():
            if name in given:
                contexts["inputs"][name] = given[name]
            else:
                contexts["inputs"][name] = to_string(interpolate(str((spec or {}).get("default", "")), ev))
        inner_env = {
            **extra_env,
            "GITHUB_ACTION_PATH": action_dir,
            "GITHUB_ACTION_REPOSITORY": "",
            "GITHUB_ACTION_REF": "",
        }
        status, records = self.run_steps(action["runs"]["steps"], contexts, dict(env), inner_env, composite=True)
        ev.status = status
        outputs = {
            name: to_string(interpolate((spec or {}).get("value", ""), ev))
            for name, spec in (action.get("outputs") or {}).items()
        }
        return status, outputs, records
