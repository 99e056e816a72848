#!/usr/bin/env bash
# Installs npm packages when they are missing (a fresh clone), then builds.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "kiro: installing npm packages (first run)…" >&2
  npm ci --no-audit --no-fund >&2
fi
npx tsx scripts/build.ts >&2
