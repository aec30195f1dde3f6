#!/usr/bin/env bash
# A FastAPI application written by others, the real application of issue
# 20's FastAPI benchmark, assembled from FastAPI's own documentation as
# FastAPI ships it in its sdist on PyPI (docs_src/, MIT, Copyright Sebastián
# Ramírez): the "Bigger Applications - Multiple Files" tutorial (`app/`:
# routers included into app/main.py, router- and app-level dependencies
# comparing a header and a query value against constants, an internal admin
# router) and the "SQL (Relational) Databases" tutorial
# (sql_databases/tutorial002.py, placed as app/heroes.py: a second module
# with its own `app = FastAPI()`, SQLModel on an SQLite file created on
# startup, a session dependency). Fetched, not committed, so the code stays
# the FastAPI project's. The requirements.txt is ours: what its imports need.
#   bash tests/fetch_fastapi_app.sh DEST     (idempotent)
set -euo pipefail
DEST="$1"
VERSION=0.115.6
[ -f "$DEST/app/heroes.py" ] && exit 0
PY="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PY" -m pip download --quiet --disable-pip-version-check --no-deps --no-binary :all: \
    -d "$tmp" "fastapi==$VERSION"
tar xzf "$tmp/fastapi-$VERSION.tar.gz" -C "$tmp"
docs="$tmp/fastapi-$VERSION/docs_src"
rm -rf "$DEST"
mkdir -p "$DEST"
cp -r "$docs/bigger_applications/app" "$DEST/app"
cp "$docs/sql_databases/tutorial002.py" "$DEST/app/heroes.py"
cat >"$DEST/requirements.txt" <<'REQ'
fastapi
sqlmodel
httpx
REQ
