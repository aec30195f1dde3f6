#!/usr/bin/env bash
# Runs the end-to-end tests of the hostile-project issue ("Safe on any
# project") against another testgen build and prints, per test, whether it
# passes: the evidence that each test fails before the change it checks.
# The tests take the binary from TESTGEN_BIN (server/tests/common).
#   cargo build --release --tests
#   bash tests/against_build.sh /path/to/old/testgen [TEST_BINARY_NAME...]
set -uo pipefail
BIN=$(realpath "$1"); shift
cd "$(dirname "$0")/.."
names=("$@")
[ ${#names[@]} -eq 0 ] && names=(sandbox_e2e process_safety hostile_input lsp_hostile)
for name in "${names[@]}"; do
  exe=$(ls -t target/release/deps/"$name"-* 2>/dev/null | grep -v '\.d$' | head -1)
  [ -n "$exe" ] || { echo "no test binary for $name: run cargo build --release --tests" >&2; exit 2; }
  filter=()
  for t in $("$exe" --list --format terse "${filter[@]}" 2>/dev/null | sed -n 's/: test$//p'); do
    if TESTGEN_BIN="$BIN" timeout -k 10 600 "$exe" --exact "$t" >/tmp/against_build.$$.log 2>&1; then
      echo "PASS $name::$t"
    else
      why=$(grep -m1 -E "panicked at|assertion" -A2 /tmp/against_build.$$.log | tr '\n' ' ' | cut -c1-220)
      echo "FAIL $name::$t  $why"
    fi
  done
done
rm -f /tmp/against_build.$$.log
