#!/usr/bin/env bash
# What the OS sandbox costs: `testgen generate` on fresh copies of
# tests/fixtures/plainlib, RUNS times each with the kernel part off
# (TESTGEN_SANDBOX=off: in-process guard and rlimits only) and on
# (Landlock, seccomp, network namespace), and optionally with an older
# binary (BEFORE) for the cost of everything this issue added. Prints the
# median wall time of each and the ratio (docs/performance.md).
#   bash bench/sandbox_overhead.sh target/release/testgen [RUNS] [BEFORE]
set -euo pipefail
BIN=$(realpath "$1")
RUNS=${2:-5}
BEFORE=${3:-}
cd "$(dirname "$0")/.."
PY="$(pwd)/.venv-test/bin/python"

one() { # BIN [env...] -> seconds
  local bin=$1; shift
  local work; work=$(mktemp -d)
  cp -r tests/fixtures/plainlib "$work/p"
  local t0 t1
  t0=$(date +%s.%N)
  env "$@" "$bin" generate "$work/p" --json --python "$PY" >"$work/out.json" 2>/dev/null
  t1=$(date +%s.%N)
  python3 -c "import json,sys; r=json.load(open(sys.argv[1])); assert r['tests_written'] > 0" "$work/out.json"
  rm -rf "$work"
  echo "$t1 - $t0" | bc
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

declare -A med
for mode in off on; do
  times=()
  for _ in $(seq "$RUNS"); do
    if [ "$mode" = off ]; then times+=("$(one "$BIN" TESTGEN_SANDBOX=off)"); else times+=("$(one "$BIN" TESTGEN_SANDBOX=on)"); fi
  done
  med[$mode]=$(printf '%s\n' "${times[@]}" | median)
  echo "sandbox $mode: median ${med[$mode]} s over $RUNS runs (${times[*]})"
done
if [ -n "$BEFORE" ]; then
  times=()
  for _ in $(seq "$RUNS"); do times+=("$(one "$(realpath "$BEFORE")" X=1)"); done
  med[before]=$(printf '%s\n' "${times[@]}" | median)
  echo "before: median ${med[before]} s over $RUNS runs (${times[*]})"
fi
python3 -c "import sys; off, on = map(float, sys.argv[1:3]); print('kernel sandbox: %+.1f%% wall time' % ((on / off - 1) * 100))" "${med[off]}" "${med[on]}"
if [ -n "$BEFORE" ]; then
  python3 -c "import sys; b, on = map(float, sys.argv[1:3]); print('against BEFORE: %+.1f%% wall time' % ((on / b - 1) * 100))" "${med[before]}" "${med[on]}"
fi
