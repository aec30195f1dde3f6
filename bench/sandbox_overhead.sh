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

# Interleaved (one run of each variant per round, the order rotated each
# round) so that the machine's load drifting affects every variant alike.
variants=(off on)
[ -n "$BEFORE" ] && variants+=(before)
declare -A times med
for i in $(seq "$RUNS"); do
  n=${#variants[@]}
  for j in $(seq 0 $((n - 1))); do
    v=${variants[$(((i + j) % n))]}
    case $v in
      off) t=$(one "$BIN" TESTGEN_SANDBOX=off) ;;
      on) t=$(one "$BIN" TESTGEN_SANDBOX=on) ;;
      before) t=$(one "$(realpath "$BEFORE")" X=1) ;;
    esac
    times[$v]="${times[$v]:-} $t"
  done
done
for v in "${variants[@]}"; do
  med[$v]=$(printf '%s\n' ${times[$v]} | median)
  echo "$v: median ${med[$v]} s over $RUNS runs (${times[$v]# })"
done
ratio() { python3 -c "import sys; a, b = map(float, sys.argv[2:4]); print('%s: %+.1f%% wall time' % (sys.argv[1], (b / a - 1) * 100))" "$@"; }
ratio "kernel sandbox (on against off)" "${med[off]}" "${med[on]}"
if [ -n "$BEFORE" ]; then
  ratio "this build, sandbox on, against BEFORE" "${med[before]}" "${med[on]}"
fi
