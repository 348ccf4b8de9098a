#!/usr/bin/env bash
# The chat page served at `/`: site/index.html and site/chat.js bundled
# with the AI SDK and the Trigger.dev browser transport.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/site
cp site/index.html build/site/index.html
node_modules/.bin/esbuild site/chat.js --bundle --format=esm --minify --target=es2022 --platform=browser \
  --external:'node:*' --log-level=warning --outfile=build/site/chat.js
