#!/usr/bin/env bash
# Prints `id=...` to $GITHUB_OUTPUT: what identifies the testgen build of
# the action's checkout, for the cache key. A checkout with .git (a local
# `uses: ./`) gives its commit; the tarball the runner downloads for
# `uses: OWNER/testgen@REF` has no .git, so the commit is stood in for by
# the hash of what the build reads (same sources, same binary).
set -euo pipefail
cd "$GITHUB_ACTION_PATH"
id=""
if git rev-parse --is-inside-work-tree >/dev/null 2>&1 \
   && [ "$(git rev-parse --show-toplevel)" = "$(pwd -P)" ] \
   && git diff --quiet HEAD -- server Cargo.toml Cargo.lock prompts 2>/dev/null; then
  id=$(git rev-parse HEAD)
fi
if [ -z "$id" ]; then
  id=$(find server Cargo.toml Cargo.lock prompts -type f -not -path '*/__pycache__/*' -print0 \
       | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-40)
fi
echo "testgen checkout: $id"
echo "id=$id" >> "$GITHUB_OUTPUT"
