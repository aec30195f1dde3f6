"""Runs a composite action, or a workflow's jobs, the way GitHub's runner
does, on this machine (docs/ci.md, "What the emulation runs"). Steps run
in the environment this process was given (the caller gives a clean HOME
and a runner-like PATH).

  python tests/scripts/runneremu action ACTION_DIR RESULT_JSON --workspace DIR
         [--inputs JSON] [--github JSON]
  python tests/scripts/runneremu workflow WORKFLOW_YML RESULT_JSON --scratch DIR
         --remote GIT_DIR --action NAME=DIR... [--github JSON] [--secrets JSON]
         [--action-inputs JSON]

RESULT_JSON (action): {conclusion, outputs, steps, summary, uses}; (workflow):
{conclusion, jobs: [{job, matrix, conclusion, steps, uses, summary, workspace}]}.
Exits 0 when the action or every job succeeded, 1 otherwise.
"""

import argparse
import json
import os
import sys
import tempfile

import yaml

from job import Job
from workflow import Run


def github_context(overrides):
    g = {
        "action_repository": "",
        "action_ref": "",
        "event_name": "push",
        "token": "ghs_emulated_token",
        "repository": "owner/project",
        "repository_owner": "owner",
        "sha": "0" * 40,
        "ref": "refs/heads/main",
        "ref_name": "main",
        "head_ref": "",
        "base_ref": "",
        "server_url": "https://github.com",
        "api_url": "https://api.github.com",
        "run_id": "1",
        "run_number": "1",
        "event": {},
    }
    g.update(overrides)
    return g


def base_env(github):
    env = dict(os.environ)
    env.update(
        {
            "GITHUB_EVENT_NAME": github["event_name"],
            "GITHUB_REPOSITORY": github["repository"],
            "GITHUB_REF": github["ref"],
            "GITHUB_REF_NAME": github["ref_name"],
            "GITHUB_HEAD_REF": github["head_ref"],
            "GITHUB_BASE_REF": github["base_ref"],
            "GITHUB_SHA": github["sha"],
            "GITHUB_API_URL": github["api_url"],
            "GITHUB_SERVER_URL": github["server_url"],
            "GITHUB_RUN_ID": github["run_id"],
        }
    )
    return env


def main():
    p = argparse.ArgumentParser(prog="runneremu")
    sub = p.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("action")
    a.add_argument("action_dir")
    a.add_argument("result")
    a.add_argument("--workspace", required=True)
    a.add_argument("--inputs", default="{}")
    a.add_argument("--github", default="{}")
    w = sub.add_parser("workflow")
    w.add_argument("workflow")
    w.add_argument("result")
    w.add_argument("--scratch", required=True)
    w.add_argument("--remote", required=True)
    w.add_argument("--action", action="append", default=[])
    w.add_argument("--github", default="{}")
    w.add_argument("--secrets", default="{}")
    w.add_argument("--action-inputs", default="{}", help="JSON inputs laid over the `with:` of every use of the --action actions")
    args = p.parse_args()
    github = github_context(json.loads(args.github))
    env = base_env(github)
    if args.mode == "action":
        temp = tempfile.mkdtemp(prefix="runner-temp-")
        action_dir = os.path.abspath(args.action_dir)
        run = Run(temp, env, github, {}, None, {})
        job = Job(args.workspace, temp, env, {"github": github}, run.handlers())
        outcome, outputs, steps = job.composite(action_dir, json.loads(args.inputs), {}, {})
        result = {"conclusion": outcome, "outputs": outputs, "steps": steps, "summary": job.summary(), "uses": job.uses}
    else:
        actions = dict(a.split("=", 1) for a in args.action)
        actions = {k: os.path.abspath(v) for k, v in actions.items()}
        with open(args.workflow, encoding="utf-8") as f:
            wf = yaml.safe_load(f)
        run = Run(args.scratch, env, github, json.loads(args.secrets), os.path.abspath(args.remote), actions)
        run.overrides = json.loads(args.action_inputs)
        result = run.workflow(wf)
    with open(args.result, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=2)
    sys.exit(0 if result["conclusion"] == "success" else 1)


if __name__ == "__main__":
    main()
