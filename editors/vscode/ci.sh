#!/usr/bin/env bash
# The VS Code extension from a clean checkout: install exactly the locked
# dependencies, lint, type-check and bundle, run the unit tests, package,
# then drive the packaged extension against the real server (smoke/).
# Prints the path of the .vsix last.
set -euo pipefail
cd "$(dirname "$0")"
start=$(date +%s)

npm ci --no-audit --no-fund
npm run lint
npm run compile
npm test
npm run package

vsix="$PWD/testgen-$(node -p "require('./package.json').version").vsix"
if [ ! -f "$vsix" ]; then
  echo "ci.sh: vsce reported success but $vsix is missing" >&2
  exit 1
fi
# The bundle must carry the language client: the .vsix has no node_modules.
# (Python's zipfile: a fresh CI machine need not have unzip.)
if ! python3 -c 'import sys, zipfile; sys.exit(b"workspace/executeCommand" not in zipfile.ZipFile(sys.argv[1]).read("extension/dist/extension.js"))' "$vsix"; then
  echo "ci.sh: extension/dist/extension.js in $vsix does not contain vscode-languageclient" >&2
  exit 1
fi
# The packaged bundle against the real server (target/release/testgen, which
# `cargo test --release` built before this script in CI), under node with
# only the `vscode` module replaced (smoke/fake-vscode.js): diagnostics,
# lenses, Generate with the file on disk, coverageChanged and FileCoverage.
bash smoke/run.sh "$vsix"
echo "ci.sh: done in $(( $(date +%s) - start )) s"
echo "$vsix"
