#!/usr/bin/env bash
# npm test: install what is missing, type-check, build, then every mocha suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci
npx tsc --noEmit -p .
npx tsx scripts/build.ts
npx mocha "$@"
