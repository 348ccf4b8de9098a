#!/usr/bin/env bash
# `npm test`: installs what is missing, then runs every suite — host unit and
# reference tests, both release builds, the wasm-bindgen tests of the web
# layer in node, and the JS and end-to-end tests against `wrangler dev` —
# and ends with one summary line of the counts.
set -euo pipefail
cd "$(dirname "$0")/.."
HEADSTART_NEED_CHROMIUM=1 bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false

log=$(mktemp)
trap 'rm -f "$log"' EXIT
step() { printf '\n\033[1;34m[test]\033[0m %s\n' "$*" >&2; }
run() { "$@" 2>&1 | tee -a "$log"; return "${PIPESTATUS[0]}"; }

step "cargo test (host: protocol core, reference comparisons)"
run cargo test --locked

step "the fuzz targets still compile (npm run fuzz runs them)"
CARGO_TARGET_DIR=target/fuzz-check run cargo check --locked --manifest-path fuzz/Cargo.toml --bins

step "release builds"
bash scripts/build-worker.sh
bash scripts/build-pkg.sh

step "wasm-bindgen tests of the web layer (node, then headless Chromium)"
run cargo test --locked --target wasm32-unknown-unknown --no-default-features --test web
CHROMEDRIVER="$(command -v chromedriver)" WASM_BINDGEN_USE_BROWSER=1 \
  run cargo test --locked --target wasm32-unknown-unknown --no-default-features --test web

step "JS package and end-to-end tests (node, wrangler dev)"
run node --test --test-concurrency=1 tests/js/*.test.mjs tests/e2e/*.test.mjs

awk '
  /^test result: / { for (i = 1; i <= NF; i++) { if ($i ~ /^passed/) p += $(i-1); if ($i ~ /^failed/) f += $(i-1) } }
  /^# pass [0-9]+$/ { p += $3 }
  /^# fail [0-9]+$/ { f += $3 }
  END { printf "\nall suites: %d passed, %d failed\n", p, f }
' "$log"
