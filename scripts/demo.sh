#!/usr/bin/env bash
# npm run demo: the whole flow on this machine with stand-ins (no GitHub account, no Kiro licence).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
# The editor for the demo: code-server (cached under .cache/e2e after the first run),
# unless the demo runs without one (--once, --no-editor, wherever they stand).
editor=1
for arg in "$@"; do case "$arg" in --once|--no-editor) editor=0;; esac; done
if [ "$editor" = 1 ]; then bash scripts/e2e/install.sh --no-browser; fi
exec npx tsx scripts/demo.ts "$@"
