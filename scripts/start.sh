#!/usr/bin/env bash
# npm start: the worker service on its embedded defaults (loopback:8080, 2 slots,
# a durable queue under ~/.local/state/kiro-delegate-worker, agent kiro-cli).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node dist/worker/server.mjs
