#!/usr/bin/env bash
# Both release builds: the Cloudflare worker and the JS package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build-worker.sh
bash scripts/build-pkg.sh
