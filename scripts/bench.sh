#!/usr/bin/env bash
# `npm run bench`: installs what is missing, builds both release builds,
# then runs the benchmark (bench/run.mjs; not part of `npm test`). Arguments
# go to bench/run.mjs, e.g. `npm run bench -- --quick`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
bash scripts/build-worker.sh
bash scripts/build-pkg.sh
node bench/run.mjs "$@"
