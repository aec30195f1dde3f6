#!/usr/bin/env bash
# Issue 2's benchmarks, all in one run (figures: docs/performance.md):
#   a. `testgen index <Django> --json` vs bench/py_analyzer.py (Python's ast), target >= 25x
#   b. re-index of one 1,000-line file through the index store,   target p50 < 2 ms
#   c. Cobertura parsing of a ~13 MB coverage.xml vs ElementTree,   target >= 10x
#   d. `testgen index <CPython's Lib> --json`,                      target < 2 s
# With --lsp, also issue 4's language-server bench (cargo bench --bench lsp).
#
# Usage: bash bench/bench.sh [--lsp]
# Env:   DJANGO_SRC (else Django 5.1.4's sdist, downloaded once into
#        target/bench-cache/), PYTHON (default python3), RUNS (default 10).
# Output: the figures on stdout, hyperfine's JSON and a summary under
# target/bench-results/.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
RUNS="${RUNS:-10}"
OUT=target/bench-results
mkdir -p "$OUT"
with_lsp=0
[ "${1:-}" = "--lsp" ] && with_lsp=1

DJANGO="$(bash bench/fetch_django.sh)"
STDLIB="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
cargo build --release --quiet
TG=target/release/testgen

echo "== machine: $(nproc) cores, $(uname -sr), load average now: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $("$PY" --version), $($TG --version 2>/dev/null || echo testgen), corpus $DJANGO"

# Same extraction on both sides before timing: equal counts.
"$TG" index "$DJANGO" --json > "$OUT/index-testgen.json"
"$PY" bench/py_analyzer.py "$DJANGO" > "$OUT/index-python.json"
"$PY" - "$OUT/index-testgen.json" "$OUT/index-python.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ["files", "functions", "classes", "imports", "routes", "django", "parse_errors"]
count = lambda d, k: d[k] if isinstance(d[k], int) else len(d[k])
print("== extracted (testgen / python):",
      ", ".join(f"{k} {count(a, k)}/{count(b, k)}" for k in keys))
fa = {(f["path"], f["qualname"], f["line"], f["end_line"]) for f in a["functions"]}
fb = {(f["path"], f["qualname"], f["line"], f["end_line"]) for f in b["functions"]}
print(f"== functions (path, qualname, line, end_line) in both: {len(fa & fb)} of {len(fa | fb)}")
EOF

median() { # hyperfine JSON, command index -> median seconds
    "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["median"])' "$1" "$2"
}

if command -v hyperfine > /dev/null; then
    echo "== a. index Django: testgen vs Python ast ($RUNS runs each, hyperfine)"
    hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT/index-django.json" \
        -n "testgen" "$TG index $DJANGO --json" \
        -n "testgen (1 rayon thread)" "env RAYON_NUM_THREADS=1 $TG index $DJANGO --json" \
        -n "python ast" "$PY bench/py_analyzer.py $DJANGO"
    echo "== d. index CPython's Lib ($STDLIB)"
    hyperfine -N --warmup 1 --runs "$RUNS" --export-json "$OUT/index-cpython.json" \
        -n "testgen" "$TG index $STDLIB --json"
    tg=$(median "$OUT/index-django.json" 0)
    tg1=$(median "$OUT/index-django.json" 1)
    py=$(median "$OUT/index-django.json" 2)
    cpy=$(median "$OUT/index-cpython.json" 0)
    # CPU time (user + system, means): less sensitive to other load than
    # wall time, but blind to testgen's use of both cores.
    cpu_ratio=$("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; c=[x["user"]+x["system"] for x in r]; print(f"{c[2]/c[0]:.1f}x ({c[0]*1e3:.0f} ms vs {c[2]*1e3:.0f} ms)")' "$OUT/index-django.json")
else
    # No hyperfine: interleaved runs, medians.
    echo "== a/d. hyperfine not installed; $RUNS interleaved runs, medians"
    cpu_ratio="n/a (no hyperfine)"
    read -r tg tg1 py cpy < <("$PY" - "$RUNS" "$TG" "$DJANGO" "$STDLIB" "$PY" <<'EOF'
import os, statistics, subprocess, sys, time
runs, tg, dj, stdlib, py = int(sys.argv[1]), *sys.argv[2:]
cmds = [[tg, "index", dj, "--json"], ["env", "RAYON_NUM_THREADS=1", tg, "index", dj, "--json"],
        [py, "bench/py_analyzer.py", dj], [tg, "index", stdlib, "--json"]]
times = [[] for _ in cmds]
for r in range(runs + 1):
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, check=True)
        if r:  # the first round warms the caches
            times[i].append(time.perf_counter() - t)
print(*(statistics.median(t) for t in times))
EOF
    )
fi

echo "== b. re-index one 1,000-line file (cargo bench --bench reindex)"
cargo bench --quiet --bench reindex 2>/dev/null | tee "$OUT/reindex.txt"
echo "== c. Cobertura: testgen vs ElementTree (cargo bench --bench cobertura)"
PYTHON="$PY" cargo bench --quiet --bench cobertura 2>/dev/null | tee "$OUT/cobertura.txt"
if [ "$with_lsp" = 1 ]; then
    echo "== issue 4: language server (cargo bench --bench lsp)"
    cargo bench --quiet --bench lsp 2>/dev/null | tee "$OUT/lsp.txt"
fi

"$PY" - "$tg" "$tg1" "$py" "$cpy" "$OUT" "$cpu_ratio" <<'EOF' | tee "$OUT/summary.txt"
import re, sys
tg, tg1, py, cpy = map(float, sys.argv[1:5])
out, cpu_ratio = sys.argv[5], sys.argv[6]
def grab(file, pattern):
    m = re.search(pattern, open(f"{out}/{file}").read())
    return float(m.group(1))
re_p50 = grab("reindex.txt", r"reindex_django_options_py n=\d+ p50_ms=([\d.]+)")
re_syn = grab("reindex.txt", r"reindex_synthetic_1000_lines n=\d+ p50_ms=([\d.]+)")
cob = grab("cobertura.txt", r"cobertura_ratio=([\d.]+)")
rows = [
    ("a. index Django, testgen vs Python ast", f"{py / tg:.1f}x ({tg*1e3:.0f} ms vs {py*1e3:.0f} ms; 1 thread: {py / tg1:.1f}x)", ">= 25x", py / tg >= 25),
    ("   same, CPU time (user + system)", cpu_ratio, "", True),
    ("b. re-index 1,000-line file, p50", f"{re_p50:.2f} ms (options.py), {re_syn:.2f} ms (synthetic)", "< 2 ms", max(re_p50, re_syn) < 2),
    ("c. Cobertura vs ElementTree", f"{cob:.1f}x", ">= 10x", cob >= 10),
    ("d. index CPython's Lib", f"{cpy*1e3:.0f} ms", "< 2 s", cpy < 2),
]
print("== summary (medians)")
for name, got, target, ok in rows:
    if not target:
        print(f"{name:42} {got}")
        continue
    print(f"{name:42} {got:50} target {target:8} {'met' if ok else 'NOT MET'}")
EOF
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
