#!/usr/bin/env bash
# npm start: the worker service on its embedded defaults (loopback:8080, 2 slots,
# a durable queue under ~/.local/state/kiro-delegate-worker, agent kiro-cli).
# `npm start -- --check-config` prints the effective configuration instead (exit 78 if bad).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node dist/worker/server.mjs "$@"
