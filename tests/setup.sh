#!/usr/bin/env bash
# Installs what the test suite needs beyond Rust: a Python venv with pytest,
# coverage.py and the web frameworks the fixture projects use. Idempotent: a
# venv whose requirements are already satisfied is left as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=".venv-test"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "tests/setup.sh: creating $VENV with $($PY --version)"
    "$PY" -m venv "$VENV"
fi
stamp="$VENV/.requirements.stamp"
if ! cmp -s tests/requirements.txt "$stamp" 2>/dev/null; then
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/requirements.txt
    cp tests/requirements.txt "$stamp"
fi
echo "tests/setup.sh: $VENV ready ($("$VENV/bin/python" -m pytest --version 2>&1))"
