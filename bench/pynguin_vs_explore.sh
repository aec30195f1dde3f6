#!/usr/bin/env bash
# Issue 5 benchmark: testgen's offline `explore` engine against Pynguin 0.48.0,
# per fixture (plainlib, flaskapp, fastapiapp), in one run.
#
#   bash bench/pynguin_vs_explore.sh [--fixtures plainlib,flaskapp,fastapiapp]
#        [--engines pynguin,explore] [--search-time 60] [--seed 1]
#
# Prepares, then hands over to bench/pynguin_vs_explore.py (which documents
# the measurement):
#   - .venv-test (tests/setup.sh): the interpreter that runs every test suite
#     under coverage.py, and the one `testgen generate --python` uses;
#   - Pynguin 0.48.0 from PyPI in its own venv, target/bench-cache/pynguin-venv
#     (created on first use, reused after), with the fixtures' dependencies.
#     Pynguin 0.48 requires Python >=3.10,<3.16; PYNGUIN_PYTHON overrides the
#     interpreter (default python3);
#   - target/release/testgen (cargo build --release; SKIP_BUILD=1 skips it).
# Prints markdown tables; everything it made (copies, Pynguin's tests and
# logs, results.json) stays under target/bench-cache/pynguin_vs_explore/.
# Nothing of Pynguin is committed: this script installs it.
set -euo pipefail
cd "$(dirname "$0")/.."

PYNGUIN_VERSION=0.48.0
CACHE=target/bench-cache
VENV="$CACHE/pynguin-venv"
PY="${PYNGUIN_PYTHON:-python3}"

say() { echo "[bench] $*" >&2; }

bash tests/setup.sh >&2

# Fixture dependencies, from their requirements.txt / pyproject.toml.
deps=$(python3 bench/pynguin_vs_explore.py --print-deps)
wanted=$(printf 'pynguin==%s\ncoverage>=7.6\npytest-cov>=5\n%s\n' "$PYNGUIN_VERSION" "$deps")
if [ ! -x "$VENV/bin/pynguin" ] || [ "$(cat "$VENV/.bench-stamp" 2>/dev/null)" != "$wanted" ]; then
    if ! "$PY" -c 'import sys; sys.exit(not ((3, 10) <= sys.version_info[:2] < (3, 16)))'; then
        say "Pynguin $PYNGUIN_VERSION needs Python 3.10-3.15; $PY is $("$PY" --version 2>&1). Set PYNGUIN_PYTHON."
        exit 2
    fi
    [ -x "$VENV/bin/python" ] || { say "creating $VENV with $("$PY" --version)"; "$PY" -m venv "$VENV"; }
    say "installing pynguin==$PYNGUIN_VERSION and the fixtures' dependencies into $VENV"
    # shellcheck disable=SC2086
    printf '%s\n' "$wanted" | grep -v '^$' > "$VENV/requirements.txt"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$VENV/requirements.txt" >&2
    printf '%s' "$wanted" > "$VENV/.bench-stamp"
fi
say "$(PYNGUIN_DANGER_AWARE=1 "$VENV/bin/pynguin" --version 2>/dev/null) in $VENV ($("$VENV/bin/python" --version))"

if [ "${SKIP_BUILD:-0}" != 1 ]; then
    say "cargo build --release"
    cargo build --release --quiet >&2 || say "cargo build failed; the explore column will say why"
fi

exec python3 bench/pynguin_vs_explore.py "$@"
