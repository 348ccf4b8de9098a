#!/usr/bin/env bash
# Release build of the JS package's wasm (feature `js`): cargo, then
# wasm-bindgen (ES module, loads on every runtime), then wasm-opt for size.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
cargo build --release --target wasm32-unknown-unknown --no-default-features --features js >&2
wasm-bindgen --target web --omit-default-module-path --out-dir pkg/dist --out-name headstart \
  target/wasm32-unknown-unknown/release/headstart.wasm
wasm-opt pkg/dist/headstart_bg.wasm -o pkg/dist/headstart_bg.wasm -Oz --strip-debug --strip-producers \
  --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
  --enable-bulk-memory --enable-multivalue --enable-reference-types
node scripts/size.mjs pkg pkg/dist/headstart_bg.wasm pkg/dist/headstart.js pkg/index.js
