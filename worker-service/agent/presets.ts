// The agent CLIs the worker knows (KIRO_AGENT): for each, the headless argv that
// edits files without asking, the variables it needs passed through (its key, its
// configuration home, its endpoint), the fixed variables that turn its telemetry and
// update checks off, how its output is read, and what its exit codes mean. Flags were
// checked against the versions the README names (scripts/agents/install.sh pins them
// for the tests); `custom` is KIRO_AGENT_COMMAND as it always was.
import type { JobError } from '../jobs/job.js';
import type { ErrorCode } from '../../shared/errorCodes.js';

export const AGENT_PRESETS = ['kiro', 'claude', 'codex', 'gemini', 'opencode', 'custom'] as const;
export type AgentPresetName = (typeof AGENT_PRESETS)[number];

/** How an agent's terminal output is read: kept as is, or parsed as one of these event streams. */
export type OutputFormat = 'plain' | 'claude-stream-json' | 'codex-jsonl' | 'gemini-stream-json';

export interface AgentPreset {
  name: AgentPresetName;
  /** For people: "Claude Code". */
  label: string;
  /** The argv template ("{prompt}" and "{taskFile}" replaced as whole arguments). */
  command: readonly string[];
  /** What to install (the README's table, /health's message). */
  install: string;
  /** Variables that can hold its key; one must be set (the first is the one messages name). */
  keyVars: readonly string[];
  /** Further variables passed through when the service has them: configuration home, endpoint, model. */
  passVars: readonly string[];
  /** Fixed variables: telemetry, error reports and update checks off. */
  env: Readonly<Record<string, string>>;
  output: OutputFormat;
  /** Exit codes with a meaning of their own; any other non-zero code is a plain failure. */
  exits: Readonly<Record<number, JobError & { code: ErrorCode }>>;
  /**
   * Where its model API lives (`host:port`): what the default KIRO_AGENT_NETWORK lets it
   * reach through the egress proxy, with KIRO_AGENT_ALLOW_HOSTS on top.
   */
  apiHosts: readonly string[];
  /** An agent whose key selects its provider (opencode): the API hosts each key variable brings. */
  keyHosts?: Readonly<Record<string, readonly string[]>>;
  /** Also allowed when it logs in from the template HOME (KIRO_AGENT_KEY_VAR=none): its token refresh, its subscription's endpoint. */
  loginHosts: readonly string[];
}

const CLAUDE_TOOLS = 'Bash,Read,Write,Edit,MultiEdit,Glob,Grep,NotebookEdit,TodoWrite';

