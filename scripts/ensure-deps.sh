#!/usr/bin/env bash
# Installs npm packages when they are missing (a fresh clone), then builds.
set -euo pipefail
cd "$(dirname "$0")/.."
# A linked node_modules is a shared install (a git worktree's): `npm ci` would empty the folder
# it points to for everyone, so it is left alone.
if [ -L node_modules ]; then
  :
elif [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "kiro: installing npm packages (first run)…" >&2
  npm ci --no-audit --no-fund >&2
fi
npx tsx scripts/build.ts >&2
# Agents run inside bubblewrap; the worker refuses to start without it.
if ! command -v bwrap >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "kiro: installing bubblewrap (the agents' sandbox)…" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >&2 || { apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >&2; }
  else
    echo "kiro: bubblewrap is missing and agents run inside it: install it (sudo apt-get install bubblewrap), or set KIRO_SANDBOX=off on a single-user machine" >&2
  fi
fi
