#!/usr/bin/env bash
# Pushes tests/generated/ to TG_BRANCH as one commit on top of HEAD, built
# in a private index: the workspace's checkout, branch and index are left
# as they were. Prints `commit=...` to $GITHUB_OUTPUT when it pushed.
set -euo pipefail
branch="${TG_BRANCH:?tests_branch is empty}"
if [ -n "${TG_CURRENT:-}" ] && [ "$branch" = "$TG_CURRENT" ]; then
  echo "::error::tests_branch is the branch being built ($branch): testgen force-pushes tests_branch, so it must be a branch of its own"
  exit 1
fi
report="$TG_PATH/.testgen/iteration_report.json"
generated=$(python3 - "$report" <<'PY'
import json, os, sys
r = json.load(open(sys.argv[1]))
print(os.path.join(r["python_root"] or ".", "tests", "generated"))
PY
)
cd "$TG_PATH"
if [ ! -d "$generated" ]; then
  echo "testgen: no tests/generated/ to push"
  exit 0
fi
index=$(mktemp)
trap 'rm -f "$index"' EXIT
export GIT_INDEX_FILE="$index"
git read-tree HEAD
git add -f -- "$generated" ':(exclude,glob)**/__pycache__/**' ':(exclude,glob)**/*.pyc'
tree=$(git write-tree)
if [ "$tree" = "$(git rev-parse 'HEAD^{tree}')" ]; then
  echo "testgen: tests/generated/ is unchanged: nothing to push"
  exit 0
fi
message=$(python3 - "$report" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
n = sum(len(f["tests"]) for f in r["generated"])
print(f"testgen: {n} generated tests, coverage {r['coverage_before']['line_percent']:.2f}% -> {r['coverage_after']['line_percent']:.2f}%")
PY
)
commit=$(GIT_AUTHOR_NAME=testgen GIT_AUTHOR_EMAIL=testgen@users.noreply.github.com \
         GIT_COMMITTER_NAME=testgen GIT_COMMITTER_EMAIL=testgen@users.noreply.github.com \
         git commit-tree "$tree" -p HEAD -m "$message")
git push --force origin "$commit:refs/heads/$branch"
echo "testgen: pushed $commit to $branch ($message)"
echo "commit=$commit" >> "$GITHUB_OUTPUT"