export const PRESETS: Readonly<Record<AgentPresetName, AgentPreset>> = {
  kiro: {
    name: 'kiro',
    label: 'Kiro CLI',
    command: ['kiro-cli', 'chat', '--no-interactive', '--trust-all-tools', '{prompt}'],
    install: 'Kiro CLI (kiro.dev/docs/cli/installation; not in the npm registry)',
    keyVars: ['KIRO_API_KEY'],
    passVars: [],
    // Kiro CLI reads both names (it grew out of Amazon Q Developer CLI).
    env: { KIRO_DISABLE_TELEMETRY: '1', Q_DISABLE_TELEMETRY: '1' },
    output: 'plain',
    exits: {
      1: {
        code: 'AGENT_FAILED',
        message: 'Kiro CLI failed (exit code 1: the task failed or Kiro could not authenticate; check KIRO_API_KEY)',
      },
      3: { code: 'AGENT_MCP_FAILED', message: 'an MCP server Kiro CLI requires did not start (exit code 3)' },
      4: {
        code: 'AGENT_CONFIG_NOT_FOUND',
        message: 'the Kiro agent configuration the run names (--agent or chat.defaultAgent) was not found (exit code 4)',
      },
    },
    // An assumption, not checked against a live Kiro CLI (it is not in the npm registry and needs a
    // real account): Kiro CLI grew out of Amazon Q Developer CLI, whose chat goes to the Q / CodeWhisperer
    // streaming service in us-east-1 (eu-central-1 for European profiles). A host it needs beyond these
    // shows in the job's terminal as "blocked: <host>:443": add it to KIRO_AGENT_ALLOW_HOSTS.
    apiHosts: [
      'q.us-east-1.amazonaws.com:443',
      'codewhisperer.us-east-1.amazonaws.com:443',
      'q.eu-central-1.amazonaws.com:443',
      'codewhisperer.eu-central-1.amazonaws.com:443',
    ],
    // A login kept in the template HOME refreshes its token with Kiro's auth service or AWS IAM Identity Center (Builder ID).
    loginHosts: ['prod.us-east-1.auth.desktop.kiro.dev:443', 'oidc.us-east-1.amazonaws.com:443'],
  },
  claude: {
    name: 'claude',
    label: 'Claude Code',
    // acceptEdits plus an allow-list rather than --dangerously-skip-permissions, which
    // Claude Code refuses as root; the worker's sandbox is what confines it.
    command: [
      'claude',
      '-p',
      '{prompt}',
      '--permission-mode',
      'acceptEdits',
      '--allowedTools',
      CLAUDE_TOOLS,
      '--output-format',
      'stream-json',
      '--verbose',
    ],
    install: 'npm install -g @anthropic-ai/claude-code@2.1.331',
    keyVars: ['ANTHROPIC_API_KEY', 'CLAUDE_CODE_OAUTH_TOKEN', 'ANTHROPIC_AUTH_TOKEN'],
    passVars: ['ANTHROPIC_BASE_URL', 'ANTHROPIC_MODEL', 'CLAUDE_CONFIG_DIR'],
    env: { DISABLE_AUTOUPDATER: '1', DISABLE_TELEMETRY: '1', DISABLE_ERROR_REPORTING: '1', CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1' },
    output: 'claude-stream-json',
    exits: {},
    apiHosts: ['api.anthropic.com:443'],
    // A Claude subscription's OAuth token (.claude/.credentials.json) is refreshed there.
    loginHosts: ['console.anthropic.com:443', 'platform.claude.com:443'],
  },
  codex: {
    name: 'codex',
    label: 'Codex CLI',
    // Codex's own sandbox needs namespaces the worker's sandbox does not hand out: the worker's confines it.
    command: [
      'codex',
      'exec',
      '--json',
      '--ephemeral',
      '--strict-config',
      '--dangerously-bypass-approvals-and-sandbox',
      '-c',
      'check_for_update_on_startup=false',
      '-c',
      'analytics.enabled=false',
      '-c',
      'feedback.enabled=false',
      '-c',
      'otel.exporter="none"',
      '--disable',
      'plugins',
      '{prompt}',
    ],
    install: 'npm install -g @openai/codex@0.169.0',
    keyVars: ['CODEX_API_KEY', 'OPENAI_API_KEY'],
    passVars: ['CODEX_HOME', 'OPENAI_BASE_URL'],
    env: {},
    output: 'codex-jsonl',
    exits: {},
    apiHosts: ['api.openai.com:443'],
    // Signed in with ChatGPT (.codex/auth.json): its Codex backend, and its token refresh.
    loginHosts: ['chatgpt.com:443', 'auth.openai.com:443'],
  },
  gemini: {
    name: 'gemini',
    label: 'Gemini CLI',
    // --skip-trust: in a folder it does not trust, Gemini CLI drops yolo back to asking.
    command: ['gemini', '-p', '{prompt}', '--approval-mode', 'yolo', '--skip-trust', '--output-format', 'stream-json'],
    install: 'npm install -g @google/gemini-cli@0.61.0',
    keyVars: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    passVars: [
      'GEMINI_CLI_HOME',
      'GOOGLE_GEMINI_BASE_URL',
      'GEMINI_MODEL',
      'GOOGLE_GENAI_USE_VERTEXAI',
      'GOOGLE_CLOUD_PROJECT',
      'GOOGLE_CLOUD_LOCATION',
    ],
    // Usage statistics and update checks are settings only (privacy.usageStatisticsEnabled,
    // general.enableAutoUpdate in .gemini/settings.json of the template HOME; see the README).
    env: { GEMINI_TELEMETRY_ENABLED: 'false' },
    output: 'gemini-stream-json',
    exits: {
      41: {
        code: 'AGENT_AUTH_FAILED',
        message: 'Gemini CLI could not authenticate (exit code 41); check GEMINI_API_KEY and security.auth.selectedType',
      },
      42: { code: 'AGENT_INPUT_ERROR', message: 'Gemini CLI refused its input or arguments (exit code 42)' },
      52: { code: 'AGENT_CONFIG_ERROR', message: 'Gemini CLI found its configuration invalid (exit code 52)' },
      53: { code: 'AGENT_TURN_LIMIT', message: 'Gemini CLI reached its turn limit before finishing (exit code 53)' },
    },
    // The Gemini API; Vertex AI (GOOGLE_GENAI_USE_VERTEXAI) is <location>-aiplatform.googleapis.com: list it in KIRO_AGENT_ALLOW_HOSTS.
    apiHosts: ['generativelanguage.googleapis.com:443'],
    // Signed in with Google (.gemini/oauth_creds.json): Code Assist, and its token refresh.
    loginHosts: ['cloudcode-pa.googleapis.com:443', 'oauth2.googleapis.com:443'],
  },
  opencode: {
    name: 'opencode',
    label: 'opencode',
    // --auto: permissions nobody denied are granted (there is nobody to ask).
    command: ['opencode', 'run', '--auto', '{prompt}'],
    install: 'npm install -g opencode-ai@1.18.33',
    // opencode talks to whichever provider its configuration names: any one provider key will do.
    keyVars: ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'OPENROUTER_API_KEY', 'GOOGLE_GENERATIVE_AI_API_KEY', 'OPENCODE_API_KEY'],
    passVars: ['OPENCODE_CONFIG', 'OPENCODE_CONFIG_DIR'],
    env: {
      OPENCODE_DISABLE_AUTOUPDATE: 'true',
      OPENCODE_DISABLE_SHARE: 'true',
      // Its model catalogue (models.dev) and language servers would otherwise be fetched at start.
      OPENCODE_DISABLE_MODELS_FETCH: 'true',
      OPENCODE_DISABLE_LSP_DOWNLOAD: 'true',
      // Applied over its configuration: no update checks, no shared sessions, and nobody to ask.
      OPENCODE_CONFIG_CONTENT: JSON.stringify({
        autoupdate: false,
        share: 'disabled',
        permission: { edit: 'allow', bash: 'allow', webfetch: 'allow' },
      }),
    },
    output: 'plain',
    exits: {},
    apiHosts: [],
    // Whichever provider its key belongs to (OPENCODE_API_KEY: OpenCode Zen).
    keyHosts: {
      ANTHROPIC_API_KEY: ['api.anthropic.com:443'],
      OPENAI_API_KEY: ['api.openai.com:443'],
      OPENROUTER_API_KEY: ['openrouter.ai:443'],
      GOOGLE_GENERATIVE_AI_API_KEY: ['generativelanguage.googleapis.com:443'],
      OPENCODE_API_KEY: ['opencode.ai:443'],
    },
    loginHosts: [],
  },
  custom: {
    name: 'custom',
    label: 'custom agent',
    command: [],
    install: 'the program KIRO_AGENT_COMMAND names',
    keyVars: [],
    passVars: [],
    env: {},
    output: 'plain',
    exits: {},
    // Nothing is known of it: KIRO_AGENT_ALLOW_HOSTS names what it may reach.
    apiHosts: [],
    loginHosts: [],
  },
};

