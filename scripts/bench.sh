#!/usr/bin/env bash
# `npm run bench`: installs what is missing, builds both release builds,
# then runs the benchmark (bench/run.mjs; not part of `npm test`). Arguments
# go to bench/run.mjs, e.g. `npm run bench -- --quick`.
# `npm run bench -- --profile [--load N] [--shape text|tool]` samples the
# worker's isolate under N turns at once instead (bench/profile.mjs), on a
# build that keeps the wasm function names.
# `npm run bench -- --decode` measures each provider's per-chunk decode cost
# side by side (benches/decode.rs, native release build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
if [ "${1:-}" = "--decode" ]; then
  exec cargo bench --locked --bench decode
fi
if [ "${1:-}" = "--profile" ]; then
  shift
  HEADSTART_KEEP_NAMES=1 bash scripts/build-worker.sh
  exec node bench/profile.mjs "$@"
fi
bash scripts/build-worker.sh
bash scripts/build-pkg.sh
node bench/run.mjs "$@"
