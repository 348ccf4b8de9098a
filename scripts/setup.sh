#!/usr/bin/env bash
# Installs everything the build and the tests need, pinned, from the Rust and
# npm registries (and Debian for Chromium). Each step skips itself when the
# pinned version is already present, so a warm machine pays nothing and a
# brand-new one gets the same tools.
set -euo pipefail
cd "$(dirname "$0")/.."

WORKER_BUILD_VERSION=0.8.7
WASM_BINDGEN_VERSION=0.2.130
S2_LITE_VERSION=0.43.4

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*" >&2; }

export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v cargo >/dev/null; then
  echo "cargo not found: install Rust with rustup first" >&2
  exit 1
fi

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  log "rustup target add wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown
fi

installed() { cargo install --list | grep -q "^$1 v$2:"; }

if ! installed worker-build "$WORKER_BUILD_VERSION"; then
  log "cargo install worker-build $WORKER_BUILD_VERSION"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked
fi

# --locked breaks this build (see shared TOOLCHAIN notes), so it is left off.
if ! installed wasm-bindgen-cli "$WASM_BINDGEN_VERSION"; then
  log "cargo install wasm-bindgen-cli $WASM_BINDGEN_VERSION"
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi

# The real S2 server (binary `server`), for the conformance tests of the
# hosted platform path (tests/e2e/s2-*.test.mjs): about 8 minutes cold on
# 2 cores, once per machine.
if ! installed s2-lite "$S2_LITE_VERSION"; then
  log "cargo install s2-lite $S2_LITE_VERSION"
  cargo install s2-lite --version "$S2_LITE_VERSION" --locked
fi

# npm packages: wrangler (workerd), node 22 (wrangler needs >= 22.12),
# binaryen (wasm-opt), esbuild, the AI SDK used as the reference parser.
lock_hash=$(sha256sum package-lock.json package.json | sha256sum | cut -c1-16)
if [ ! -f node_modules/.headstart-installed ] || [ "$(cat node_modules/.headstart-installed)" != "$lock_hash" ]; then
  log "npm ci"
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.headstart-installed
fi

# Node 20 (the package's oldest supported Node) for the runtime tests, in its
# own folder: its `node` binary would shadow Node 22's in node_modules/.bin.
node20=tests/runtimes/node20
node20_hash=$(sha256sum $node20/package-lock.json $node20/package.json | sha256sum | cut -c1-16)
if [ ! -f $node20/node_modules/.headstart-installed ] || [ "$(cat $node20/node_modules/.headstart-installed)" != "$node20_hash" ]; then
  log "npm ci ($node20)"
  npm ci --prefix $node20 --no-audit --no-fund --loglevel=error
  echo "$node20_hash" > $node20/node_modules/.headstart-installed
fi

# Debian's Chromium for the browser tests (the browser downloads of test
# tools cannot reach their hosts from these machines).
if [ "${HEADSTART_NEED_CHROMIUM:-0}" = 1 ] && ! { command -v chromium && command -v chromedriver; } >/dev/null; then
  log "apt-get install chromium chromium-driver"
  sudo_cmd=""
  [ "$(id -u)" = 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium chromium-driver >/dev/null
fi
