#!/usr/bin/env bash
# `npm start`: the whole system locally and offline on workerd
# (`wrangler dev`), on http://127.0.0.1:8787.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$HOME/.cargo/bin:$PATH"
export WRANGLER_SEND_METRICS=false
# Model keys and settings from the shell reach the worker as vars (the
# scripted model answers when no key is set).
# Local mode: the public development keys are accepted (a deploy refuses them).
vars=(--var HEADSTART_LOCAL:1)
for name in ANTHROPIC_API_KEY ANTHROPIC_BASE_URL OPENAI_API_KEY OPENAI_BASE_URL HEADSTART_PROVIDER HEADSTART_MODEL \
  HEADSTART_SYSTEM HEADSTART_MAX_TOKENS HEADSTART_TEMPERATURE HEADSTART_TOOLS HEADSTART_PROVIDER_OPTIONS \
  HEADSTART_AGENT_WEBHOOK_URL HEADSTART_AGENT_BOOT_DELAY_MS TRIGGER_API_URL TRIGGER_SECRET_KEY HEADSTART_AUTH \
  HEADSTART_AUTH_JWT_SECRET HEADSTART_AUTH_JWKS_URL HEADSTART_AUTH_ISSUER HEADSTART_AUTH_AUDIENCE HEADSTART_AUTH_ALGORITHMS; do
  if [ -n "${!name:-}" ]; then vars+=(--var "$name:${!name}"); fi
done
exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" "${vars[@]}" "$@"
