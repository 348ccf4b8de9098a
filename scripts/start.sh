#!/usr/bin/env bash
# `npm start`: the whole system locally and offline on workerd
# (`wrangler dev`), on http://127.0.0.1:8787.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" "$@"
