#!/usr/bin/env bash
# Smoke test of the packaged extension against the real server, without VS
# Code: unzips the .vsix, loads its bundle under node with fake-vscode.js,
# and drives it on a copy of tests/fixtures/plainlib plus one failing test.
#   bash smoke/run.sh [VSIX] [TESTGEN] [PYTHON]
# Defaults: the .vsix of ci.sh, target/release/testgen, .venv-test's python.
# editors/vscode/ci.sh runs it after packaging (CI runs ci.sh after cargo
# test, which builds target/release/testgen).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../../.." && pwd)"
vsix="${1:-$here/../testgen-$(node -p "require('$here/../package.json').version").vsix}"
bin="${2:-$repo/target/release/testgen}"
python="${3:-$repo/.venv-test/bin/python}"
for f in "$vsix" "$bin" "$python"; do
  [ -e "$f" ] || { echo "smoke: $f does not exist (build it first: ci.sh, cargo build --release, tests/setup.sh)" >&2; exit 2; }
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# Python's zipfile: a fresh CI machine need not have unzip.
python3 -c 'import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])' "$vsix" "$work/vsix"
cp -r "$repo/tests/fixtures/plainlib" "$work/proj"
printf 'def test_bad():\n    assert 1 == 2\n' > "$work/proj/tests/test_fail.py"
timeout 300 node "$here/drive.js" "$work/vsix/extension" "$work/proj" "$bin" "$python" 2> "$work/stderr.log" || {
  rc=$?
  echo "--- extension output and messages (stderr) ---"
  cat "$work/stderr.log"
  exit $rc
}
