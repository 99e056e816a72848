#!/usr/bin/env bash
# Installs a real agent CLI from the npm registry, pinned, into a git-ignored
# cache folder (.cache/agents/<name>-<version>), for the tests that run real
# agents in the worker's sandbox. Prints the absolute path of its executable on
# stdout (progress goes to stderr). A second run with the CLI present returns at
# once without touching the network.
#   bash scripts/agents/install.sh codex
set -euo pipefail
cd "$(dirname "$0")/../.."
CODEX_VERSION=0.169.0

agent="${1:-codex}"
case "$agent" in
  codex)
    version=$CODEX_VERSION
    package="@openai/codex@$CODEX_VERSION"
    dir=".cache/agents/codex-$CODEX_VERSION"
    exe="$dir/node_modules/.bin/codex"
    expect="codex-cli $CODEX_VERSION"
    ;;
  *)
    echo "agents: unknown agent \"$agent\" (known: codex)" >&2
    exit 2
    ;;
esac

# Runs the CLI's --version with a throwaway HOME under /tmp (Codex writes nothing into a HOME there).
installed_version() {
  [ -x "$exe" ] || return 1
  local home rc=0 out
  home="$(mktemp -d)"
  out="$(HOME="$home" CODEX_HOME="$home/.codex" "$exe" --version 2>/dev/null)" || rc=$?
  rm -rf "$home"
  [ "$rc" = 0 ] && printf '%s\n' "$out"
}

if [ "$(installed_version || true)" != "$expect" ]; then
  echo "agents: installing $package into $dir…" >&2
  rm -rf "$dir"
  mkdir -p "$dir"
  echo '{"name":"kiro-test-agent","private":true}' > "$dir/package.json"
  # Under `npm test` the outer npm's npm_* variables would steer the nested install; drop them.
  unset_npm=()
  while IFS='=' read -r name _; do
    case "$name" in npm_*) unset_npm+=(-u "$name");; esac
  done < <(env)
  env "${unset_npm[@]}" npm_config_update_notifier=false \
    npm install --prefix "$dir" --no-audit --no-fund --save-exact "$package" >&2
  got="$(installed_version || true)"
  if [ "$got" != "$expect" ]; then
    echo "agents: $package installed but \"$exe --version\" said \"$got\", not \"$expect\" (is the platform package for $(uname -m) missing?)" >&2
    rm -rf "$dir"
    exit 1
  fi
fi
echo "agents: $agent $version ready" >&2
printf '%s\n' "$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")"
