#!/usr/bin/env bash
# Installs testgen from the action's own checkout ($GITHUB_ACTION_PATH)
# into ROOT (restored by actions/cache when this checkout was built before)
# and puts ROOT/bin on the PATH of the later steps. cargo honours
# CARGO_TARGET_DIR, CARGO_HOME and RUSTUP_HOME as everywhere.
set -euo pipefail
root="$1"
if [ ! -x "$root/bin/testgen" ]; then
  if ! command -v cargo >/dev/null; then
    echo "::error::testgen is built from source and this runner has no Rust: add a step 'uses: dtolnay/rust-toolchain@stable' before testgen"
    exit 1
  fi
  # From the checkout's directory, so a rust-toolchain file there applies.
  cd "$GITHUB_ACTION_PATH"
  cargo install --locked --path server --root "$root"
fi
echo "$root/bin" >> "$GITHUB_PATH"
"$root/bin/testgen" --version
