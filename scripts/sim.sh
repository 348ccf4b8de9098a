#!/usr/bin/env bash
# `npm run sim -- --seeds N [--from S]`, or `--seed S` to replay one seed
# with its trace: the deterministic simulation of tests/sim, in release.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
while [ $# -gt 0 ]; do
  case "$1" in
    --seeds) export HEADSTART_SIM_SEEDS="$2"; shift 2 ;;
    --from) export HEADSTART_SIM_FROM="$2"; shift 2 ;;
    --seed) export HEADSTART_SIM_SEED="$2"; shift 2 ;;
    *) echo "usage: npm run sim -- [--seeds N] [--from S] | [--seed S]" >&2; exit 2 ;;
  esac
done
exec cargo test --locked --release --test sim -- --nocapture
