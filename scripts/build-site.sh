#!/usr/bin/env bash
# The chat page served at `/`: site/index.html and site/chat.jsx bundled
# with React, the AI SDK's useChat and the Trigger.dev browser transport;
# site/status.js draws the status page's timelines.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build/site
cp site/index.html site/favicon.svg build/site/
node_modules/.bin/esbuild site/chat.jsx site/status.js --bundle --format=esm --minify --target=es2022 --platform=browser \
  --jsx=automatic --define:process.env.NODE_ENV='"production"' \
  --external:'node:*' --log-level=warning --outdir=build/site
