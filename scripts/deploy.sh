#!/usr/bin/env bash
# `npm run deploy`: deploys the worker to your Cloudflare account with
# `wrangler deploy`, which builds it first (wrangler.toml's [build] runs
# scripts/build-worker.sh). Extra arguments go to wrangler:
#   npm run deploy -- --dry-run --outdir dist   # bundle only, upload nothing
#   npm run deploy -- --env production          # a [env.production] section
# Log in once with `npx wrangler login` (or set CLOUDFLARE_API_TOKEN), and set
# the secrets first: README, "Deploy".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
exec wrangler deploy "$@"
