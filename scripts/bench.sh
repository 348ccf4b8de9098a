#!/usr/bin/env bash
# `npm run bench`: builds, then runs the benchmarks (not part of `npm test`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
bash scripts/build-worker.sh
node bench/ttfc.mjs "$@"
