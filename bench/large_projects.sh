#!/usr/bin/env bash
# Issue 24's benchmark: `testgen run --setup` with the default limits
# (GENERATION_TIMEOUT 600 s, 3 rounds, budget 30 s per target) on a large
# pure-Python library with its own tests removed (the tests/__init__.py
# files stay, so the package still installs), as a new user on a 2-core CI
# runner would run it. Records wall time, peak memory (GNU time), the
# timestamped progress lines (the coverage-over-time curve), the report.
#
# Usage: bash bench/large_projects.sh [LIB==VERSION]   (default networkx==3.4.2)
# Env:   SHARD=K/N runs one shard instead (then `testgen merge` the shards),
#        OUT=dir keeps the run's files (default bench/.cache/large/<lib>-<shard>).
set -euo pipefail
cd "$(dirname "$0")/.."
LIB="${1:-networkx==3.4.2}"
name="${LIB%%==*}"
TG="${TG:-$PWD/target/release/testgen}"
CACHE=bench/.cache/large
mkdir -p "$CACHE"
if [ ! -d "$CACHE/$name-src" ]; then
    python3 -m pip download --quiet --no-deps --no-binary :all: -d "$CACHE/dl" "$LIB"
    mkdir -p "$CACHE/$name-src"
    tar xzf "$CACHE"/dl/"$name"-*.tar.gz -C "$CACHE/$name-src" --strip-components=1
    # Own tests removed; package markers kept (setuptools lists them).
    find "$CACHE/$name-src" -path '*/tests/*' -name '*.py' ! -name '__init__.py' -delete
fi
tag="${SHARD:-all}"
tag="${tag//\//of}"
OUT="${OUT:-$CACHE/$name-$tag}"
rm -rf "$OUT"
cp -r "$CACHE/$name-src" "$OUT"
shard_args=()
[ -n "${SHARD:-}" ] && shard_args=(--shard "$SHARD")
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)" >"$OUT.log"
start=$(date +%s)
set +e
CI=1 /usr/bin/time -v "$TG" run "$OUT" --setup --engine explore "${shard_args[@]}" \
    >"$OUT.stdout" 2>>"$OUT.log"
code=$?
set -e
end=$(date +%s)
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)" >>"$OUT.log"
python3 - "$OUT" "$code" "$((end - start))" "$OUT.log" <<'PY'
import json, re, sys
out, code, wall, log = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
r = json.load(open(f"{out}/.testgen/iteration_report.json"))
text = open(log).read()
peak = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
kept = sum(x["tests_written"] for x in r["rounds"])
gen_s = sum(x["duration_s"] for x in r["rounds"])
not_tried = sum(1 for g in r["remaining_gaps"] if (g.get("reason") or "").startswith(("not tried", "interrupted")))
print(f"exit {code}; wall {wall} s; peak RSS of testgen {int(peak.group(1)) // 1024 if peak else '?'} MB")
print(f"coverage {r['coverage_before']['line_percent']:.2f}% -> {r['coverage_after']['line_percent']:.2f}%; "
      f"tests kept {kept}; generation {gen_s:.0f} s ({60 * kept / max(gen_s, 1):.1f} tests/min); "
      f"final run failed {r['final_tests']['failed']}; stop {r['stop']}; functions not tried {not_tried}")
print("progress (the curve):")
for line in text.splitlines():
    if "targets tried" in line or "round " in line and "coverage" in line:
        print("  " + line)
PY
