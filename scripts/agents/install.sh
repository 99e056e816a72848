#!/usr/bin/env bash
# Installs a real agent CLI from the npm registry, pinned, into a git-ignored
# cache folder (.cache/agents/<name>-<version>), for the tests that run real
# agents in the worker's sandbox. Prints the absolute path of its executable on
# stdout (progress goes to stderr). A second run with the CLI present returns at
# once without touching the network.
#   bash scripts/agents/install.sh codex|claude|gemini|opencode
set -euo pipefail
cd "$(dirname "$0")/../.."
# The versions the README names and the presets' flags were checked against.
CODEX_VERSION=0.169.0
CLAUDE_VERSION=2.1.331
GEMINI_VERSION=0.61.0
OPENCODE_VERSION=1.18.33

agent="${1:-codex}"
case "$agent" in
  codex)
    version=$CODEX_VERSION
    package="@openai/codex@$CODEX_VERSION"
    dir=".cache/agents/codex-$CODEX_VERSION"
    exe="$dir/node_modules/.bin/codex"
    expect="codex-cli $CODEX_VERSION"
    ;;
  claude)
    version=$CLAUDE_VERSION
    package="@anthropic-ai/claude-code@$CLAUDE_VERSION"
    dir=".cache/agents/claude-$CLAUDE_VERSION"
    exe="$dir/node_modules/.bin/claude"
    expect="$CLAUDE_VERSION (Claude Code)"
    ;;
  gemini)
    version=$GEMINI_VERSION
    package="@google/gemini-cli@$GEMINI_VERSION"
    dir=".cache/agents/gemini-$GEMINI_VERSION"
    exe="$dir/node_modules/.bin/gemini"
    expect="$GEMINI_VERSION"
    ;;
  opencode)
    version=$OPENCODE_VERSION
    package="opencode-ai@$OPENCODE_VERSION"
    dir=".cache/agents/opencode-$OPENCODE_VERSION"
    exe="$dir/node_modules/.bin/opencode"
    expect="$OPENCODE_VERSION"
    ;;
  *)
    echo "agents: unknown agent \"$agent\" (known: codex, claude, gemini, opencode)" >&2
    exit 2
    ;;
esac

# Runs the CLI's --version with a throwaway HOME under /tmp, update checks and telemetry off.
installed_version() {
  [ -x "$exe" ] || return 1
  local home rc=0 out
  home="$(mktemp -d)"
  out="$(HOME="$home" CODEX_HOME="$home/.codex" CLAUDE_CONFIG_DIR="$home/.claude" DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1 \
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 GEMINI_CLI_NO_RELAUNCH=true OPENCODE_DISABLE_AUTOUPDATE=true "$exe" --version 2>/dev/null)" || rc=$?
  rm -rf "$home"
  [ "$rc" = 0 ] && printf '%s\n' "$out"
}

# opencode's cache also holds its plugin SDK (below).
complete() { [ "$agent" != opencode ] || [ -d "$dir/config/node_modules/@opencode-ai/plugin" ]; }

if [ "$(installed_version || true)" != "$expect" ] || ! complete; then
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
  if [ "$agent" = opencode ]; then
    # opencode installs its plugin SDK into its configuration folder at every start, from the npm
    # registry; the test's template HOME carries it ready (see agentScenarios.ts).
    env "${unset_npm[@]}" npm_config_update_notifier=false \
      npm install --prefix "$dir/config" --no-audit --no-fund --save-exact "@opencode-ai/plugin@$OPENCODE_VERSION" >&2
  fi
  got="$(installed_version || true)"
  if [ "$got" != "$expect" ]; then
    echo "agents: $package installed but \"$exe --version\" said \"$got\", not \"$expect\" (is the platform package for $(uname -m) missing?)" >&2
    rm -rf "$dir"
    exit 1
  fi
fi
echo "agents: $agent $version ready" >&2
printf '%s\n' "$(cd "$(dirname "$exe")" && pwd)/$(basename "$exe")"
