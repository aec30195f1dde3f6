#!/usr/bin/env bash
# Flask's tutorial app (flaskr), the real application of
# server/tests/webapps_e2e.rs, as Flask ships it in its sdist on PyPI
# (examples/tutorial, BSD-3-Clause, Copyright Pallets): fetched, not
# committed, so the code stays the Flask project's. Its tests are left out:
# the user of the benchmark has none.
#   bash tests/fetch_flaskr.sh DEST     (idempotent)
set -euo pipefail
DEST="$1"
VERSION=3.1.0
[ -f "$DEST/flaskr/__init__.py" ] && exit 0
PY="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp" "flask==$VERSION"
tar xzf "$tmp/flask-$VERSION.tar.gz" -C "$tmp"
src="$tmp/flask-$VERSION/examples/tutorial"
rm -rf "$src/tests" "$src/.gitignore"
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
cp -r "$src" "$DEST"
