#!/usr/bin/env bash
# Prints the path of Django 5.1.4's source tree, the benchmarks' corpus:
# $DJANGO_SRC when set, else the sdist from PyPI, downloaded and unpacked once
# into target/bench-cache/ (shared by bench/bench.sh and server/benches/*.rs).
set -euo pipefail
if [ -n "${DJANGO_SRC:-}" ]; then
    echo "$DJANGO_SRC"
    exit 0
fi
cache="$(cd "$(dirname "$0")/.." && pwd)/target/bench-cache"
dir="$cache/Django-5.1.4"
if [ ! -d "$dir" ]; then
    mkdir -p "$cache"
    python3 -m pip download -q --no-deps --no-binary :all: django==5.1.4 -d "$cache" >&2
    tar xzf "$cache/Django-5.1.4.tar.gz" -C "$cache"
fi
echo "$dir"