export function isPresetName(name: string): name is AgentPresetName {
  return (AGENT_PRESETS as readonly string[]).includes(name);
}

/**
 * The variables that may hold the agent's key: KIRO_AGENT_KEY_VAR when set (a
 * Codex provider's env_key, a gateway's token), none with KIRO_AGENT_KEY_VAR=none
 * (the agent logs in from the template HOME), else the preset's.
 */
export function keyVarsOf(preset: AgentPresetName, keyVar: string | undefined): string[] {
  if (keyVar === 'none') return [];
  return keyVar ? [keyVar] : [...PRESETS[preset].keyVars];
}

/** Every variable the preset passes from the service's environment to the agent (when set). */
export function passedVars(preset: AgentPresetName, keyVar: string | undefined): string[] {
  const p = PRESETS[preset];
  return [...new Set([...p.keyVars, ...keyVarsOf(preset, keyVar), ...p.passVars])];
}

/**
 * Why the agent cannot start here, or null: its key is in none of the variables that
 * may hold it. Checked at start, so the service refuses to run rather than fail every job.
 */
export function missingKey(
  preset: AgentPresetName,
  keyVar: string | undefined,
  env: NodeJS.ProcessEnv,
): { variable: string; message: string } | null {
  const vars = keyVarsOf(preset, keyVar);
  if (vars.length === 0 || vars.some((v) => (env[v] ?? '') !== '')) return null;
  const [first, ...others] = vars;
  const p = PRESETS[preset];
  return {
    variable: first ?? 'KIRO_AGENT_KEY_VAR',
    message:
      `required by KIRO_AGENT=${preset} (${p.label}) and not set${others.length ? ` (nor ${others.join(', ')})` : ''}: set it to the agent's key, ` +
      'or name the variable that holds the key in KIRO_AGENT_KEY_VAR (KIRO_AGENT_KEY_VAR=none when the agent logs in from KIRO_AGENT_HOME_TEMPLATE)',
  };
}

/**
 * The hosts the preset's agent needs for its model (the default KIRO_AGENT_NETWORK's allow
 * list, before KIRO_AGENT_ALLOW_HOSTS): its API hosts; for opencode those of each provider
 * whose key the service has (all of them when it logs in from the template HOME); and with
 * KIRO_AGENT_KEY_VAR=none, its login hosts too.
 */
export function presetHosts(
  preset: AgentPresetName,
  keyVar: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string[] {
  const p = PRESETS[preset];
  const byKey = Object.entries(p.keyHosts ?? {})
    .filter(([name]) => keyVar === 'none' || (env[name] ?? '') !== '')
    .flatMap(([, hosts]) => hosts);
  return [...new Set([...p.apiHosts, ...byKey, ...(keyVar === 'none' ? p.loginHosts : [])])];
}

/** What a non-zero exit of the agent means for its job, with what the agent itself said went wrong. */
export function exitError(preset: AgentPresetName, exitCode: number, reported: string | null): JobError & { code: ErrorCode } {
  const known = PRESETS[preset].exits[exitCode];
  const base = known ?? {
    code: 'AGENT_FAILED',
    message: `${preset === 'custom' ? 'the agent' : PRESETS[preset].label} exited with code ${exitCode}`,
  };
  return reported ? { code: base.code, message: `${base.message}: ${reported}` } : base;
}
