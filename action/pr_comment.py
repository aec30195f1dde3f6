"""Posts .testgen/summary.md on the pull request as one sticky comment:
the comment testgen posted before (found by its marker) is edited, else a
new one is created. GitHub's REST API at TG_API_URL (github.api_url).

Environment: GITHUB_TOKEN, TG_API_URL, TG_REPOSITORY (owner/name), TG_PR
(the pull request's number), TG_SUMMARY (the file). A failure is a warning
on the job, never a failed job: the gate decides that.
"""

import json
import os
import sys
import urllib.error
import urllib.request

MARKER = "<!-- testgen:summary -->"
# GitHub refuses comment bodies over 65536 characters.
LIMIT = 65000
TIMEOUT_S = 30


def request(method, url, token, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/vnd.github+json")
    req.add_header("X-GitHub-Api-Version", "2022-11-28")
    req.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        return json.loads(resp.read() or b"null")


def existing(api, repo, pr, token):
    """The id of testgen's earlier comment on the pull request, if any."""
    page = 1
    while True:
        url = f"{api}/repos/{repo}/issues/{pr}/comments?per_page=100&page={page}"
        comments = request("GET", url, token)
        for c in comments:
            if (c.get("body") or "").startswith(MARKER):
                return c["id"]
        if len(comments) < 100:
            return None
        page += 1


def main():
    env = os.environ
    api = env["TG_API_URL"].rstrip("/")
    repo, pr, token = env["TG_REPOSITORY"], env["TG_PR"], env.get("GITHUB_TOKEN", "")
    try:
        with open(env["TG_SUMMARY"], encoding="utf-8") as f:
            summary = f.read()
    except OSError:
        print("::warning::testgen wrote no summary.md: no pull-request comment")
        return
    if len(summary) > LIMIT:
        summary = summary[:LIMIT] + "\n\n… (cut: the whole summary is in the job summary and the artifact)"
    body = f"{MARKER}\n{summary}"
    try:
        found = existing(api, repo, pr, token)
        if found is None:
            request("POST", f"{api}/repos/{repo}/issues/{pr}/comments", token, {"body": body})
            print(f"testgen: commented on pull request #{pr}")
        else:
            request("PATCH", f"{api}/repos/{repo}/issues/comments/{found}", token, {"body": body})
            print(f"testgen: updated its comment on pull request #{pr}")
    except (urllib.error.URLError, OSError, ValueError) as e:
        # A fork's pull request gets a read-only token: say so, do not fail.
        print(f"::warning::testgen could not comment on pull request #{pr}: {e}")


if __name__ == "__main__":
    sys.exit(main())
