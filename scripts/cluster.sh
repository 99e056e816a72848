#!/usr/bin/env bash
# npm run cluster: three worker hosts sharing one queue on a private redis-server, on loopback,
# with the GitHub stand-in and the scripted agent (see scripts/cluster.ts).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec npx tsx scripts/cluster.ts "$@"
