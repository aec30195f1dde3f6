#!/usr/bin/env bash
# Issue 14's benchmark: `testgen run --engine explore` on a real PyPI library
# with its own tests removed, unsharded and split into N = 2 and 4 shards
# (each shard run one after the other on this machine, as N CI jobs would
# run side by side), then `testgen merge`. Reports wall time, per-shard
# time, merge time and the coverage each reaches (figures:
# docs/performance.md).
#
# Usage: bash bench/shards.sh            (humanize 4.9.0 from PyPI)
# Env:   LIB=name==version, BUDGET (explore budget per target, default 3).
# The project's environment (.venv, --setup) is made before timing starts.
set -euo pipefail
cd "$(dirname "$0")/.."
LIB="${LIB:-humanize==4.9.0}"
BUDGET="${BUDGET:-3}"
CACHE=bench/.cache/shards
TG="$PWD/target/release/testgen"
cargo build --release --quiet
mkdir -p "$CACHE"
name="${LIB%%==*}"
if [ ! -d "$CACHE/src" ]; then
    python3 -m pip download --quiet --no-deps --no-binary :all: -d "$CACHE/dl" "$LIB"
    mkdir -p "$CACHE/src"
    tar xzf "$CACHE"/dl/*.tar.gz -C "$CACHE/src" --strip-components=1
    # The library's own tests go: the run starts from none, as a new user's would.
    rm -rf "$CACHE/src/tests" "$CACHE/src/test" "$CACHE/src/docs"
fi
fresh() { # fresh copy with its environment ready (not timed)
    rm -rf "$1"
    cp -r "$CACHE/src" "$1"
    "$TG" test "$1" --setup >/dev/null 2>&1 || true
}
now() { date +%s.%N; }
since() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$1" "$(now)"; }
cov() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(r['coverage_after']['line_percent'], sum(len(f['tests']) for f in r['generated']))" "$1/.testgen/iteration_report.json"; }

work="$CACHE/work"
mkdir -p "$work"
echo "== $LIB ($(find "$CACHE/src" -name '*.py' -not -path '*/.venv/*' | xargs cat | wc -l) lines of Python), explore budget ${BUDGET}s/target, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| shards | per-shard wall time (s) | merge (s) | slowest shard + merge (s) | coverage after | tests |"
echo "|---|---|---|---|---|---|"
fresh "$work/one"
t=$(now)
"$TG" run "$work/one" --engine explore --budget-s "$BUDGET" >/dev/null 2>&1 || true
one=$(since "$t")
read -r c n <<<"$(cov "$work/one")"
echo "| 1 | $one | — | $one | $c% | $n |"
for N in 2 4; do
    times=()
    dirs=()
    for K in $(seq 1 "$N"); do
        d="$work/s$N-$K"
        fresh "$d"
        t=$(now)
        "$TG" run "$d" --engine explore --budget-s "$BUDGET" --shard "$K/$N" >/dev/null 2>&1 || true
        times+=("$(since "$t")")
        dirs+=("$d/.testgen")
    done
    fresh "$work/m$N"
    t=$(now)
    "$TG" merge "$work/m$N" "${dirs[@]}" >/dev/null 2>&1 || true  # exit 1: a failed gate is a result here
    m=$(since "$t")
    slowest=$(printf '%s\n' "${times[@]}" | sort -n | tail -1)
    total=$(python3 -c "print(f'{$slowest + $m:.1f}')")
    read -r c n <<<"$(cov "$work/m$N")"
    echo "| $N | ${times[*]} | $m | $total | $c% | $n |"
done
