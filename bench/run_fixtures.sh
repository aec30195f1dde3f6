#!/usr/bin/env bash
# Issue 14's acceptance on every project fixture, as a new user would run
# it: `testgen run --setup --engine explore` on a fresh copy (it makes the
# project's own .venv and installs its dependencies from PyPI), then checks
# that every artifact is there and that a second run is "no generation
# needed". Prints one table row per fixture (docs/performance.md).
#   bash bench/run_fixtures.sh [FIXTURE...]
# Env: BUDGET (explore budget per target, default 3).
set -uo pipefail
cd "$(dirname "$0")/.."
TG="$PWD/target/release/testgen"
BUDGET="${BUDGET:-3}"
ARTIFACTS="coverage.xml htmlcov/index.html test-results.xml analysis.json coverage_gaps.json iteration_report.json auto_fixer_report.json manual_test_result.json summary.md report.html testgen.sarif"
fixtures=("$@")
[ ${#fixtures[@]} -eq 0 ] && fixtures=(plainlib flaskapp fastapiapp djangoapp fullstack metapkg notests_lib notests_fastapi regions statelib webbodies_flask webbodies_fastapi webbodies_django)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$1" "$(now)"; }
echo "| fixture | before | after | rounds | wall time (with --setup) | exit | artifacts | second run |"
echo "|---|---|---|---|---|---|---|---|"
for f in "${fixtures[@]}"; do
  p="$work/$f"
  cp -r "tests/fixtures/$f" "$p"
  rm -rf "$p/.venv" "$p/.testgen" "$p/tests/generated"
  t0=$(now)
  "$TG" run "$p" --setup --engine explore --budget-s "$BUDGET" --format sarif >"$work/$f.out" 2>"$work/$f.err"
  code=$?
  wall=$(since "$t0")
  missing=""
  for a in $ARTIFACTS; do [ -e "$p/.testgen/$a" ] || missing="$missing $a"; done
  figures=$(python3 - "$p/.testgen/iteration_report.json" <<'PY' 2>/dev/null || echo "? | ? | ?"
import json, sys
r = json.load(open(sys.argv[1]))
rounds = r.get("rounds", [])
stop = r.get("stop", "")
stop = stop.get("reason", stop) if isinstance(stop, dict) else stop
print(f"{r['coverage_before']['line_percent']:.2f}% | {r['coverage_after']['line_percent']:.2f}% | {len(rounds)} ({stop})")
PY
)
  "$TG" run "$p" --engine explore --budget-s "$BUDGET" >"$work/$f.out2" 2>&1
  code2=$?
  if grep -q "no generation needed" "$work/$f.out2" && [ $code2 -eq 0 ]; then second="no-op, exit 0"; else second="exit $code2: $(tail -1 "$work/$f.out2" | cut -c1-80)"; fi
  [ $code -ne 0 ] && tail -3 "$work/$f.err" | sed "s/^/    $f: /" >&2
  echo "| $f | $figures | ${wall} s | $code | ${missing:-all}${missing:+ missing} | $second |"
done
