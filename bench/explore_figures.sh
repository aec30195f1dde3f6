#!/usr/bin/env bash
# The explore engine's figures on the fixtures, to compare two builds (the
# sandbox must not cost coverage): runs `testgen generate` on fresh copies
# of the explore fixtures (tests/fixtures/, or the ones named) and keeps each
# report and the generated files under OUT.
#   bash bench/explore_figures.sh target/release/testgen /tmp/figures-after [FIXTURE...]
set -euo pipefail
BIN=$(realpath "$1")
OUT=$2
shift 2
fixtures=("$@")
[ ${#fixtures[@]} -eq 0 ] && fixtures=(plainlib flaskapp fastapiapp djangoapp statelib webbodies_flask webbodies_fastapi webbodies_django)
cd "$(dirname "$0")/.."
PY="$(pwd)/.venv-test/bin/python"
mkdir -p "$OUT"
for f in "${fixtures[@]}"; do
  work=$(mktemp -d)
  cp -r "tests/fixtures/$f" "$work/$f"
  "$BIN" generate "$work/$f" --json --python "$PY" >"$OUT/$f.json" 2>"$OUT/$f.log" || echo "$f: exit $?"
  rm -rf "$OUT/$f.generated"
  cp -r "$work/$f/tests/generated" "$OUT/$f.generated" 2>/dev/null || mkdir -p "$OUT/$f.generated"
  python3 - "$OUT/$f.json" "$f" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
b, a = r["coverage_before"]["line_percent"], (r.get("coverage_after") or {}).get("line_percent")
print("%-10s tests %3d  skipped %3d  dropped %3d  coverage %.2f%% -> %s  %.1f s" % (
    sys.argv[2], r["tests_written"], len(r["skipped"]), len(r["dropped"]), b,
    "%.2f%%" % a if a is not None else "-", r["duration_s"]))
PY
  rm -rf "$work"
done
