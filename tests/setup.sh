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
# The SARIF 2.1.0 schema, from the npm package of Microsoft's SARIF matchers
# (the registries are the only network CI has).
schema="$VENV/share/sarif-schema-2.1.0.json"
if [ ! -s "$schema" ]; then
    tmp="$(mktemp -d)"
    (cd "$tmp" && npm pack --silent @microsoft/jest-sarif@1.0.0-beta.0 >/dev/null && tar xzf ./*.tgz)
    mkdir -p "$(dirname "$schema")"
    cp "$tmp/package/lib/schemas/sarif-2.1.0-rtm.5.json" "$schema"
    rm -rf "$tmp"
fi
# Flask's tutorial app, a real application written by others (webapps_e2e).
bash tests/fetch_flaskr.sh "$VENV/share/flaskr"
# FastAPI's documentation app (routers, two applications, SQLModel): webapps_e2e.
bash tests/fetch_fastapi_app.sh "$VENV/share/fastapi_app"
# A real headless browser for report.html (server/tests/pipeline_e2e.rs).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "tests/setup.sh: installing Debian's chromium"
        apt-get install -y -q chromium >/dev/null 2>&1 \
            || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; }
    else
        echo "tests/setup.sh: chromium is missing; install Debian's chromium package (apt-get install chromium)" >&2
        exit 1
    fi
fi
echo "tests/setup.sh: $VENV ready ($("$VENV/bin/python" -m pytest --version 2>&1))"
