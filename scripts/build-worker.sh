#!/usr/bin/env bash
# Release build of the Cloudflare worker (worker-build), with wasm-bindgen,
# wasm-opt and esbuild taken from the installed packages: worker-build would
# otherwise download them, which fails on machines with only the registries.
set -euo pipefail
cd "$(dirname "$0")/.."
# Tests start `wrangler dev` many times on the build `npm test` just made.
if [ "${HEADSTART_SKIP_BUILD:-0}" = 1 ] && [ -f build/index_bg.wasm ] && [ -f build/worker/shim.mjs ] && [ -f build/site/chat.js ]; then
  exit 0
fi
bash scripts/build-site.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WASM_BINDGEN_BIN="$(command -v wasm-bindgen)"
export WASM_OPT_BIN="$PWD/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$PWD/node_modules/.bin/esbuild"
worker-build --release "$@" >&2
# worker-build keeps the wasm names section for stack traces; it is a third
# of the module. Drop it unless asked to keep it (HEADSTART_KEEP_NAMES=1).
if [ "${HEADSTART_KEEP_NAMES:-0}" != 1 ]; then
  wasm-opt build/index_bg.wasm -o build/index_bg.wasm --strip-debug --strip-producers \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
fi
node scripts/size.mjs worker build/index_bg.wasm build/index.js
