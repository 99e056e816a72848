#!/usr/bin/env bash
# npm run demo: the whole flow on this machine with stand-ins (no GitHub account, no Kiro licence).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec npx tsx scripts/demo.ts "$@"
