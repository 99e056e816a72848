#!/usr/bin/env bash
# npm test: install what is missing, type-check, lint, check the formatting, build, run the unit and
# integration suites, then the end-to-end suite in a real VS Code (code-server +
# chromium, installed by scripts/e2e/install.sh; root installs chromium with apt,
# otherwise it says which packages to install). KIRO_SKIP_E2E=1 skips the last step.
# With arguments (`npm test -- test/unit/x.test.ts`), runs just those files.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules ] || npm ci --no-audit --no-fund
# `npm test -- <file>…`: just those test files, after a build (no type-check, lint or end-to-end run).
if [ $# -gt 0 ]; then
  npx tsx scripts/build.ts
  exec npx mocha --no-config --node-option import=tsx --extension ts --timeout 20000 --exit "$@"
fi
npx tsc --noEmit -p .
npx eslint .
npx prettier --check . --log-level warn
npx tsx scripts/build.ts
npx mocha
if [ "${KIRO_SKIP_E2E:-}" = "1" ]; then
  echo "test: KIRO_SKIP_E2E=1, the end-to-end suite did not run" >&2
  exit 0
fi
bash scripts/e2e/install.sh
npx mocha --config .mocharc.e2e.json
